"""Sending through the real Postfix into Dovecot: `mailclient send`, the outbox, Sent."""

from __future__ import annotations

import os
import smtplib
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import SignIn
from mailclient.core.models import SEEN
from mailclient.core.outgoing import OutboxState, OutgoingMessage, SentCopy
from mailclient.imap.append import SentFolder
from mailclient.smtp.client import open_smtp
from mailclient.smtp.sender import OutboxSender, Outcome
from mailclient.store.outbox import Outbox
from tests.integration.sending import SendingProfile, by_message_id, make_profile, parse
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers

EXIT_QUEUED = 75


pytestmark = pytest.mark.usefixtures("secret_service")


@pytest.fixture
def alice(tmp_path: Path, servers: MailServers) -> SendingProfile:
    return make_profile(tmp_path / "profile", servers)


def test_message_with_attachments_reaches_every_recipient_and_sent(
    alice: SendingProfile, servers: MailServers, tmp_path: Path
) -> None:
    pdf = os.urandom(150_000)
    image = b"\x89PNG\r\n\x1a\n" + os.urandom(40_000) + b"\r\n.\r\n" + bytes(range(256))
    (tmp_path / "Bericht Größe.pdf").write_bytes(pdf)
    (tmp_path / "photo.png").write_bytes(image)
    body = tmp_path / "body.txt"
    body.write_text("Hallo Bob,\n\nanbei der Bericht.\n.\nGrüße, Alice\n")
    subject = "Grüße aus Köln: der Bericht 📎"

    result = alice.cli(
        "send",
        "--account",
        "alice",
        "--to",
        "Bob <bob@example.org>",
        "--cc",
        "carol@example.org",
        "--bcc",
        "alice@example.org",
        "--subject",
        subject,
        "--body-file",
        str(body),
        "--attach",
        str(tmp_path / "Bericht Größe.pdf"),
        str(tmp_path / "photo.png"),
    )
    assert result.returncode == 0, result.stderr
    assert "was accepted for bob@example.org, carol@example.org, alice@example.org" in (
        result.stdout
    )

    copies = {user: servers.wait_for_messages(user, 1) for user in ("bob", "carol", "alice")}
    for user, messages in copies.items():
        assert len(messages) == 1, user
        message = parse(messages[0])
        assert message["Subject"] == subject
        assert [a.addr_spec for a in message["To"].addresses] == ["bob@example.org"]
        assert [a.addr_spec for a in message["Cc"].addresses] == ["carol@example.org"]
        assert message["Bcc"] is None, "Bcc must stay invisible"
        assert b"\nBcc:" not in messages[0] and b"\nbcc:" not in messages[0].lower()
        assert message["From"].addresses[0].display_name == "Alice"
        text = message.get_body(("plain",))
        assert text is not None
        assert text.get_content().replace("\r\n", "\n") == body.read_text()
        attachments = list(message.iter_attachments())
        assert [a.get_filename() for a in attachments] == ["Bericht Größe.pdf", "photo.png"]
        assert [a.get_content_type() for a in attachments] == ["application/pdf", "image/png"]
        assert [a.get_payload(decode=True) for a in attachments] == [pdf, image]

    message_id = parse(copies["bob"][0])["Message-ID"]
    sent = servers.fetch_all("alice", "Sent")
    assert [parse(raw)["Message-ID"] for raw in sent] == [message_id]
    # Only the sender's own copy says who got it in secret.
    assert [a.addr_spec for a in parse(sent[0])["Bcc"].addresses] == ["alice@example.org"]
    assert parse(sent[0])["Subject"] == subject and parse(sent[0]).is_multipart()
    with servers.imap("alice") as client:
        client.select_folder("Sent", readonly=True)
        flags = client.get_flags(client.search("ALL"))
        assert [SEEN.encode() in f for f in flags.values()] == [True]
    assert alice.cli("outbox", "list").stdout == "The outbox is empty.\n"


