"""Copies and moves to a folder of another account against the real Dovecot: APPEND there,
then delete here; never lost, never twice, across a lost answer, a time offline and a
restart."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import CannotConnect
from mailclient.imap.client import ImapSession
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.imap.transfers import TransferRefused
from mailclient.store import pending
from mailclient.store.mail import MailStore, TransferState
from tests.integration.answer_cutting_proxy import AnswerCuttingProxy
from tests.integration.imap_helpers import account, message, server_state, subjects
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers

SOURCE, TARGET = "carol", "bob"


@pytest.fixture
def servers(mail_servers: MailServers) -> MailServers:
    for user in (SOURCE, TARGET):
        mail_servers.reset_user(user)
    mail_servers.fill_maildir(SOURCE, "INBOX", (message(n) for n in range(1, 4)))
    mail_servers.append(SOURCE, "INBOX", message(9, "Flagged one"), ["\\Flagged", "Invoice"])
    mail_servers.append(TARGET, "Archive", message(100, "Already there"))
    return mail_servers


@pytest.fixture
def proxy(servers: MailServers) -> Iterator[CuttableProxy]:
    """The target account's server, reachable or not."""
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    yield proxy
    proxy.close()


class Profile:
    """Two accounts in one store: "src" (carol) and "dst" (bob, behind a proxy)."""

    def __init__(self, servers: MailServers, target_port: int, path: Path) -> None:
        self.servers = servers
        self.store = MailStore.open(path)
        self.accounts = {
            "src": account(servers, SOURCE, name="src"),
            "dst": account(servers, TARGET, target_port, name="dst"),
        }
        self.source = self.engine("src")
        self.target = self.engine("dst")

    def engine(self, name: str) -> AccountSync:
        user = SOURCE if name == "src" else TARGET
        return AccountSync(
            self.accounts[name],
            FixedPassword(self.servers.user(user).password),
            self.store,
            SyncOptions(attempts=1),
            connect_other=self.connect,
        )

    def connect(self, name: str) -> ImapSession:
        other: Account = self.accounts[name]
        user = SOURCE if name == "src" else TARGET
        return ImapSession.connect(other, FixedPassword(self.servers.user(user).password))

    def folder(self, account_name: str, name: str) -> int:
        found = self.store.folder_by_name(account_name, name)
        assert found is not None
        return found.id

    def close(self) -> None:
        self.source.close()
        self.target.close()
        self.store.close()


@pytest.fixture
def profile(servers: MailServers, proxy: CuttableProxy, tmp_path: Path) -> Iterator[Profile]:
    p = Profile(servers, proxy.port, tmp_path / "mail.sqlite3")
    p.source.sync()
    p.target.sync()
    yield p
    p.close()


