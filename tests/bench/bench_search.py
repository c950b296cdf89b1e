"""Benchmark: search and threads on a big store, and what they cost the header sync.

Prints figures; BENCH_SIZE=full uses 100,000 messages with 20,000 stored bodies (default
5,000 with 1,000). Like every benchmark here it asserts correctness, not time:

- storing the headers (add_messages in batches of 5,000, as the sync does) without the
  full-text index, with it, and with it and the threads, run in turn so that the load
  of the machine hits all alike; the issue wants <= 25% for the index and <= 15% for
  threading;
- the CPU time the header index (with its narrow lookup index) adds to a first fill of
  50,000 messages (10,000 in the small size), a quarter of them with non-ASCII headers,
  stored as a first sync stores them (the sort indexes built at the end), against the
  same fill without it: CPU time, as the machine's load sways the wall clock;
- the threaded list of the whole folder;
- indexing the stored bodies (MIME parsing included), per message;
- a one-word and a three-term query (``from:x has:attachment word``) to the first page
  of 50 hits, and to all hits; the issue wants < 50 ms to the first page;
- with BENCH_NOTMUCH=1 and notmuch installed: notmuch indexing the same bodies and
  answering ``count`` plus the first 50 results of the same queries, as two processes.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from mailclient.core.models import SEEN, SpecialUse
from mailclient.core.query import parse_query
from mailclient.mime.search_text import indexed_text
from mailclient.store import mail, search, threads
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder

FULL = os.environ.get("BENCH_SIZE") == "full"
SIZE = 100_000 if FULL else 5_000
BODIES = SIZE // 5
BATCH = 5_000
PAGE = 50
WORDS = [
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
    "budget",
    "plan",
    "schedule",
    "contract",
    "offer",
    "question",
    "answer",
    "thanks",
    "regards",
    "deadline",
    "draft",
    "final",
    "team",
]
RARE = [f"rare{n}" for n in range(200)]
SENDERS = ["Zoë Ñandú <zoe@example.es>", "Jörg Müller <joerg@example.de>"] + [
    f"User {i} <u{i}@example.org>" for i in range(500)
]
FILL = 50_000 if FULL else 10_000
# Subjects of the first fill that are not ASCII, as a European or Asian mailbox has them.
ABROAD = ["Grüße aus Köln", "Ελλάδα και Μόσχα", "Привет из Москвы", "東京都の会議について"]


def headers(rng: random.Random, count: int = SIZE) -> list[NewMessage]:
    return [
        NewMessage(
            uid=uid,
            flags=frozenset({SEEN}) if uid % 3 else frozenset(),
            size=rng.randrange(1_000, 100_000),
            internal_date=1_600_000_000 + uid * 60,
            date=1_600_000_000 + uid * 60,
            sender=SENDERS[1] if uid % 10 == 3 else rng.choice(SENDERS),
            recipients="Bob <bob@example.org>" + (", team@example.org" if uid % 4 == 0 else ""),
            cc="carol@example.org" if uid % 7 == 0 else "",
            # Some replies without In-Reply-To or References: threaded by subject.
            subject=("Re: " if uid % 6 == 1 else "") + " ".join(rng.choices(WORDS, k=2)),
            message_id=f"<{uid}@bench.example>",
            in_reply_to=f"<{uid - 1}@bench.example>" if uid % 3 == 0 else "",
            references=f"<{uid - 2}@bench.example> <{uid - 1}@bench.example>"
            if uid % 3 == 0
            else "",
            has_attachments=uid % 5 == 3,
        )
        for uid in range(1, count + 1)
    ]


def body(rng: random.Random, uid: int) -> bytes:
    text = " ".join([*rng.choices(WORDS, k=rng.randrange(50, 400)), rng.choice(RARE)])
    date = format_datetime(datetime(2020, 9, 13, tzinfo=UTC) + timedelta(minutes=uid))
    return (
        f"From: u{uid % 500}@example.org\r\nTo: bob@example.org\r\nDate: {date}\r\n"
        f"Subject: body {uid}\r\nMessage-ID: <{uid}@bench.example>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


def best_ms(call: Callable[[], Any], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def fresh_store(path: Path) -> tuple[MailStore, int]:
    store = MailStore.open(path)
    [inbox] = store.sync_folder_list("bench", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    return store, inbox.id


def insert_seconds(path: Path, messages: list[NewMessage], index: bool, thread: bool) -> float:
    """Storing ``messages`` as the sync does, with or without the index and the threads."""
    store, inbox = fresh_store(path)
    patches = contextlib.ExitStack()
    if not index:
        store._db.execute("DROP INDEX messages_for_search")
        patches.enter_context(mock.patch.object(search, "index_new_messages", lambda *a: 0))
    if not thread:
        patches.enter_context(mock.patch.object(threads, "thread_new_messages", lambda db: 0))
    with patches:
        start = time.perf_counter()
        for first in range(0, len(messages), BATCH):
            store.add_messages(inbox, messages[first : first + BATCH])
        elapsed = time.perf_counter() - start
    store.close()
    return elapsed


def costs(paths: Iterator[Path], messages: list[NewMessage]) -> tuple[float, float, float]:
    """Best of three header inserts: bare, with the index, with index and threads.

    The three run in turn, so that the load of a shared machine hits them alike.
    """
    bare, indexed, threaded = [], [], []
    for _ in range(3):
        bare.append(insert_seconds(next(paths), messages, index=False, thread=False))
        indexed.append(insert_seconds(next(paths), messages, index=True, thread=False))
        threaded.append(insert_seconds(next(paths), messages, index=True, thread=True))
    return min(bare), min(indexed), min(threaded)


def first_fill_cpu(path: Path, messages: list[NewMessage], index: bool) -> float:
    """CPU seconds of storing ``messages`` as a first sync does, with or without the
    header index (the threads left out of both)."""
    store, inbox = fresh_store(path)
    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch.object(threads, "thread_new_messages", lambda *a: 0))
        if not index:
            patches.enter_context(mock.patch.object(search, "index_new_messages", lambda *a: 0))
            patches.enter_context(mock.patch.dict(mail._SORT_INDEXES))
            del mail._SORT_INDEXES[search.LOOKUP_INDEX]
            store._db.execute(f"DROP INDEX {search.LOOKUP_INDEX}")
        start = time.process_time()
        assert store.defer_sort_indexes(len(messages))
        for first in range(0, len(messages), BATCH):
            store.add_messages(inbox, messages[first : first + BATCH])
        store.restore_sort_indexes()
        elapsed = time.process_time() - start
    if index:
        assert len(store.search(parse_query("grusse"))) == len(messages) // 16
    store.close()
    return elapsed


@pytest.mark.bench
def test_header_index_cost_in_a_first_fill(tmp_path: Path) -> None:
    messages = [
        m._replace(subject=f"{ABROAD[m.uid // 4 % 4]} {m.uid}") if m.uid % 4 == 0 else m
        for m in headers(random.Random(5), FILL)
    ]
    bare, indexed = [], []
    for round_ in range(5):  # in turn, the best of each
        bare.append(first_fill_cpu(tmp_path / f"bare{round_}.sqlite3", messages, index=False))
        indexed.append(first_fill_cpu(tmp_path / f"indexed{round_}.sqlite3", messages, True))
    print(f"\nHeader index in a first fill of {FILL:,} messages (CPU time, best of 5)")
    print(f"  {'the bare store insert':50} {min(bare):>15.2f} s")
    print(f"  {'the header index adds':50} {min(indexed) - min(bare):>15.2f} s")
    print(f"  {'  that is':50} {min(indexed) / min(bare) - 1:>16.0%}")


@pytest.mark.bench
def test_search_speed_and_index_cost(tmp_path: Path) -> None:
    rng = random.Random(11)
    messages = headers(rng)
    paths = (tmp_path / f"cost{n}.sqlite3" for n in range(100))
    plain_s, indexed_s, threaded_s = costs(paths, messages)

    store, inbox = fresh_store(tmp_path / "mail.sqlite3")
    for first in range(0, SIZE, BATCH):
        store.add_messages(inbox, messages[first : first + BATCH])
    ids = store.message_ids(inbox)
    raws = {}
    for message_id in ids[:BODIES]:  # the newest have their bodies here
        summary = store.summary(message_id)
        assert summary is not None
        raws[message_id] = body(rng, summary.uid)
        store.save_body(message_id, raws[message_id])
    start = time.perf_counter()
    while store.index_queued_bodies(indexed_text, 500):
        pass
    index_s = time.perf_counter() - start

    one_word = parse_query("report")
    three = parse_query("from:joerg has:attachment budget")
    rare = parse_query(RARE[7])
    assert store.search(three, limit=PAGE)
    assert store.search(rare)
    figures = {
        "messages / stored bodies": f"{SIZE:,} / {BODIES:,}",
        "headers stored without the index": f"{plain_s:.2f} s",
        "headers stored with the index": f"{indexed_s:.2f} s",
        "  the index adds (target <= 25%)": f"{(indexed_s / plain_s - 1):.0%}",
        "headers stored with the index and threads": f"{threaded_s:.2f} s",
        "  threading adds (target <= 15%)": f"{(threaded_s / indexed_s - 1):.0%}",
        "threaded list of the folder": f"{best_ms(lambda: store.threaded([inbox]), 3):.0f} ms",
        "bodies indexed, per message": f"{index_s / BODIES * 1000:.2f} ms",
        "one word, first 50 hits": f"{best_ms(lambda: store.search(one_word, limit=PAGE)):.1f} ms",
        "one word, all hits": f"{best_ms(lambda: store.search(one_word)):.1f} ms "
        f"({len(store.search(one_word)):,})",
        "from:joerg has:attachment budget, first 50": (
            f"{best_ms(lambda: store.search(three, limit=PAGE)):.1f} ms"
        ),
        "a word of the bodies only, all hits": f"{best_ms(lambda: store.search(rare)):.1f} ms "
        f"({len(store.search(rare)):,})",
        "store file": f"{(tmp_path / 'mail.sqlite3').stat().st_size / 1e6:.0f} MB",
    }
    if os.environ.get("BENCH_NOTMUCH") == "1" and shutil.which("notmuch"):
        figures.update(notmuch_figures(tmp_path / "maildir", list(raws.values())))
    store.close()
    print(f"\nSearch benchmark ({'full' if FULL else 'small; BENCH_SIZE=full for 100,000'})")
    for name, value in figures.items():
        print(f"  {name:50} {value:>18}")


def notmuch_figures(maildir: Path, raws: list[bytes]) -> dict[str, str]:
    """notmuch over the same bodies: index time, and count + first 50 as two processes."""
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n, raw in enumerate(raws):
        (maildir / "cur" / f"{n}.bench:2,S").write_bytes(raw)
    config = maildir.parent / "notmuch-config"
    config.write_text(f"[database]\npath={maildir}\n[new]\ntags=\n[search]\n")
    env = {**os.environ, "NOTMUCH_CONFIG": str(config)}
    start = time.perf_counter()
    subprocess.run(["notmuch", "new", "--quiet"], env=env, check=True)
    index_s = time.perf_counter() - start

    def ask(words: str) -> None:
        subprocess.run(["notmuch", "count", words], env=env, check=True, capture_output=True)
        subprocess.run(
            ["notmuch", "search", "--output=messages", "--limit=50", words],
            env=env,
            check=True,
            capture_output=True,
        )

    return {
        "notmuch: bodies indexed, per message": f"{index_s / len(raws) * 1000:.2f} ms",
        "notmuch: count + first 50, one word": f"{best_ms(lambda: ask('report')):.1f} ms",
        "notmuch: count + first 50, a body word": f"{best_ms(lambda: ask(RARE[7])):.1f} ms",
    }
