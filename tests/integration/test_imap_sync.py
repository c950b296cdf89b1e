"""The sync engine against the rig's real Dovecot: initial sync, resyncs on every path,
UIDVALIDITY changes, dropped connections, odd headers and names."""

from __future__ import annotations

import ast
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import AuthenticationFailed
from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.core.query import parse_query
from mailclient.imap import client, sync
from mailclient.imap.client import ImapSession
from mailclient.imap.sync import AccountSync, SyncOptions, SyncProgress
from mailclient.store import mail
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import (
    account,
    message,
    server_state,
    store_state,
    subjects,
)
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import Dovecot, MailServers
from tests.rig.imap_proxy import RewritingProxy

USER = "carol"
# Dovecot 2.3's default capabilities, minus the extensions each path must do without.
BASE_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 LITERAL+ SPECIAL-USE"
)


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture(scope="module")
def condstore_only(mail_servers: MailServers) -> Iterator[Dovecot]:
    """A second Dovecot on the same mail that offers CONDSTORE but not QRESYNC."""
    dovecot = mail_servers.start_dovecot(
        f"imap_capability = {BASE_CAPABILITIES} CONDSTORE ESEARCH MOVE"
    )
    yield dovecot
    dovecot.stop()


@pytest.fixture(scope="module")
def plain_imap(mail_servers: MailServers) -> Iterator[Dovecot]:
    """A second Dovecot on the same mail that speaks plain IMAP4rev1 (+ UIDPLUS, IDLE)."""
    dovecot = mail_servers.start_dovecot(f"imap_capability = {BASE_CAPABILITIES}")
    yield dovecot
    dovecot.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


SORT_INDEXES = {"messages_by_sender", "messages_by_subject"}


def indexes(store: MailStore) -> set[str]:
    with closing(sqlite3.connect(store.path)) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


PATHS = ["qresync", "condstore", "plain"]


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def engine_for(
    path: str,
    servers: MailServers,
    store: MailStore,
    condstore_only: Dovecot,
    plain_imap: Dovecot,
) -> AccountSync:
    port = {
        "qresync": servers.imaps_port,
        "condstore": condstore_only.imaps_port,
        "plain": plain_imap.imaps_port,
    }[path]
    engine = AccountSync(
        account(servers, USER, port), FixedPassword(servers.user(USER).password), store
    )
    session = engine.session
    assert (session.qresync, session.condstore) == {
        "qresync": (True, True),
        "condstore": (False, True),
        "plain": (False, False),
    }[path]
    return engine


def test_initial_sync_of_several_folders(servers: MailServers, store: MailStore) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 31)))
    servers.fill_maildir(USER, "Archive", (message(n, minutes=-n) for n in range(1, 6)))
    servers.append(USER, "Projects/Zoë", message(1, "=?utf-8?Q?Caf=C3=A9_=E2=98=95?="))
    servers.append(USER, "Projects/Zoë", "Subject: Grüße aus Köln\r\n\r\nraw UTF-8\r\n".encode())
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    results = {r.folder: r for r in engine.sync()}
    engine.close()

    assert results["INBOX"].new == 30 and results["Archive"].new == 5
    assert results["Projects/Zoë"].new == 2
    assert all(r.error is None and r.complete for r in results.values())
    folders = {f.name: f for f in store.folders("test")}
    assert folders["INBOX"].special_use is SpecialUse.INBOX
    assert folders["Trash"].special_use is SpecialUse.TRASH
    assert folders["Archive"].special_use is SpecialUse.ARCHIVE
    assert (folders["INBOX"].total, folders["INBOX"].unread) == (30, 30)
    assert folders["Projects/Zoë"].leaf == "Zoë"
    assert subjects(store, "test", "INBOX") == [f"Message {n}" for n in range(30, 0, -1)]
    assert sorted(subjects(store, "test", "Projects/Zoë")) == ["Café ☕", "Grüße aus Köln"]
    for folder in ("INBOX", "Archive", "Projects/Zoë"):
        assert store_state(store, "test", folder) == server_state(servers, USER, folder)