def test_unreachable_server_queues_then_flush_delivers_once(
    alice: SendingProfile, servers: MailServers
) -> None:
    servers.stop_smtp()
    try:
        result = alice.cli(
            "send",
            "--account",
            "alice",
            "--to",
            "bob@example.org",
            "--subject",
            "Later",
            stdin="Sent while the server was down.\n",
        )
        assert result.returncode == EXIT_QUEUED, result.stderr
        assert "is not sent yet" in result.stderr
        assert "Cannot connect to the SMTP server" in result.stderr
        assert "Traceback" not in result.stderr
        listing = alice.cli("outbox", "list").stdout
        assert "\tqueued\talice\tLater\tto bob@example.org" in listing
        assert "attempts: 1" in listing
        again = alice.cli("outbox", "flush")
        assert again.returncode == EXIT_QUEUED
    finally:
        servers.start_smtp()

    flushed = alice.cli("outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert "was accepted for bob@example.org" in flushed.stdout
    assert alice.cli("outbox", "list").stdout == "The outbox is empty.\n"
    assert alice.cli("outbox", "flush").stdout.startswith("Nothing to send")
    servers.wait_for_messages("bob", 1)
    # Give a duplicate every chance to arrive before counting.
    inbox = servers.wait_for_messages("bob", 2, timeout=1.0)
    assert [parse(raw)["Subject"] for raw in inbox] == ["Later"]
    assert len(servers.fetch_all("alice", "Sent")) == 1


def test_wrong_password_fails_with_its_own_message(tmp_path: Path, servers: MailServers) -> None:
    profile = make_profile(tmp_path / "p", servers, smtp_password="wrong")
    result = profile.cli(
        "send", "--account", "alice", "--to", "bob@example.org", "--subject", "x", stdin="x\n"
    )
    assert result.returncode == 1
    assert "The SMTP server 127.0.0.1 rejected the password for alice@example.org" in result.stderr
    assert "outbox retry 1" in result.stderr
    assert "Traceback" not in result.stderr
    (item,) = profile.sender().items()
    assert item.state is OutboxState.FAILED
    # Fixed password, then the user's retry goes through.
    profile.credentials.set_password("alice", "smtp", servers.user("alice").password)
    retried = profile.cli("outbox", "retry", str(item.id))
    assert retried.returncode == 0, retried.stderr
    assert len(servers.wait_for_messages("bob", 1)) == 1


def test_rejected_recipient_fails_in_the_servers_words(
    alice: SendingProfile, servers: MailServers
) -> None:
    result = alice.cli(
        "send",
        "--account",
        "alice",
        "--to",
        "nobody@example.org",
        "--subject",
        "x",
        stdin="x\n",
    )
    assert result.returncode == 1
    assert "nobody@example.org: 550 5.1.1 <nobody@example.org>: Recipient address rejected" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    # With one good recipient the message goes out, and the refusal is still reported.
    mixed = alice.cli(
        "send",
        "--account",
        "alice",
        "--to",
        "bob@example.org",
        "--to",
        "nobody@example.org",
        "--subject",
        "mixed",
        stdin="x\n",
    )
    assert mixed.returncode == 1
    assert "was accepted for bob@example.org" in mixed.stdout
    assert "refused some recipients" in mixed.stderr
    assert "nobody@example.org: 550 5.1.1" in mixed.stderr
    assert [parse(m)["Subject"] for m in servers.wait_for_messages("bob", 1)] == ["mixed"]


@pytest.mark.parametrize(
    "args",
    [
        ["--subject", "Hi\r\nBcc: carol@example.org"],
        ["--subject", "Hi", "--cc", "bob@example.org\nBcc: carol@example.org"],
    ],
)
def test_header_injection_is_refused(
    alice: SendingProfile, servers: MailServers, args: list[str]
) -> None:
    result = alice.cli("send", "--account", "alice", "--to", "bob@example.org", *args, stdin="x\n")
    assert result.returncode == 1
    assert "must not contain line breaks" in result.stderr
    assert alice.cli("outbox", "list").stdout == "The outbox is empty.\n"
    assert servers.fetch_all("carol") == [] and servers.fetch_all("bob") == []


def test_failed_sent_copy_is_saved_later_without_a_resend(
    tmp_path: Path, servers: MailServers
) -> None:
    with socket.socket() as unused:  # a port nobody listens on, for the IMAP side only
        unused.bind((servers.host, 0))
        dead_port = unused.getsockname()[1]
    profile = make_profile(tmp_path / "p", servers, imap_port=dead_port)
    result = profile.cli(
        "send", "--account", "alice", "--to", "bob@example.org", "--subject", "copy", stdin="x\n"
    )
    assert result.returncode == 0, result.stderr
    assert "The copy for the Sent folder was not saved: Cannot connect to the IMAP server" in (
        result.stderr
    )
    (item,) = profile.sender().items()
    assert (item.state, item.sent_copy) == (OutboxState.SENT, SentCopy.PENDING)
    profile.accounts.update("alice", replace(profile.account, imap_port=servers.imaps_port))
    flushed = profile.cli("outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert flushed.stdout == f"Message {item.id}: the copy is now saved in the Sent folder.\n"
    assert profile.sender().items() == []
    assert [parse(raw)["Subject"] for raw in servers.fetch_all("alice", "Sent")] == ["copy"]
    assert len(servers.wait_for_messages("bob", 2, timeout=1.0)) == 1  # sent once only


def test_sent_folder_is_created_when_missing(tmp_path: Path, servers: MailServers) -> None:
    # A Dovecot on the same mail storage whose namespace defines no Sent folder.
    bare = servers.start_dovecot(
        "namespace inbox {\n  mailbox Sent {\n    auto = no\n    special_use =\n  }\n}\n"
    )
    try:
        assert bare.imaps_port is not None
        carol = servers.user("carol")
        with IMAPClient(servers.host, bare.imaps_port, ssl_context=servers.ssl_context()) as c:
            c.login(carol.username, carol.password)
            if c.folder_exists("Sent"):  # an earlier test may have stored mail there
                c.delete_folder("Sent")
        profile = make_profile(tmp_path / "p", servers, "carol", imap_port=bare.imaps_port)
        sender = profile.sender()
        item = sender.enqueue(
            "carol",
            OutgoingMessage(sender=profile.account.sender, to=("bob@example.org",), subject="s"),
        )
        assert [c.saved for c in sender.flush().copies] == [True]
        sent = servers.fetch_all("carol", "Sent")
        assert [parse(raw)["Message-ID"] for raw in sent] == [item.message_id]
    finally:
        bare.stop()


def test_batch_over_implicit_tls_with_the_api(tmp_path: Path, servers: MailServers) -> None:
    profile = make_profile(tmp_path / "p", servers, "bob", security=Security.SSL)
    sender = profile.sender()
    ids = [
        sender.enqueue(
            "bob",
            OutgoingMessage(
                sender=profile.account.sender,
                to=("alice@example.org",),
                subject=f"batch {n}",
                body=f"message {n}",
            ),
        ).id
        for n in range(5)
    ]
    report = sender.flush()
    assert [(r.item_id, r.outcome) for r in report.results] == [(i, Outcome.SENT) for i in ids]
    assert [c.saved for c in report.copies] == [True] * 5
    inbox = servers.wait_for_messages("alice", 5)
    assert sorted(parse(m)["Subject"] for m in inbox) == [f"batch {n}" for n in range(5)]
    assert by_message_id(servers.fetch_all("bob", "Sent")) == {
        r.message_id: 1 for r in report.results
    }
    assert sender.items() == []


def _small_send_buffer(account: Account, password: str) -> smtplib.SMTP:
    """open_smtp with a small fixed send buffer: the kernel cannot take the whole message
    ahead of the proxy, so a cut in the data is seen while the data is being written."""
    smtp = open_smtp(account, password)
    smtp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16_384)
    return smtp


def test_a_cut_in_the_middle_of_the_data_is_not_taken_for_a_delivery(
    tmp_path: Path, servers: MailServers
) -> None:
    proxy = CuttableProxy((servers.host, servers.submission_port), receive_buffer=16_384)
    try:
        profile = make_profile(tmp_path / "p", servers, smtp_port=proxy.port)
        sender = OutboxSender(
            profile.store_path,
            profile.accounts.get,
            SignIn(profile.credentials),
            SentFolder.open,
            connect_smtp=_small_send_buffer,
        )
        body = "".join(f"line {n:06d} of a long report\n" for n in range(15_000))
        item = sender.enqueue(
            "alice",
            OutgoingMessage(
                sender=profile.account.sender, to=("bob@example.org",), subject="long", body=body
            ),
        )
        assert item.size > 420_000
        proxy.cut_upstream_after = 200_000
        report = sender.flush()
        assert proxy.cuts == 1
        (result,) = report.results
        assert (result.outcome, result.maybe_sent) == (Outcome.QUEUED, False), result.error
        assert "may have been delivered" not in result.error
        (waiting,) = sender.items()
        assert waiting.state is OutboxState.QUEUED and not waiting.maybe_sent
        assert servers.wait_for_messages("bob", 1, timeout=1.0) == []

        again = sender.flush(ignore_schedule=True)
        assert [(r.outcome, r.maybe_sent) for r in again.results] == [(Outcome.SENT, False)]
        assert [parse(raw)["Subject"] for raw in servers.wait_for_messages("bob", 1)] == ["long"]
    finally:
        proxy.close()


def test_a_message_that_may_have_gone_is_announced_again_when_it_is_sent(
    alice: SendingProfile, servers: MailServers
) -> None:
    item = alice.sender().enqueue(
        "alice",
        OutgoingMessage(sender=alice.account.sender, to=("bob@example.org",), subject="twice?"),
    )
    # A sender died after the end of the data had gone out.
    outbox = Outbox.open(alice.store_path)
    try:
        outbox.claim([item.id])
        outbox.mark_data_ending(item.id)
    finally:
        outbox.close()

    first = alice.cli("outbox", "list")
    assert "may already have been sent" not in first.stdout  # still `sending` until recovered
    flushed = alice.cli("outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert "was accepted for bob@example.org" in flushed.stdout
    assert flushed.stderr.count("may already have been sent") == 1, flushed.stderr

    # Left waiting instead (the server is down), the warning is repeated when it goes.
    item = alice.sender().enqueue(
        "alice",
        OutgoingMessage(sender=alice.account.sender, to=("bob@example.org",), subject="again?"),
    )
    outbox = Outbox.open(alice.store_path)
    try:
        outbox.claim([item.id])
        outbox.mark_data_ending(item.id)
        (recovered,) = outbox.recover_interrupted()
        assert recovered.maybe_sent
    finally:
        outbox.close()
    sent = alice.cli("outbox", "flush")
    assert sent.returncode == 0, sent.stderr
    assert f"Message {item.id} (again?) may already have been sent" in sent.stderr
    assert "recipients may receive it twice" in sent.stderr
