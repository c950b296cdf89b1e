"""The outbox sender against a scripted SMTP server and a fake Sent folder."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailclient.accounts.credentials import SERVICES, CredentialStore
from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator, PasswordAuthenticator
from mailclient.core.errors import (
    AccountNotFound,
    AuthenticationFailed,
    CannotConnect,
    InvalidInput,
)
from mailclient.core.outgoing import OutboxState, OutgoingMessage, SentCopy
from mailclient.smtp.sender import OutboxSender, Outcome, SendResult
from mailclient.store.outbox import Outbox, SenderBusy, SenderLock
from tests.support.memory_keyring import MemoryKeyring
from tests.unit.fake_smtp import FakeSmtpServer

ACCOUNT = Account(name="work", email="ann@example.org", imap_host="h", smtp_host="smtp.test")


class Passwords:
    """Each account's stored passwords, one per server."""

    def authenticator(self, account: Account) -> PasswordAuthenticator:
        keyring = MemoryKeyring()
        credentials = CredentialStore(keyring, profile_id="test")
        for service in SERVICES:
            credentials.set_password(account.name, service, f"{account.name}-{service}-secret")
        return PasswordAuthenticator(account, credentials)


class FakeSentFolder:
    def __init__(self, world: World) -> None:
        self.world = world

    def append(self, raw: bytes, message_id: str, *, may_exist: bool = False) -> None:
        if self.world.sent_folder_down:
            raise CannotConnect("The IMAP server is down.")
        self.world.appended.append((message_id, may_exist))
        self.world.copies.append(raw)

    def close(self) -> None:
        self.world.sent_folder_closed += 1


class World:
    """The sender with its surroundings: a scripted SMTP server, accounts, a Sent folder."""

    def __init__(self, path: Path, server: FakeSmtpServer) -> None:
        self.path = path
        self.server = server
        self.accounts = {"work": ACCOUNT}
        self.appended: list[tuple[str, bool]] = []
        self.copies: list[bytes] = []
        self.sent_folder_down = False
        self.sent_folder_closed = 0
        self.connect_error: Exception | None = None
        self.logins: list[str] = []
        self.now = 1_700_000_000.0
        self.sender = OutboxSender(
            path,
            self.account,
            Passwords(),
            lambda account, password: FakeSentFolder(self),
            connect_smtp=self.connect,
            clock=lambda: self.now,
        )

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            raise AccountNotFound(name) from None

    def connect(self, account: Account, auth: Authenticator) -> smtplib.SMTP:
        self.logins.append(auth.secret("smtp").value)
        if self.connect_error is not None:
            raise self.connect_error
        smtp = smtplib.SMTP("127.0.0.1", self.server.port, timeout=10)
        smtp.ehlo()
        return smtp

    def queue(self, n: int = 1, **changes: object) -> int:
        values: dict[str, object] = {
            "sender": ACCOUNT.sender,
            "to": ("bob@example.org",),
            "subject": f"message {n}",
            "body": "hello",
        }
        values.update(changes)
        return self.sender.enqueue("work", OutgoingMessage(**values)).id  # type: ignore[arg-type]

    def outbox(self) -> Outbox:
        return Outbox.open(self.path, lambda: self.now)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    server = FakeSmtpServer()
    yield World(tmp_path / "mail.sqlite3", server)
    server.close()


def test_batch_goes_over_one_connection_and_is_copied_to_sent(world: World) -> None:
    ids = [world.queue(n) for n in range(3)]
    heard: list[tuple[SendResult, int]] = []
    report = world.sender.flush(on_result=lambda r: heard.append((r, len(world.server.received))))
    assert [(r.item_id, r.outcome) for r in report.results] == [(i, Outcome.SENT) for i in ids]
    # Each result is told as soon as its message is through, not at the end.
    assert heard == [(r, n + 1) for n, r in enumerate(report.results)]
    assert world.server.connections == 1
    assert world.logins == ["work-smtp-secret"]
    assert len(world.server.received) == 3
    message_ids = [r.message_id for r in report.results]
    assert world.appended == [(m, False) for m in message_ids]
    assert [c.saved for c in report.copies] == [True] * 3
    assert world.sent_folder_closed == 1
    assert world.sender.items() == []