def test_resync_sees_new_flagged_and_expunged_messages(
    servers: MailServers,
    store: MailStore,
    path: str,
    condstore_only: Dovecot,
    plain_imap: Dovecot,
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 11)))
    engine = engine_for(path, servers, store, condstore_only, plain_imap)
    [first] = engine.sync(["INBOX"])
    assert (first.new, first.changed, first.removed) == (10, 0, 0)
    [unchanged] = engine.sync(["INBOX"])
    assert (unchanged.new, unchanged.changed, unchanged.removed) == (0, 0, 0)

    uids = sorted(server_state(servers, USER, "INBOX"))
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.add_flags([uids[2]], [FLAGGED])
        client.add_flags([uids[3]], [SEEN])
        client.delete_messages(uids[4:6])
        client.expunge()
    servers.append(USER, "INBOX", message(11))

    [result] = engine.sync(["INBOX"])
    engine.close()
    assert (result.new, result.changed, result.removed) == (1, 2, 2)
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")
    assert store_state(store, "test", "INBOX")[uids[2]] == {FLAGGED}
    assert subjects(store, "test", "INBOX")[0] == "Message 11"
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None and (inbox.total, inbox.unread) == (9, 8)


def test_a_changed_uidvalidity_rebuilds_the_folder(
    servers: MailServers,
    store: MailStore,
    path: str,
    condstore_only: Dovecot,
    plain_imap: Dovecot,
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    engine = engine_for(path, servers, store, condstore_only, plain_imap)
    engine.sync(["INBOX"])
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    old_ids = set(store.message_ids(inbox.id))
    old_validity = store.sync_state(inbox.id).uidvalidity
    assert old_validity is not None
    servers.dovecot.doveadm(
        "mailbox", "update", "--uid-validity", str(old_validity + 1000),
        "-u", servers.user(USER).username, "INBOX",
    )  # fmt: skip

    [result] = engine.sync(["INBOX"])
    engine.close()
    assert result.reset and result.new == 5
    assert store.sync_state(inbox.id).uidvalidity == old_validity + 1000
    assert not old_ids & set(store.message_ids(inbox.id))
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")


def test_a_new_uidvalidity_of_an_empty_folder_is_not_announced(
    servers: MailServers, store: MailStore
) -> None:
    """Some servers give an empty folder a new UIDVALIDITY in every session: with nothing
    cached there is nothing renumbered to tell the user about."""
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    [first] = engine.sync(["Junk"])
    junk = store.folder_by_name("test", "Junk")
    assert junk is not None and first.new == 0
    old_validity = store.sync_state(junk.id).uidvalidity
    assert old_validity is not None
    servers.dovecot.doveadm(
        "mailbox", "update", "--uid-validity", str(old_validity + 1000),
        "-u", servers.user(USER).username, "Junk",
    )  # fmt: skip

    [result] = engine.sync(["Junk"])
    engine.close()
    assert not result.reset and result.error is None
    assert store.sync_state(junk.id).uidvalidity == old_validity + 1000


def test_a_connection_cut_mid_sync_resumes_without_duplicates_or_holes(
    servers: MailServers, store: MailStore
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 3001)))
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    proxy.cut_after = 400_000  # bytes from the server: a few batches into the headers
    engine = AccountSync(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        store,
        SyncOptions(first_batch=100, batch=300, backoff=0.05),
    )
    try:
        [result] = engine.sync(["INBOX"])
    finally:
        engine.close()
        proxy.close()
    assert proxy.cuts == 1 and proxy.connections == 2
    assert result.complete and result.error is None and result.new == 3000
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None and inbox.total == 3000


def test_a_sync_that_gave_up_resumes_later(servers: MailServers, store: MailStore) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 1001)))
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    proxy.cut_after = 150_000
    options = SyncOptions(first_batch=100, batch=200, attempts=1)
    engine = AccountSync(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        store,
        options,
    )
    with pytest.raises(Exception, match="connection"):
        engine.sync(["INBOX"])
    engine.close()
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    partial = store.stored_uids(inbox.id)
    assert 0 < len(partial) < 1000
    # The newest came first: what is stored is the top of the folder.
    everything = sorted(server_state(servers, USER, "INBOX"))
    assert partial == everything[-len(partial) :]

    engine = AccountSync(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        store,
        options,
    )
    [result] = engine.sync(["INBOX"])
    engine.close()
    proxy.close()
    assert result.new == 1000 - len(partial)
    assert store.stored_uids(inbox.id) == everything


