"""The sync's store writer: writes run in order on their own thread, failures come back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from mailclient.core.models import SpecialUse
from mailclient.imap.sync import _StoreWriter
from mailclient.store.db import StoreError
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder


def inbox_of(path: Path) -> int:
    with MailStore.open(path) as store:
        [inbox] = store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    return inbox.id


def adding(folder_id: int, uids: range) -> Callable[[MailStore], int]:
    return lambda store: store.add_messages(folder_id, [NewMessage(u, frozenset()) for u in uids])


def failing(store: MailStore) -> int:
    raise StoreError("The disk holding the store is full.")


def test_writes_run_in_order_and_all_finish_when_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    inbox = inbox_of(path)
    reported = []
    with _StoreWriter(path) as writer:
        for first in range(1, 1001, 100):
            writer.submit(adding(inbox, range(first, first + 100)), 100)
            reported += writer.done()
        reported += writer.wait()
        writer.submit(adding(inbox, range(1001, 1011)), 10)
    reported += writer.done()
    with MailStore.open(path) as store:
        assert store.stored_uids(inbox) == list(range(1, 1011))
    counts, seqs = zip(*reported, strict=True)
    assert sum(counts) == 1010
    assert list(seqs) == sorted(seqs)


def test_a_failed_write_is_raised_in_the_caller_and_later_writes_are_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mail.sqlite3"
    inbox = inbox_of(path)
    with pytest.raises(StoreError, match="full"), _StoreWriter(path) as writer:
        writer.submit(adding(inbox, range(1, 11)), 10)
        writer.submit(failing, 5)
        writer.submit(adding(inbox, range(11, 21)), 10)
        writer.wait()
    with MailStore.open(path) as store:
        assert store.stored_uids(inbox) == list(range(1, 11))


def test_a_failed_write_is_raised_at_the_end_of_the_block_at_the_latest(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    with pytest.raises(StoreError, match="full"), _StoreWriter(path) as writer:
        writer.submit(failing, 5)


def test_an_offer_is_taken_only_while_the_writer_has_room(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    inbox = inbox_of(path)
    release = threading.Event()

    def busy(store: MailStore) -> int:
        release.wait(10)
        return 0

    with _StoreWriter(path) as writer:
        writer.submit(busy, 0)
        taken = [writer.offer(adding(inbox, range(n, n + 1))) for n in range(1, 6)]
        release.set()
        writer.wait()
        assert writer.offer(adding(inbox, range(9, 10)))
    with MailStore.open(path) as store:
        stored = store.stored_uids(inbox)
    # The busy write may or may not have left the queue yet: one or two offers fit beside it.
    assert taken[0] and not taken[-1]
    assert stored == [n for n, took in zip(range(1, 6), taken, strict=True) if took] + [9]
