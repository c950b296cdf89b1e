"""Two syncs of one account at once (the window's sync lane and ``mailclient sync`` from
cron), each with its own connection and its own store connection to the same file."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import NetworkError
from mailclient.core.models import FLAGGED, SEEN
from mailclient.core.query import parse_query
from mailclient.imap import sync
from mailclient.imap.client import ImapSession, MailboxStatus
from mailclient.imap.sync import AccountSync, FolderSyncResult, SyncOptions, SyncProgress
from mailclient.store import mail
from mailclient.store.mail import AppliedChanges, MailStore
from tests.integration.imap_helpers import account, message, server_state, store_state
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers
from tests.support.waiting import wait_until

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


def engine(
    servers: MailServers,
    store: MailStore,
    port: int | None = None,
    attempts: int = 5,
    **parts: Any,
) -> AccountSync:
    """A sync of the rig's account in small batches, so that two of them interleave."""
    options = SyncOptions(first_batch=50, batch=200, backoff=0.05, attempts=attempts)
    password = FixedPassword(servers.user(USER).password)
    return AccountSync(account(servers, USER, port), password, store, options, **parts)


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


def sync_once(servers: MailServers, path: Path) -> None:
    """One sync of INBOX on its own, as the next one after those a test ran at once."""
    with MailStore.open(path) as store:
        alone = engine(servers, store)
        alone.sync(["INBOX"])
        alone.close()


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


# A first fill in a process of its own (as `mailclient sync` runs), in small batches with
# the sort indexes deferred; it says "ready" when it has opened the store, starts on a line
# on its standard input, and prints each folder's (new, complete, error) in JSON.
OTHER_PROCESS = """
import json, logging, sys
from pathlib import Path
from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.store import mail
from mailclient.store.mail import MailStore

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
settings = json.loads(sys.argv[1])
mail.DEFER_INDEXES_FROM = 100
with MailStore.open(Path(settings["path"])) as store:
    account = Account.from_dict(settings["account"])
    options = SyncOptions(first_batch=50, batch=200, backoff=0.05)
    engine = AccountSync(account, FixedPassword(settings["password"]), store, options)
    print("ready", flush=True)
    sys.stdin.readline()
    results = engine.sync(["INBOX"])
    engine.close()
print(json.dumps([[r.new, r.complete, r.error] for r in results]))
"""


def test_two_first_fills_in_two_processes_at_once_store_the_folder_once_and_whole(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 3001)))
    settings = {
        "path": str(path),
        "account": account(servers, USER).to_dict(),
        "password": servers.user(USER).password,
    }
    with subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(settings)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline() == "ready\n"
        other.stdin.write("go\n")
        other.stdin.flush()
        with MailStore.open(path) as store:
            here = engine(servers, store)
            [result] = here.sync(["INBOX"])
            here.close()
        out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    assert [line for line in err.splitlines() if line.startswith(("ERROR", "CRITICAL"))] == []
    [[_, complete, error]] = json.loads(out)
    assert complete and error is None
    assert result.complete and result.error is None
    check_store(servers, path)


@pytest.mark.parametrize("attempts", [5, 1], ids=["resumed", "given-up"])
def test_a_first_fill_cut_off_beside_another_loses_nothing(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch, attempts: int
) -> None:
    """The connection of one of two first fills drops a few batches in; it resumes on a
    new one, or gives up and leaves the folder to the other."""
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 3001)))
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    proxy.cut_after = 300_000  # bytes from the server: a few batches into the headers

    def cut_off(store: MailStore) -> list[FolderSyncResult]:
        try:
            return syncing(servers, "INBOX", port=proxy.port, attempts=attempts)(store)
        except NetworkError:
            assert attempts == 1
            return []

    def until_cut(_: SyncProgress) -> None:
        # The other waits after its first batch: the one cut off has plenty left to fetch.
        wait_until(lambda: proxy.cuts, what="the cut")

    try:
        [[first], second] = at_once(
            syncing(servers, "INBOX", on_progress=until_cut), cut_off, path=path
        )
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert first.complete and first.error is None
    assert [r.complete and r.error is None for r in second] == [True] * (attempts > 1)
    check_store(servers, path)