def test_a_big_first_fill_cut_short_leaves_the_sort_indexes_built(
    servers: MailServers, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 1001)))
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    proxy.cut_after = 150_000
    options = SyncOptions(first_batch=100, batch=200, attempts=1)
    engine = AccountSync(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        store,
        options,
    )
    dropped: list[bool] = []
    monkeypatch.setattr(
        MailStore,
        "defer_sort_indexes",
        lambda self, incoming, drop=MailStore.defer_sort_indexes: (
            dropped.append(drop(self, incoming)) or dropped[-1]
        ),
    )
    with pytest.raises(Exception, match="connection"):
        engine.sync(["INBOX"])
    engine.close()
    proxy.close()
    assert dropped == [True]
    assert indexes(store) >= SORT_INDEXES


def test_a_sync_starts_by_building_sort_indexes_a_crash_left_out(
    servers: MailServers, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    assert store.defer_sort_indexes(1000)  # and then the process died
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 11)))
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    engine.sync(["INBOX"])
    engine.close()
    assert indexes(store) >= SORT_INDEXES


def test_a_stopped_sync_keeps_and_counts_what_it_stored_then_resumes(
    servers: MailServers, store: MailStore
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 1201)))
    stop = threading.Event()
    reports: list[SyncProgress] = []

    def progress(report: SyncProgress) -> None:
        reports.append(report)
        stop.set()

    options = SyncOptions(first_batch=100, batch=300)
    engine = AccountSync(
        account(servers, USER),
        FixedPassword(servers.user(USER).password),
        store,
        options,
        progress,
        stop,
    )
    [result] = engine.sync(["INBOX"])
    engine.close()
    assert not result.complete
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    stored = store.stored_uids(inbox.id)
    # The newest 100 came alone and first; every stored message was counted.
    assert reports[0].fetched == 100 and reports[0].missing == 1200
    assert [r.fetched for r in reports] == sorted({r.fetched for r in reports})
    assert result.new == len(stored) == reports[-1].fetched
    assert 0 < len(stored) < 1200
    # The newest came first: what is stored is the top of the folder.
    assert stored == sorted(server_state(servers, USER, "INBOX"))[-len(stored) :]
    assert store.sync_state(inbox.id).uidnext is None  # not complete: resumes next time

    engine = AccountSync(
        account(servers, USER), FixedPassword(servers.user(USER).password), store, options
    )
    [rest] = engine.sync(["INBOX"])
    engine.close()
    assert rest.complete and rest.new == 1200 - len(stored)
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")


def test_a_wrong_password_stops_at_once(servers: MailServers, store: MailStore) -> None:
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    engine = AccountSync(
        account(servers, USER, proxy.port), FixedPassword("wrong"), store, SyncOptions(backoff=0.01)
    )
    with pytest.raises(AuthenticationFailed, match="rejected the password"):
        engine.sync()
    proxy.close()
    assert proxy.connections == 1


def test_malformed_messages_never_stop_a_sync(servers: MailServers, store: MailStore) -> None:
    odd = [
        b"Subject: =?utf-8?B?!!!not base64?=\r\nDate: yesterday at noon\r\n\r\nx\r\n",
        b"From: \xff\xfe\xfd <broken@>\r\nSubject: \x80\x81 8-bit junk\r\n\r\nx\r\n",
        b"no header at all, just text\r\n",
        b"Subject: =?nonexistent-charset?Q?caf=E9?=\r\nDate: Mon, 45 Foo 20x4\r\n\r\nx\r\n",
        b"Content-Type: multipart/mixed\r\nSubject: no boundary\r\n\r\nx\r\n",
        message(1, "A fine one"),
    ]
    servers.fill_maildir(USER, "INBOX", odd)
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    [result] = engine.sync(["INBOX"])
    engine.close()
    assert result.new == len(odd) and result.error is None
    assert "A fine one" in subjects(store, "test", "INBOX")
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")


