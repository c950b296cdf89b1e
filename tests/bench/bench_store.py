"""Benchmark: the store's read paths the message list uses, on a big folder.

Prints figures; BENCH_SIZE=full uses 100,000 messages (default 10,000). The baseline is
loading every summary of the folder at once, which the window must never need.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailclient.core.models import SEEN, SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, SortKey

FULL = os.environ.get("BENCH_SIZE") == "full"
SIZE = 100_000 if FULL else 10_000


def best_ms(call: Callable[[], Any], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best * 1000


@pytest.mark.bench
def test_store_reads_on_a_big_folder(tmp_path: Path) -> None:
    rng = random.Random(7)
    store = MailStore.open(tmp_path / "mail.sqlite3")
    [inbox] = store.sync_folder_list("bench", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    senders = ["Zoë Ñandú <zoe@example.es>"] + [f"User {i} <u{i}@example.org>" for i in range(500)]
    words = [
        "meeting",
        "report",
        "invoice",
        "hello",
        "update",
        "project",
        "lunch",
        "weekly",
        "status",
        "review",
    ]
    messages = [
        NewMessage(
            uid=uid,
            flags=frozenset({SEEN}) if uid % 3 else frozenset(),
            size=rng.randrange(1_000, 100_000),
            internal_date=1_600_000_000 + uid * 60,
            sender=rng.choice(senders),
            subject=" ".join(rng.choices(words, k=5)) + f" #{uid}",
        )
        for uid in range(1, SIZE + 1)
    ]
    start = time.perf_counter()
    for first in range(0, SIZE, 1000):
        store.add_messages(inbox.id, messages[first : first + 1000])
    insert_s = time.perf_counter() - start
    ids = store.message_ids(inbox.id)
    figures = {
        "insert (batches of 1,000), messages/s": SIZE / insert_s,
        "ids by date, ms": best_ms(lambda: store.message_ids(inbox.id)),
        "ids by sender, ms": best_ms(lambda: store.message_ids(inbox.id, SortKey.SENDER)),
        "ids, quick filter 'report', ms": best_ms(
            lambda: store.message_ids(inbox.id, quick_filter="report")
        ),
        "ids, quick filter 'zoë', ms": best_ms(
            lambda: store.message_ids(inbox.id, quick_filter="zoë")
        ),
        "summaries of a 100-row page, ms": best_ms(lambda: store.summaries(ids[500:600])),
        "folder list with counts, ms": best_ms(lambda: store.folders("bench")),
        "baseline: every summary at once, ms": best_ms(lambda: store.summaries(ids), rounds=1),
    }
    print(f"\nstore benchmark, {SIZE:,} messages in one folder")
    for name, value in figures.items():
        print(f"  {name:40} {value:12,.1f}")
    folder = store.folder(inbox.id)
    assert folder is not None and folder.total == SIZE
    assert len(ids) == SIZE
    store.close()
