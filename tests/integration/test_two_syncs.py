"""Two syncs of one account at once (the window's sync lane and ``mailclient sync`` from
cron), each with its own connection and its own store connection to the same file."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.models import SEEN
from mailclient.core.query import parse_query
from mailclient.imap import sync
from mailclient.imap.sync import AccountSync, FolderSyncResult, SyncOptions
from mailclient.store import mail
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account, message, server_state, store_state
from tests.rig import MailServers

USER = "carol"
# Those a big first fill drops and builds again (mailclient.store.mail).
SORT_INDEXES = {"messages_by_sender", "messages_by_subject", "messages_for_search"}

pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mail.sqlite3"


@pytest.fixture(autouse=True)
def nothing_logged_at_error(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A record at ERROR is a bug (a database error no surroundings explain, say), whoever
    logged it, on whichever thread."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors


def engine(servers: MailServers, store: MailStore, **parts: Any) -> AccountSync:
    """A sync of the rig's account in small batches, so that two of them interleave."""
    options = SyncOptions(first_batch=50, batch=200, backoff=0.05)
    return AccountSync(
        account(servers, USER), FixedPassword(servers.user(USER).password), store, options, **parts
    )


def at_once(
    *syncs: Callable[[MailStore], list[FolderSyncResult]], path: Path
) -> list[list[FolderSyncResult]]:
    """Run each of ``syncs`` on a thread of its own with a store connection of its own to
    ``path``, all started together; their results, or the first exception one raised."""
    start = threading.Barrier(len(syncs), timeout=30)
    results: list[list[FolderSyncResult] | BaseException | None] = [None] * len(syncs)

    def run(i: int) -> None:
        try:
            with MailStore.open(path) as store:
                start.wait()
                results[i] = syncs[i](store)
        except BaseException as error:  # raised again in the test's thread
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,), name=f"sync-{i}") for i in range(len(syncs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, list)]


def syncing(
    servers: MailServers, *folders: str, **parts: Any
) -> Callable[[MailStore], list[FolderSyncResult]]:
    """A sync of ``folders`` into the store it is given, closed after."""

    def run(store: MailStore) -> list[FolderSyncResult]:
        sync = engine(servers, store, **parts)
        try:
            return sync.sync(list(folders))
        finally:
            sync.close()

    return run


def check_store(servers: MailServers, path: Path, folder: str = "INBOX") -> None:
    """The store holds the server's folder exactly, counted, indexed, searchable, threaded."""
    expected = server_state(servers, USER, folder)
    with MailStore.open(path) as store:
        stored = store_state(store, "test", folder)
        assert sorted(expected.keys() - stored.keys()) == [], "messages missing"
        assert sorted(stored.keys() - expected.keys()) == [], "messages the server lacks"
        assert stored == expected
        found = store.folder_by_name("test", folder)
        assert found is not None
        unread = sum(1 for flags in expected.values() if SEEN not in flags)
        assert (found.total, found.unread) == (len(expected), unread)
        with closing(sqlite3.connect(path)) as db:
            names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            (indexed,) = db.execute("SELECT indexed_up_to FROM search_state").fetchone()
            (last,) = db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()
            (duplicates,) = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY folder_id, uid "
                "HAVING count(*) > 1)"
            ).fetchone()
        assert names >= SORT_INDEXES
        assert indexed == last
        assert duplicates == 0
        assert len(store.search(parse_query("subject:message"))) == len(expected)
        assert not store.has_unthreaded()
        assert not store.wants_structures(found.id)


def mixed(n: int) -> bytes:
    """A multipart/mixed message without an attachment: its structure is asked for."""
    return (
        f"Subject: Message {n}\r\nMessage-ID: <m{n}@example.org>\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
    ).encode()


def test_two_first_fills_of_a_big_folder_at_once_store_it_once_and_whole(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both drop the sort indexes, store in batches that interleave, build the indexes and
    ask for the structures; whichever ends first, the other's writes go on."""
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    monkeypatch.setattr(sync, "_STRUCTURE_BATCH", 100)
    servers.fill_maildir(
        USER, "INBOX", (mixed(n) if n % 5 == 0 else message(n) for n in range(1, 3001))
    )
    results = at_once(syncing(servers, "INBOX"), syncing(servers, "INBOX"), path=path)
    assert all(r.complete and r.error is None for [r] in results)
    check_store(servers, path)
