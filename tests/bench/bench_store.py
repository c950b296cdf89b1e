"""Benchmark: the store's read paths the message list uses, on a big folder; and what
threading costs a first fill.

Prints figures; BENCH_SIZE=full uses 100,000 messages (default 10,000). The baseline is
loading every summary of the folder at once, which the window must never need. The first
fill is 50,000 messages with BENCH_SIZE=full (default 10,000, the smallest deferred fill),
stored as the sync stores it, once without threads and once with, in turn; the CPU time of
threading them against that of storing them bare (the issue wants threading to add
<= 15% to the initial sync, of which storing is a part).
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
from mailclient.store import mail, threads
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, SortKey

FULL = os.environ.get("BENCH_SIZE") == "full"
SIZE = 100_000 if FULL else 10_000
FILL = 50_000 if FULL else mail.DEFER_INDEXES_FROM
FILL_BATCH = 5_000


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


def mailbox_headers(count: int) -> list[NewMessage]:
    """Headers shaped as in a mailbox: every message with a Message-ID, a third replies
    with References and In-Reply-To, a few replies and forwards known only by subject."""
    rng = random.Random(3)
    subjects = ["Weekly status", "Re: Budget for Q{n}", "Grüße aus Köln {n}", "Fwd: Invoice {n}"]
    return [
        NewMessage(
            uid=n + 1,
            flags=frozenset({SEEN}),
            size=rng.randrange(1_000, 100_000),
            internal_date=1_672_531_200 + 600 * n,
            date=1_672_531_200 + 600 * n + rng.randrange(600),
            sender="Jane Doe <jane@example.org>",
            recipients="Bob <bob@example.org>",
            subject=rng.choice(subjects).format(n=n),
            message_id=f"<{n}.3@bench.example>",
            in_reply_to=f"<{n - 1}.3@bench.example>" if n % 3 == 0 and n > 1 else "",
            references=f"<{n - 2}.3@bench.example> <{n - 1}.3@bench.example>"
            if n % 3 == 0 and n > 1
            else "",
        )
        for n in range(count)
    ]


def first_fill_cpu(path: Path, messages: list[NewMessage], thread: bool) -> tuple[float, float]:
    """A first fill of ``messages`` as the sync stores it (newest batch first, the sort
    indexes built and the messages indexed and threaded when it ends): CPU seconds of the
    whole, and of the threading in it."""
    threading = [0.0]
    linked = threads.thread_new_messages

    def timed(db: Any, limit: int = -1) -> int:
        start = time.process_time()
        try:
            return linked(db, limit) if thread else 0
        finally:
            threading[0] += time.process_time() - start

    with MailStore.open(path) as store, pytest.MonkeyPatch.context() as patched:
        [inbox] = store.sync_folder_list("bench", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
        patched.setattr(threads, "thread_new_messages", timed)
        start = time.process_time()
        assert store.defer_sort_indexes(len(messages))
        for end in range(len(messages), 0, -FILL_BATCH):
            store.add_messages(inbox.id, messages[max(0, end - FILL_BATCH) : end][::-1])
        store.restore_sort_indexes()
        whole = time.process_time() - start
        if thread:  # message n, every third, joins n-2 and n-1
            threads_made = {p.thread for p in store.threaded([inbox.id])}
            assert len(threads_made) == len({(n - 1) // 3 for n in range(len(messages))})
    return whole, threading[0]


@pytest.mark.bench
def test_threading_cost_of_a_first_fill(tmp_path: Path) -> None:
    messages = mailbox_headers(FILL)
    bare, threaded, threading = [], [], []
    for round_ in range(3):  # in turn, so that the load of the machine hits both alike
        bare.append(first_fill_cpu(tmp_path / f"bare{round_}.sqlite3", messages, False)[0])
        whole, linking = first_fill_cpu(tmp_path / f"threaded{round_}.sqlite3", messages, True)
        threaded.append(whole)
        threading.append(linking)
    figures = {
        "first fill without threads, CPU s": min(bare),
        "first fill with threads, CPU s": min(threaded),
        "  of which threading, CPU s": min(threading),
        "  threading / fill without threads, %": min(threading) / min(bare) * 100,
    }
    print(f"\nfirst fill of {FILL:,} messages, as the sync stores it")
    for name, value in figures.items():
        print(f"  {name:40} {value:12,.2f}")