def test_a_first_fill_that_starts_while_another_stores_keeps_what_that_one_stored(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second sync read the folder's state (never synced), then the first one began to
    fill it. The second must not throw away what the first stored: stopped before it
    fetched it all again, it left holes in a folder the first recorded as complete."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 2001)))
    second_planned, first_stored, second_reset = (threading.Event() for _ in range(3))
    select, reset = ImapSession.select, MailStore.reset_folder

    def selecting(session: ImapSession, name: str, readonly: bool = False) -> MailboxStatus:
        if threading.current_thread().name == "sync-0":
            assert second_planned.wait(10)  # the second read the store's state first
        else:
            second_planned.set()
            assert first_stored.wait(10)
        return select(session, name, readonly)

    def resetting(store: MailStore, folder_id: int, *args: Any) -> bool:
        done = reset(store, folder_id, *args)
        if threading.current_thread().name == "sync-1":
            second_reset.set()
        return done

    def first_progress(progress: SyncProgress) -> None:
        if progress.fetched >= 250 and not first_stored.is_set():
            first_stored.set()
            assert second_reset.wait(10)

    stop_second = threading.Event()
    monkeypatch.setattr(ImapSession, "select", selecting)
    monkeypatch.setattr(MailStore, "reset_folder", resetting)
    [first], [second] = at_once(
        syncing(servers, "INBOX", on_progress=first_progress),
        # Stopped after its first batch (the window closed, say).
        syncing(servers, "INBOX", stop=stop_second, on_progress=lambda _: stop_second.set()),
        path=path,
    )
    monkeypatch.undo()
    assert first.complete and second.error is None
    sync_once(servers, path)
    check_store(servers, path)


def test_new_mail_another_sync_stored_is_not_taken_for_expunged(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One sync finds more messages stored than the server had when it opened the folder,
    and compares UIDs to find what was expunged; the surplus is new mail that another sync
    (IDLE's, say) fetched meanwhile, which is not expunged."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 501)))
    sync_once(servers, path)
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.add_flags(client.search("ALL")[6:7], [FLAGGED])  # something for the first sync
    apply, arrived = MailStore.apply_changes, threading.Event()
    second: list[FolderSyncResult] = []

    def applying(store: MailStore, *args: Any, **kwargs: Any) -> AppliedChanges:
        applied = apply(store, *args, **kwargs)
        if threading.current_thread().name == "sync-0" and not arrived.is_set():
            # The first has opened the folder and stored the flag change: new mail comes,
            # and the second sync stores it.
            arrived.set()
            servers.append(USER, "INBOX", message(501))
            [results] = at_once(syncing(servers, "INBOX"), path=path)
            second.extend(results)
        return applied

    monkeypatch.setattr(MailStore, "apply_changes", applying)
    at_once(syncing(servers, "INBOX"), path=path)
    monkeypatch.undo()
    assert [r.new for r in second] == [1]
    sync_once(servers, path)
    check_store(servers, path)


def test_without_uidnext_new_mail_another_sync_stored_is_not_taken_for_expunged(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above, from a server that gives no UIDNEXT (RFC 3501 allows it): only the UIDs
    up to the highest this connection's view holds are compared."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 501)))
    sync_once(servers, path)
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.add_flags(client.search("ALL")[6:7], [FLAGGED])
    search = ImapSession.search_uids
    arrived = threading.Event()
    second: list[FolderSyncResult] = []

    def searching(session: ImapSession, *args: Any, **kwargs: Any) -> list[int]:
        found = search(session, *args, **kwargs)
        if threading.current_thread().name == "sync-0" and not arrived.is_set():
            # The first has searched the folder: new mail comes, the second stores it.
            arrived.set()
            servers.append(USER, "INBOX", message(501))
            [results] = at_once(syncing(servers, "INBOX"), path=path)
            second.extend(results)
        return found

    without_uidnext(monkeypatch)
    monkeypatch.setattr(ImapSession, "search_uids", searching)
    at_once(syncing(servers, "INBOX"), path=path)
    monkeypatch.undo()
    assert [r.new for r in second] == [1]
    sync_once(servers, path)
    check_store(servers, path)


def test_a_sync_planned_again_leaves_mail_newer_than_its_view_to_the_other(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CONDSTORE every flag is read again, and what the server no longer lists is
    gone. A sync whose reset another sync beat plans again from what that one recorded:
    a message newer than its own view, which the other stored, is not among the gone."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 21)))
    monkeypatch.setattr(ImapSession, "_enable", lambda self: None)  # neither CONDSTORE nor QRESYNC
    reset, began = MailStore.reset_folder, threading.Event()

    def resetting(store: MailStore, *args: Any) -> bool:
        if threading.current_thread().name == "sync-0" and not began.is_set():
            began.set()
            servers.append(USER, "INBOX", message(21))  # after the first one's SELECT
            at_once(syncing(servers, "INBOX"), path=path)  # the second: reset, fill, done
        return reset(store, *args)

    monkeypatch.setattr(MailStore, "reset_folder", resetting)
    [[first]] = at_once(syncing(servers, "INBOX"), path=path)
    monkeypatch.undo()
    assert first.error is None and first.removed == 0
    check_store(servers, path)


def without_uidnext(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that does not tell UIDNEXT at SELECT (RFC 3501 allows it): 0 in the status."""
    select = ImapSession.select

    def selecting(session: ImapSession, name: str, readonly: bool = False) -> Any:
        return dataclasses.replace(select(session, name, readonly), uidnext=0)

    monkeypatch.setattr(ImapSession, "select", selecting)


def test_without_uidnext_a_sync_planned_again_leaves_the_others_newer_mail(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the test above, from a server that tells neither UIDNEXT nor CONDSTORE."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 21)))
    monkeypatch.setattr(ImapSession, "_enable", lambda self: None)
    without_uidnext(monkeypatch)
    reset, began = MailStore.reset_folder, threading.Event()

    def resetting(store: MailStore, *args: Any) -> bool:
        if threading.current_thread().name == "sync-0" and not began.is_set():
            began.set()
            servers.append(USER, "INBOX", message(21))  # after the first one's SELECT
            at_once(syncing(servers, "INBOX"), path=path)  # the second: reset, fill, done
        return reset(store, *args)

    monkeypatch.setattr(MailStore, "reset_folder", resetting)
    [[first]] = at_once(syncing(servers, "INBOX"), path=path)
    monkeypatch.undo()
    assert first.error is None and first.removed == 0
    check_store(servers, path)


def test_without_uidnext_a_view_of_an_emptied_folder_leaves_the_others_new_mail(
    servers: MailServers, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored message was expunged on the server; one sync opens the folder empty,
    then new mail comes and the other sync stores it: only the expunged one goes."""
    servers.fill_maildir(USER, "INBOX", [message(1)])
    sync_once(servers, path)
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.delete_messages(client.search("ALL"))
        client.expunge()
    monkeypatch.setattr(ImapSession, "_enable", lambda self: None)
    without_uidnext(monkeypatch)
    fetch, arrived = ImapSession.fetch_flags, threading.Event()

    def fetching(session: ImapSession, *args: Any) -> Any:
        found = fetch(session, *args)
        if threading.current_thread().name == "sync-0" and not arrived.is_set():
            arrived.set()
            servers.append(USER, "INBOX", message(2))
            at_once(syncing(servers, "INBOX"), path=path)
        return found

    monkeypatch.setattr(ImapSession, "fetch_flags", fetching)
    [[emptied]] = at_once(syncing(servers, "INBOX"), path=path)
    monkeypatch.undo()
    assert emptied.error is None
    check_store(servers, path)