def test_message_queued_during_a_flush_goes_with_it(world: World) -> None:
    first = world.queue(1)
    later: list[int] = []

    def queue_another(result: SendResult) -> None:
        if not later:
            later.append(world.queue(2))

    report = world.sender.flush(on_result=queue_another)
    assert [r.item_id for r in report.results] == [first, *later]
    assert world.server.connections == 2
    assert world.sender.items() == []


def test_server_that_files_sent_mail_itself_gets_no_append(world: World) -> None:
    world.accounts["work"] = replace(ACCOUNT, server_saves_sent=True)
    world.queue()
    assert world.sender.flush().results[0].outcome is Outcome.SENT
    assert world.appended == []
    assert world.sender.items() == []


def test_unknown_account_or_bad_message_is_never_queued(world: World) -> None:
    with pytest.raises(AccountNotFound):
        world.sender.enqueue("nope", OutgoingMessage(sender="a@x.org", to=("b@x.org",)))
    with pytest.raises(InvalidInput):
        world.queue(subject="x\r\nBcc: victim@example.org")
    assert world.sender.items() == []


def test_unreachable_server_keeps_the_message_queued_with_backoff(world: World) -> None:
    world.connect_error = CannotConnect("Cannot connect to the SMTP server smtp.test:587.")
    item_id = world.queue()
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.QUEUED
    assert "Cannot connect" in result.error
    (item,) = world.sender.items()
    assert (item.state, item.attempts) == (OutboxState.QUEUED, 1)
    assert world.sender.flush().results == []  # not due before its backoff
    world.now += 60
    world.connect_error = None
    assert world.sender.flush().result(item_id) is not None
    assert len(world.server.received) == 1
    assert world.sender.items() == []


def test_wrong_password_fails_for_good_until_retried(world: World) -> None:
    world.connect_error = AuthenticationFailed("The SMTP server rejected the password.")
    item_id = world.queue()
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.FAILED
    assert world.sender.flush(ignore_schedule=True).results == []
    world.connect_error = None
    (retried,) = world.sender.retry(item_id).results
    assert retried.outcome is Outcome.SENT


def test_refused_recipient_fails_with_the_servers_words(world: World) -> None:
    world.server.script.rcpt_replies = {"nobody@example.org": (550, "5.1.1 User unknown")}
    world.queue(to=("nobody@example.org",))
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.FAILED
    assert "nobody@example.org: 550 5.1.1 User unknown" in result.error
    (item,) = world.sender.items()
    assert item.state is OutboxState.FAILED
    assert [str(r) for r in item.refused] == ["nobody@example.org: 550 5.1.1 User unknown"]


def test_partly_refused_message_is_sent_to_the_others(world: World) -> None:
    world.server.script.rcpt_replies = {"nobody@example.org": (550, "5.1.1 User unknown")}
    world.queue(to=("bob@example.org", "nobody@example.org"))
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.SENT
    assert result.accepted == ("bob@example.org",)
    assert [str(r) for r in result.refused] == ["nobody@example.org: 550 5.1.1 User unknown"]
    assert world.sender.items() == []


def test_recipient_refused_for_now_gets_only_the_retry(world: World) -> None:
    world.server.script.rcpt_replies = {"full@example.org": (452, "4.2.2 Mailbox full")}
    world.queue(to=("bob@example.org", "full@example.org"))
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.QUEUED
    assert result.accepted == ("bob@example.org",)
    (item,) = world.sender.items()
    assert item.recipients == ("full@example.org",)
    assert item.sent_copy is SentCopy.DONE  # the copy was saved once already
    world.server.script.rcpt_replies = {}
    world.now += 60
    (again,) = world.sender.flush().results
    assert again.outcome is Outcome.SENT
    assert [r.recipients for r in world.server.received] == [
        ["bob@example.org"],
        ["full@example.org"],
    ]
    assert len(world.appended) == 1
    assert world.sender.items() == []