def _server_subjects(servers: MailServers, user: str, folder: str) -> list[str]:
    with servers.imap(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        found = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    return sorted(
        v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        for v in found.values()
    )


def test_a_move_appends_there_with_its_flags_then_deletes_here(profile: Profile) -> None:
    store, servers = profile.store, profile.servers
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    # By subject: UIDs go on from the mail earlier tests of this process gave carol.
    summaries = store.summaries(store.message_ids(inbox))
    flagged = next(s for s in summaries if s.subject == "Flagged one")
    assert store.record_transfer([flagged.id], archive, copy=False) == 1
    # Gone from the list at once, still on the server until the move is done.
    assert "Flagged one" not in subjects(store, "src", "INBOX")
    assert "Flagged one" in _server_subjects(servers, SOURCE, "INBOX")
    assert profile.source.send_pending() == []
    # Stored in the target folder from APPENDUID: no sync of it is asked for.
    assert profile.source.transferred_to == set()
    assert sorted(subjects(store, "dst", "Archive")) == ["Already there", "Flagged one"]
    assert _server_subjects(servers, TARGET, "Archive") == ["Already there", "Flagged one"]
    assert "Flagged one" not in _server_subjects(servers, SOURCE, "INBOX")
    moved = max(server_state(servers, TARGET, "Archive").items())[1]
    assert {"\\Flagged", "Invoice"} <= moved
    assert store.pending_transfers() == [] and store.locations([flagged.id]) == []
    [result] = profile.target.sync(["Archive"])
    assert result.new == 0  # the sync finds the store as the server is
    assert sorted(subjects(store, "dst", "Archive")) == ["Already there", "Flagged one"]


def test_a_copy_keeps_the_message_here(profile: Profile) -> None:
    store, servers = profile.store, profile.servers
    inbox, target_inbox = profile.folder("src", "INBOX"), profile.folder("dst", "INBOX")
    ids = store.message_ids(inbox)
    store.record_transfer(ids[:2], target_inbox, copy=True)
    assert len(subjects(store, "src", "INBOX")) == 4
    profile.source.send_pending()
    assert len(_server_subjects(servers, TARGET, "INBOX")) == 2
    assert len(_server_subjects(servers, SOURCE, "INBOX")) == 4
    assert store.pending_transfers() == []


def test_an_append_whose_answer_was_lost_is_not_made_twice(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, servers = profile.store, profile.servers
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    [newest] = store.message_ids(inbox)[:1]
    store.record_transfer([newest], archive, copy=False)
    real_append = ImapSession.append

    def append_then_lose_the_answer(self: ImapSession, *args: object, **kw: object) -> None:
        real_append(self, *args, **kw)  # type: ignore[arg-type]
        self.abort()
        raise CannotConnect("the connection broke before the answer")

    monkeypatch.setattr(ImapSession, "append", append_then_lose_the_answer)
    with pytest.raises(CannotConnect):
        profile.source.send_pending()
    [waiting] = store.pending_transfers()
    assert waiting.state is TransferState.APPENDING
    monkeypatch.setattr(ImapSession, "append", real_append)
    # As after a restart: a new store connection and engine read where it got to.
    profile.source.close()
    profile.source = profile.engine("src")
    assert profile.source.send_pending() == []
    assert _server_subjects(servers, TARGET, "Archive").count("Flagged one") == 1
    assert "Flagged one" not in _server_subjects(servers, SOURCE, "INBOX")
    assert store.pending_transfers() == []


def test_a_lost_append_is_made_again_when_only_another_message_id_holds_its_own(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SEARCH HEADER matches parts of a header: a message whose Message-ID is "100" (a
    sender writes what it likes there) is not taken for the one whose Message-ID holds
    "100" (<m100@example.org>), or the move would delete it here without a copy there."""
    store, servers = profile.store, profile.servers
    servers.append(
        SOURCE,
        "INBOX",
        b"From: x@example.org\r\nSubject: Odd id\r\nMessage-ID: 100\r\n\r\nHi\r\n",
    )
    profile.source.sync(["INBOX"])
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    [odd] = [s.id for s in store.summaries(store.message_ids(inbox)) if s.subject == "Odd id"]
    store.record_transfer([odd], archive, copy=False)
    real_append = ImapSession.append

    def cut_before_the_append(self: ImapSession, *args: object, **kw: object) -> None:
        self.abort()
        raise CannotConnect("the connection broke before the answer")

    monkeypatch.setattr(ImapSession, "append", cut_before_the_append)
    with pytest.raises(CannotConnect):
        profile.source.send_pending()
    monkeypatch.setattr(ImapSession, "append", real_append)
    assert profile.source.send_pending() == []
    assert _server_subjects(servers, TARGET, "Archive") == ["Already there", "Odd id"]
    assert "Odd id" not in _server_subjects(servers, SOURCE, "INBOX")


def test_while_the_other_server_is_away_the_move_waits_then_goes(
    profile: Profile, proxy: CuttableProxy
) -> None:
    store, servers = profile.store, profile.servers
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    ids = store.message_ids(inbox)[:2]
    store.record_transfer(ids, archive, copy=False)
    proxy.refuse = True
    proxy.cut_all()
    with pytest.raises(CannotConnect):
        profile.source.send_pending()
    # Nothing lost: still on the source server, waiting in the store.
    assert len(_server_subjects(servers, SOURCE, "INBOX")) == 4
    assert [t.state for t in store.pending_transfers()] == [TransferState.WAITING] * 2
    # A sync of the source account meanwhile neither fails nor brings them back.
    results = profile.source.sync()
    assert not any(r.error for r in results)
    assert len(subjects(store, "src", "INBOX")) == 2
    proxy.refuse = False
    profile.source.sync()
    assert store.pending_transfers() == []
    assert len(_server_subjects(servers, SOURCE, "INBOX")) == 2
    assert len(_server_subjects(servers, TARGET, "Archive")) == 3


def test_a_target_folder_that_went_refuses_and_shows_the_message_again(
    profile: Profile,
) -> None:
    store = profile.store
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    [newest] = store.message_ids(inbox)[:1]
    store.record_transfer([newest], archive, copy=False)
    store.delete_folder(archive)
    [refused] = profile.source.send_pending()
    assert "no longer exists" in str(refused)
    assert newest in store.message_ids(inbox)
    assert len(_server_subjects(profile.servers, SOURCE, "INBOX")) == 4


def test_a_target_folder_deleted_on_its_server_refuses_and_the_next_transfer_goes(
    profile: Profile,
) -> None:
    """Another client deleted the target folder; the store still lists it. The server's
    NO [TRYCREATE] to the APPEND refuses that transfer for good: the moved message shows
    where it was again, and the transfers behind it go, now and at every later sync."""
    store, servers = profile.store, profile.servers
    servers.append(TARGET, "Projects", message(200, "Project plan"))
    profile.target.sync()
    inbox, projects = profile.folder("src", "INBOX"), profile.folder("dst", "Projects")
    target_inbox = profile.folder("dst", "INBOX")
    moved, copied = store.message_ids(inbox)[:2]
    store.record_transfer([moved], projects, copy=False)
    store.record_transfer([copied], target_inbox, copy=True)
    with servers.imap(TARGET) as client:
        client.delete_folder("Projects")
    [refused] = profile.source.send_pending()
    assert isinstance(refused, TransferRefused)
    assert "Moving a message to dst/Projects was undone" in str(refused)
    assert "TRYCREATE" in str(refused)  # the server's reason
    assert moved in store.message_ids(inbox)
    assert len(_server_subjects(servers, SOURCE, "INBOX")) == 4
    assert len(_server_subjects(servers, TARGET, "INBOX")) == 1  # the copy behind it went
    assert store.pending_transfers() == []
    # Tried once only: a later send and a sync neither fail nor try it again.
    assert profile.source.send_pending() == []
    assert not any(r.error for r in profile.source.sync())
    assert moved in store.message_ids(inbox)
    assert len(_server_subjects(servers, SOURCE, "INBOX")) == 4


def _claimed_until(store: MailStore) -> float:
    with sqlite3.connect(store.path) as db:
        [(until,)] = db.execute("SELECT claimed_until FROM pending_transfers").fetchall()
    assert until is not None
    return float(until)


def test_an_append_that_outlasts_the_claim_time_is_not_made_again_by_the_other_sender(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big message on a slow line: the APPEND runs longer than a claim lasts. The other
    sender of the account (the window's other lane, the command line) must not take the
    transfer meanwhile and append it a second time."""
    store, servers = profile.store, profile.servers
    monkeypatch.setattr(pending, "CLAIM_SECONDS", 3.0)
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    [newest] = store.message_ids(inbox)[:1]
    subject = store.summaries([newest])[0].subject
    store.record_transfer([newest], archive, copy=False)
    appending, go_on = threading.Event(), threading.Event()
    real_append = ImapSession.append

    def slow_on_the_first_lane(self: ImapSession, *args: object, **kw: object) -> object:
        if threading.current_thread() is first_lane:
            appending.set()
            go_on.wait(60)
        return real_append(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ImapSession, "append", slow_on_the_first_lane)
    failures: list[BaseException] = []

    def send_on_the_first_lane() -> None:
        own = MailStore.open(store.path)  # a lane has its own connection to the store
        engine = AccountSync(
            profile.accounts["src"],
            FixedPassword(servers.user(SOURCE).password),
            own,
            SyncOptions(attempts=1),
            connect_other=profile.connect,
        )
        try:
            engine.send_pending()
        except BaseException as error:
            failures.append(error)
        finally:
            engine.close()
            own.close()

    first_lane = threading.Thread(target=send_on_the_first_lane)
    first_lane.start()
    try:
        assert appending.wait(60)
        first_claim = _claimed_until(store)
        while time.time() <= first_claim + 0.5:  # the claim first taken has run out
            time.sleep(0.1)
        assert profile.source.send_pending() == []  # the second lane
    finally:
        go_on.set()
        first_lane.join(60)
    assert failures == []
    assert _server_subjects(servers, TARGET, "Archive").count(subject) == 1
    assert subject not in _server_subjects(servers, SOURCE, "INBOX")
    assert store.pending_transfers() == []


NO_ID = (
    b"From: Ann <ann@example.org>\r\nTo: carol@example.org\r\nSubject: No id\r\n"
    b"Date: Mon, 03 Jun 2024 09:00:00 +0000\r\n\r\nA message without a Message-ID.\r\n"
)


@pytest.fixture
def cutting(servers: MailServers) -> Iterator[AnswerCuttingProxy]:
    """The target account's server, whose answers to chosen commands can be lost."""
    proxy = AnswerCuttingProxy((servers.host, servers.imap_port), servers.certs)
    yield proxy
    proxy.close()


@pytest.fixture
def no_id_profile(
    servers: MailServers, cutting: AnswerCuttingProxy, tmp_path: Path
) -> Iterator[Profile]:
    """The profile, with a message without a Message-ID in the source's INBOX."""
    servers.append(SOURCE, "INBOX", NO_ID)
    p = Profile(servers, cutting.port, tmp_path / "mail.sqlite3")
    p.source.sync()
    p.target.sync()
    yield p
    p.close()


def _record_no_id_move(profile: Profile) -> None:
    store = profile.store
    inbox, archive = profile.folder("src", "INBOX"), profile.folder("dst", "Archive")
    [no_id] = [s for s in store.summaries(store.message_ids(inbox)) if s.subject == "No id"]
    assert no_id.message_id == ""
    store.record_transfer([no_id.id], archive, copy=False)


def test_an_append_without_message_id_whose_answer_was_lost_is_not_made_twice(
    no_id_profile: Profile, cutting: AnswerCuttingProxy
) -> None:
    """Nothing to search the target for by Message-ID: the message itself is looked for."""
    profile, servers = no_id_profile, no_id_profile.servers
    _record_no_id_move(profile)
    cutting.cut_at = b"APPEND"
    with pytest.raises(CannotConnect):
        profile.source.send_pending()
    assert cutting.cuts == 1
    assert _server_subjects(servers, TARGET, "Archive") == ["Already there", "No id"]
    [waiting] = profile.store.pending_transfers()
    assert waiting.state is TransferState.APPENDING
    assert profile.source.send_pending() == []
    assert _server_subjects(servers, TARGET, "Archive") == ["Already there", "No id"]
    assert "No id" not in _server_subjects(servers, SOURCE, "INBOX")
    assert profile.store.pending_transfers() == []


def test_a_lost_append_without_message_id_is_made_again_when_only_a_look_alike_is_there(
    no_id_profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message of the same size, sender, subject and date (a notice sent every day, say)
    is not taken for the one whose APPEND never arrived: the move would delete it here with
    no copy there."""
    profile, servers = no_id_profile, no_id_profile.servers
    servers.append(TARGET, "Archive", NO_ID.replace(b"without", b"wishout"))
    _record_no_id_move(profile)
    real_append = ImapSession.append

    def cut_before_the_append(self: ImapSession, *args: object, **kw: object) -> None:
        self.abort()
        raise CannotConnect("the connection broke before the answer")

    monkeypatch.setattr(ImapSession, "append", cut_before_the_append)
    with pytest.raises(CannotConnect):
        profile.source.send_pending()
    monkeypatch.setattr(ImapSession, "append", real_append)
    assert profile.source.send_pending() == []
    assert _server_subjects(servers, TARGET, "Archive") == ["Already there", "No id", "No id"]
    assert "No id" not in _server_subjects(servers, SOURCE, "INBOX")