def test_bodies_are_fetched_without_marking_them_read(
    servers: MailServers, store: MailStore
) -> None:
    servers.append(USER, "INBOX", message(1, attachment=True))
    servers.append(USER, "INBOX", message(2))
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    engine.sync(["INBOX"])
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    oldest = store.message_ids(inbox.id)[-1]
    raw = engine.fetch_body(oldest)
    engine.close()
    assert raw.replace(b"\r\n", b"\n") == message(1, attachment=True).replace(b"\r\n", b"\n")
    assert store.body(oldest) == raw
    assert set(server_state(servers, USER, "INBOX").values()) == {frozenset()}
    summary = store.summary(oldest)
    assert summary is not None and summary.has_attachments and not summary.seen


def test_attachments_are_told_by_the_structure(servers: MailServers, store: MailStore) -> None:
    text_only_mixed = (
        b"Subject: mixed, text only\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
    )
    servers.fill_maildir(USER, "INBOX", [message(1, attachment=True), text_only_mixed])
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    engine.sync(["INBOX"])
    engine.close()
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    found = {s.subject: s.has_attachments for s in store.summaries(store.message_ids(inbox.id))}
    assert found == {"Message 1": True, "mixed, text only": False}


def text_only_mixed(n: int) -> bytes:
    """A multipart/mixed message without attachments: only its structure tells."""
    return (
        f"Subject: mixed {n}\r\nMessage-ID: <{n}@mixed.example>\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
    ).encode()


def attachments_shown(store: MailStore) -> dict[str, bool]:
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    return {s.subject: s.has_attachments for s in store.summaries(store.message_ids(inbox.id))}


MIXED = {
    **{f"Message {n}": True for n in range(1, 31)},
    **{f"mixed {n}": False for n in range(31, 61)},
}


def fill_mixed(servers: MailServers) -> None:
    servers.fill_maildir(
        USER,
        "INBOX",
        (message(n, attachment=True) if n <= 30 else text_only_mixed(n) for n in range(1, 61)),
    )