def test_failed_sent_copy_is_retried_and_never_resends(world: World) -> None:
    world.sent_folder_down = True
    world.queue()
    report = world.sender.flush()
    assert report.results[0].outcome is Outcome.SENT
    assert not report.copies[0].saved
    assert "IMAP server is down" in report.copies[0].error
    (item,) = world.sender.items()
    assert (item.state, item.sent_copy) == (OutboxState.SENT, SentCopy.PENDING)
    world.sent_folder_down = False
    assert world.sender.flush().copies == []  # the copy backs off too
    world.now += 60
    report = world.sender.flush()
    assert report.results == []
    assert [c.saved for c in report.copies] == [True]
    assert world.appended == [(item.message_id, True)]  # looked for an earlier copy first
    assert len(world.server.received) == 1
    assert world.sender.items() == []


def test_retry_saves_an_owed_copy_now(world: World) -> None:
    world.sent_folder_down = True
    item_id = world.queue()
    world.sender.flush()
    world.sent_folder_down = False
    report = world.sender.retry(item_id)  # no waiting for the copy's backoff
    assert report.results == []
    assert [(c.item_id, c.saved) for c in report.copies] == [(item_id, True)]
    assert len(world.server.received) == 1
    assert world.sender.items() == []


def test_message_left_sending_by_a_crash_is_recovered(world: World) -> None:
    first, second = world.queue(1), world.queue(2)
    outbox = world.outbox()
    outbox.claim([first])
    outbox.claim([second])
    outbox.mark_data_ending(second)
    outbox.close()
    report = world.sender.flush()
    assert {(i.id, i.maybe_sent) for i in report.recovered} == {(first, False), (second, True)}
    assert [(r.item_id, r.outcome, r.maybe_sent) for r in report.results] == [
        (first, Outcome.SENT, False),
        (second, Outcome.SENT, True),
    ]


def test_connection_lost_after_data_is_flagged_and_the_rest_wait(world: World) -> None:
    world.server.script.drop_after_data = True
    first, second = world.queue(1), world.queue(2)
    results = world.sender.flush().results
    assert [(r.item_id, r.outcome, r.maybe_sent) for r in results] == [
        (first, Outcome.QUEUED, True),
        (second, Outcome.QUEUED, False),
    ]
    assert "Not tried" in results[1].error
    assert [i.maybe_sent for i in world.sender.items()] == [True, False]


def test_one_sender_at_a_time(world: World) -> None:
    world.queue()
    lock = SenderLock(world.path)
    lock.acquire()
    try:
        with pytest.raises(SenderBusy):
            world.sender.flush(wait=0.1)
    finally:
        lock.release()
    assert world.server.received == []
    assert world.sender.flush().results[0].outcome is Outcome.SENT


def test_deleted_account_fails_its_messages(world: World) -> None:
    world.queue()
    del world.accounts["work"]
    (result,) = world.sender.flush().results
    assert result.outcome is Outcome.FAILED
    assert "no account named 'work'" in result.error


def test_delete_recovers_what_a_crash_left(world: World) -> None:
    item_id = world.queue()
    outbox = world.outbox()
    outbox.claim([item_id])
    outbox.close()
    assert world.sender.delete(item_id).id == item_id
    assert world.sender.items() == []


def test_the_sent_folder_gets_the_bcc_the_server_never_saw(world: World) -> None:
    world.sender.enqueue(
        "work",
        OutgoingMessage(
            sender="ann@example.org",
            to=("bob@example.org",),
            bcc=("Secret Sam <sam@example.org>",),
            subject="between us",
        ),
    )
    world.sender.flush()
    [received] = world.server.received
    assert received.recipients == ["bob@example.org", "sam@example.org"]
    assert b"Bcc" not in received.data and b"Sam" not in received.data
    [copy] = world.copies
    assert copy.startswith(b"Bcc: Secret Sam <sam@example.org>\r\n")
    assert copy.endswith(received.data.replace(b"\r\n..", b"\r\n."))