def test_structures_cut_off_by_a_dropped_connection_are_asked_for_when_it_is_back(
    servers: MailServers, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The headers are stored, then the connection drops while the structures come: the
    sync's next attempt asks for the structures it did not get."""
    monkeypatch.setattr(sync, "_STRUCTURE_BATCH", 10)
    fill_mixed(servers)
    cuts: list[int] = []

    def cut_after_one(self: ImapSession, batches: Any, fetch=ImapSession.fetch_structures) -> Any:
        for n, found in enumerate(fetch(self, batches)):
            if n == 1 and not cuts:
                cuts.append(n)
                self.abort()
                raise client.CannotConnect("The connection was cut.")
            yield found

    monkeypatch.setattr(ImapSession, "fetch_structures", cut_after_one)
    engine = AccountSync(
        account(servers, USER),
        FixedPassword(servers.user(USER).password),
        store,
        SyncOptions(backoff=0.05),
    )
    [result] = engine.sync(["INBOX"])
    engine.close()
    assert cuts and result.complete and result.error is None and result.new == 60
    assert attachments_shown(store) == MIXED


def test_structures_a_stopped_sync_did_not_get_are_asked_for_at_the_next_sync(
    servers: MailServers, store: MailStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopped (or killed) once every header is stored: the next sync, which finds no new
    mail, still asks for the structures, and the one after it asks for nothing."""
    fill_mixed(servers)
    stop = threading.Event()

    def progress(report: SyncProgress) -> None:
        if report.fetched == report.missing:
            stop.set()  # every header is in; the structures come next

    engine = AccountSync(
        account(servers, USER),
        FixedPassword(servers.user(USER).password),
        store,
        None,
        progress,
        stop,
    )
    [stopped] = engine.sync(["INBOX"])
    engine.close()
    assert not stopped.complete
    assert attachments_shown(store)["mixed 31"] is True  # the Content-Type's guess

    caplog.set_level(logging.DEBUG)
    asked = []
    for _ in range(2):
        caplog.clear()
        engine = AccountSync(
            account(servers, USER), FixedPassword(servers.user(USER).password), store
        )
        [again] = engine.sync(["INBOX"])
        engine.close()
        assert again.complete and again.new == 0
        assert attachments_shown(store) == MIXED
        writes = sent_commands(caplog.records)
        asked.append(sum(b"BODYSTRUCTURE" in c for w in writes for c in w))
    assert asked[0] > 0 and asked[1] == 0  # the second time nothing was left to ask for


def syncs_through(
    servers: MailServers, store: MailStore, rewrite: Any, times: int
) -> list[tuple[str | None, int | None, list[int]]]:
    """Sync INBOX ``times`` through a proxy that rewrites what the server says: each time
    the folder's error, its UIDNEXT and the UIDs whose structure is still wanted."""
    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, rewrite)
    seen = []
    try:
        for _ in range(times):
            password = FixedPassword(servers.user(USER).password)
            engine = AccountSync(account(servers, USER, proxy.port), password, store)
            [result] = engine.sync(["INBOX"])
            engine.close()
            inbox = store.folder_by_name("test", "INBOX")
            assert inbox is not None
            uidnext = store.sync_state(inbox.id).uidnext
            seen.append((result.error, uidnext, store.structures_wanted(inbox.id)))
    finally:
        proxy.close()
    return seen


def test_a_structure_that_cannot_be_read_fails_one_sync_not_every_one(
    servers: MailServers, store: MailStore
) -> None:
    servers.fill_maildir(USER, "INBOX", [message(1), text_only_mixed(2), message(3)])

    def garble(line: bytes) -> bytes:
        if b" BODYSTRUCTURE " in line:  # only the mixed one's is asked for
            return re.sub(rb"BODYSTRUCTURE \(.*\)\)", b"BODYSTRUCTURE NIL)", line)
        return line

    [(first, _, _), (second, uidnext, wanted)] = syncs_through(servers, store, garble, 2)
    assert first is not None and "BODYSTRUCTURE" in first
    assert second is None and uidnext is not None and wanted == []
    assert attachments_shown(store)["mixed 2"] is True  # the Content-Type's guess stays


def test_a_structure_the_server_does_not_send_is_asked_for_once_more_then_not_again(
    servers: MailServers, store: MailStore, caplog: pytest.LogCaptureFixture
) -> None:
    servers.fill_maildir(USER, "INBOX", [message(1), text_only_mixed(2), message(3)])

    def leave_out(line: bytes) -> bytes | None:
        return None if b" BODYSTRUCTURE " in line else line  # only the mixed one's is asked for

    caplog.set_level(logging.DEBUG)
    [first, second] = syncs_through(servers, store, leave_out, 2)
    assert first[0] is None and first[1] is not None and first == second
    assert first[2] == []
    asked = [c for w in sent_commands(caplog.records) for c in w if b"BODYSTRUCTURE" in c]
    # Twice in the first sync, for the one message, and not again.
    assert len(asked) == 2 and asked[0] == asked[1]
    assert attachments_shown(store)["mixed 2"] is True  # the Content-Type's guess stays


def test_a_big_first_fill_builds_its_indexes_while_structures_come_and_loses_none(
    servers: MailServers, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sort indexes, the header index and the threads of a big first fill are built on
    the writer's thread while the structures are fetched; structures that come while the
    writer is busy wait for it and are all written."""
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 100)
    monkeypatch.setattr(sync, "_STRUCTURE_BATCH", 10)

    def text_only_mixed(n: int) -> bytes:
        return (
            f"Subject: mixed {n}\r\nMessage-ID: <{n}@mixed.example>\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
        ).encode()

    servers.fill_maildir(
        USER,
        "INBOX",
        (message(n, attachment=True) if n % 2 else text_only_mixed(n) for n in range(1, 201)),
    )
    builders: list[str] = []

    def slow_restore(self: MailStore, restore=MailStore.restore_sort_indexes) -> None:
        if not indexes(self) >= SORT_INDEXES:
            builders.append(threading.current_thread().name)
            time.sleep(0.5)  # the structures of all 100 text-only messages come meanwhile
        restore(self)

    monkeypatch.setattr(MailStore, "restore_sort_indexes", slow_restore)
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    [result] = engine.sync(["INBOX"])
    engine.close()
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    found = {s.subject: s.has_attachments for s in store.summaries(store.message_ids(inbox.id))}
    assert result.new == 200
    assert builders == ["test-sync-writer"]
    assert indexes(store) >= SORT_INDEXES
    assert found == {
        (f"Message {n}" if n % 2 else f"mixed {n}"): bool(n % 2) for n in range(1, 201)
    }
    assert len(store.search(parse_query("subject:mixed"))) == 100


def sent_commands(records: list[logging.LogRecord]) -> list[list[bytes]]:
    """What the engine wrote, one list of command lines (without tags) per write: its own
    reader's writes (mailclient.imap.conversation) and imaplib's (imapclient.imaplib)."""
    writes = []
    for record in records:
        text = record.getMessage()
        if record.name == "mailclient.imap.conversation" and " > b" in text:
            raw = ast.literal_eval(text.split(" > ", 1)[1])
            writes.append([line.split(b" ", 1)[1] for line in raw.split(b"\r\n") if line])
        elif record.name == "imapclient.imaplib" and text.startswith("> b'"):
            # Logged as "> b'TAG COMMAND ...", some of them shortened or redacted.
            writes.append([text[4:].removesuffix("'").split(" ", 1)[1].encode()])
    return writes


def test_a_resync_asks_every_folders_status_at_once_before_the_folder_list(
    servers: MailServers,
    store: MailStore,
    path: str,
    condstore_only: Dovecot,
    plain_imap: Dovecot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    servers.fill_maildir(USER, "Archive", (message(n) for n in range(6, 9)))
    servers.append(USER, "Old", message(9))
    caplog.set_level(logging.DEBUG)  # before the connection: it logs from the start then
    engine = engine_for(path, servers, store, condstore_only, plain_imap)
    engine.sync()
    folders = {f.name for f in store.selectable_folders("test")}
    assert {"INBOX", "Archive", "Old", "Trash"} <= folders

    # Meanwhile another client: new mail, a flag in Archive, the folder Old deleted.
    servers.append(USER, "INBOX", message(10))
    with servers.imap(USER) as client:
        client.select_folder("Archive")
        client.add_flags(client.search("ALL")[:1], [FLAGGED])
        client.close_folder()
        client.delete_folder("Old")
    caplog.clear()
    results = {r.folder: r for r in engine.sync()}
    engine.close()

    assert (results["INBOX"].new, results["Archive"].changed) == (1, 1)
    unchanged = folders - {"INBOX", "Archive", "Old"}
    assert all(
        (results[f].new, results[f].changed, results[f].removed) == (0, 0, 0) for f in unchanged
    )
    assert all(r.error is None for r in results.values())
    assert "Old" not in {f.name for f in store.selectable_folders("test")}
    for folder in ("INBOX", "Archive"):
        assert store_state(store, "test", folder) == server_state(servers, USER, folder)

    writes = sent_commands(caplog.records)
    statuses = [w for w in writes if w[0].startswith(b"STATUS ")]
    listing = writes.index([b'LIST "" "*"'])
    examined = {c.split(b" ", 1)[1] for w in writes for c in w if c.startswith(b"EXAMINE ")}
    if path == "plain":
        # Without CONDSTORE a STATUS cannot show that flags did not change: each folder
        # is examined and its flags compared, as before.
        assert statuses == []
        assert examined == {f'"{f}"'.encode() for f in folders - {"Old"}}
        return
    # One write with the STATUS of every folder known, sent before the folder list.
    [batch] = statuses
    assert sorted(batch) == sorted(
        f'STATUS "{f}" (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)'.encode() for f in folders
    )
    assert writes.index(batch) < listing
    # Only the folders that changed are opened.
    assert examined == {b'"INBOX"', b'"Archive"'}


def test_a_status_answer_that_cannot_be_read_fails_only_its_folder(
    servers: MailServers, store: MailStore
) -> None:
    """A server whose STATUS answer for Junk is garbage: the batch of STATUS is given up,
    each folder asks on its own, and only Junk fails."""

    def garble_junk(line: bytes) -> bytes:
        return b"* 1 FETCH garbage\r\n" if line.startswith(b"* STATUS Junk ") else line

    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 4)))
    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, garble_junk)
    try:
        engine = AccountSync(
            account(servers, USER, proxy.port), FixedPassword(servers.user(USER).password), store
        )
        engine.sync()  # the first: no STATUS, every folder is examined
        servers.append(USER, "INBOX", message(4))
        results = {r.folder: r for r in engine.sync()}
        engine.close()
    finally:
        proxy.close()
    assert results["INBOX"].new == 1 and results["INBOX"].error is None
    assert results["Junk"].error is not None and "FETCH" in results["Junk"].error
    assert all(r.error is None for name, r in results.items() if name != "Junk")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per IMAP connection opened from here on; folders of 3 messages count as
    big (client.RENEW_FROM)."""
    opened: list[int] = []
    real = client.open_client

    def counting(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "open_client", counting)
    monkeypatch.setattr(client, "RENEW_FROM", 3)
    return opened


def test_a_connection_that_listed_folders_opens_a_big_one_on_a_new_connection(
    servers: MailServers, connections: list[int]
) -> None:
    """Dovecot opens a big folder slowly on a connection that has sent LIST (see
    ImapSession._renew_before_opening): the session logs in again first."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    session = ImapSession.connect(
        account(servers, USER), FixedPassword(servers.user(USER).password)
    )
    try:
        assert session.statuses(["INBOX", "Sent"])["INBOX"].exists == 5
        session.select("INBOX", readonly=True)
        session.select("Sent", readonly=True)
        assert len(connections) == 1  # nothing listed yet

        session.list_folders()
        session.select("Sent", readonly=True)  # small: the same connection
        assert len(connections) == 1
        status = session.select("INBOX", readonly=True)
        assert len(connections) == 2
        # The new connection is as the first was: QRESYNC on, the folder selected.
        assert (session.qresync, session.selected, status.exists) == (True, "INBOX", 5)
        assert status.highestmodseq is not None
        assert len(session.search_uids()) == 5
        session.select("Sent", readonly=True)
        session.select("INBOX", readonly=True)  # not listed on this connection
        assert len(connections) == 2

        session.list_folders()
        assert session.status("INBOX").exists == 5
        assert len(connections) == 3
    finally:
        session.close()


def test_new_mail_in_a_known_folder_is_synced_without_the_folder_list(
    servers: MailServers, store: MailStore, caplog: pytest.LogCaptureFixture
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 4)))
    caplog.set_level(logging.DEBUG)
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    try:
        engine.sync()
        servers.append(USER, "INBOX", message(4))
        caplog.clear()
        [inbox] = engine.sync(["INBOX"])
        assert inbox.new == 1
        listing = [
            c for w in sent_commands(caplog.records) for c in w if c[:4] in (b"LIST", b"LSUB")
        ]
        assert listing == []

        # A folder the store does not know yet is looked for in the folder list.
        servers.append(USER, "Projects", message(5))
        caplog.clear()
        [projects] = engine.sync(["Projects"])
        assert projects.new == 1
        assert [b'LIST "" "*"'] in sent_commands(caplog.records)
    finally:
        engine.close()


def test_a_long_session_opens_big_folders_on_a_connection_that_has_not_listed(
    servers: MailServers, store: MailStore, connections: list[int]
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    try:
        engine.sync()
        assert len(connections) == 1
        servers.append(USER, "INBOX", message(6))
        # The STATUS of every folder (INBOX is big) comes after the last sync's LIST: a
        # new connection; INBOX changed, and is opened after this sync's LIST: another.
        results = {r.folder: r for r in engine.sync()}
        assert len(connections) == 3
        assert results["INBOX"].new == 1
        assert all(r.error is None for r in results.values())
        assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")
        # That connection has not listed since it opened INBOX: the next STATUS goes on it.
        engine.sync()
        assert len(connections) == 3
        # Now it has.
        engine.sync()
        assert len(connections) == 4
    finally:
        engine.close()


def test_a_server_that_is_not_dovecot_keeps_its_connection_after_a_list(
    servers: MailServers, connections: list[int]
) -> None:
    def not_dovecot(line: bytes) -> bytes:
        return line.replace(b"Dovecot (Debian) ready.", b"IMAP ready.")

    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, not_dovecot)
    try:
        password = FixedPassword(servers.user(USER).password)
        session = ImapSession.connect(account(servers, USER, proxy.port), password)
        try:
            session.statuses(["INBOX"])
            session.list_folders()
            assert session.select("INBOX", readonly=True).exists == 5
        finally:
            session.close()
    finally:
        proxy.close()
    assert len(connections) == 1


def test_a_connection_not_taken_again_is_retried_and_fails_no_folder(
    servers: MailServers, store: MailStore, connections: list[int]
) -> None:
    """The second connection's ENABLE is refused: that connection failed (and the sync
    connects once more), not a folder."""
    greetings = 0

    def second_refuses_enable(line: bytes) -> bytes:
        nonlocal greetings
        if line.startswith(b"* OK [CAPABILITY"):
            greetings += 1
        if greetings == 2 and line.startswith(b"MC1 OK"):
            return b"MC1 NO [CANNOT] Not on this connection.\r\n"
        return line

    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, second_refuses_enable)
    options = SyncOptions(backoff=0.01)
    try:
        engine = AccountSync(
            account(servers, USER, proxy.port),
            FixedPassword(servers.user(USER).password),
            store,
            options,
        )
        try:
            engine.sync()
            servers.append(USER, "INBOX", message(6))
            results = {r.folder: r for r in engine.sync()}
        finally:
            engine.close()
    finally:
        proxy.close()
    assert greetings >= 3 and len(connections) >= 3
    assert results["INBOX"].new == 1
    assert all(r.error is None for r in results.values())


def test_a_folder_gone_from_the_server_is_no_failure_of_a_sync_by_name(
    servers: MailServers, store: MailStore, connections: list[int]
) -> None:
    """A sync of named folders reads no folder list unless one of them fails: then the
    list says the folder is gone, and it leaves the store without an error. The server's
    NO is not asked again (on new connections, after waiting): it would come again."""
    servers.append(USER, "Old", message(1))
    engine = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    try:
        engine.sync()
        assert "Old" in {f.name for f in store.selectable_folders("test")}
        with servers.imap(USER) as client:
            client.delete_folder("Old")
        [result] = engine.sync(["Old"])
    finally:
        engine.close()
    assert result.error is None
    assert "Old" not in {f.name for f in store.selectable_folders("test")}
    assert len(connections) == 1


def test_a_folder_list_refused_after_a_folder_failed_keeps_the_folders_result(
    servers: MailServers, store: MailStore
) -> None:
    """The list read because a folder synced by name failed is refused too: the sync
    still ends, with that folder's error, instead of losing its results."""
    refuse = False

    def refused_list(line: bytes) -> bytes:
        tag, _, rest = line.partition(b" ")
        if refuse and rest.startswith(b"OK List completed") and not tag.startswith(b"MC"):
            return tag + b" NO Listing is off today.\r\n"
        return line

    servers.append(USER, "Old", message(1))
    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, refused_list)
    try:
        engine = AccountSync(
            account(servers, USER, proxy.port), FixedPassword(servers.user(USER).password), store
        )
        try:
            engine.sync()
            with servers.imap(USER) as client:
                client.delete_folder("Old")
            refuse = True
            [result] = engine.sync(["Old"])
        finally:
            engine.close()
    finally:
        proxy.close()
    assert result.error is not None and "Old" in result.error
