"""The test rig itself: the servers behave like the real ones the client will meet."""

from __future__ import annotations

import fcntl
import imaplib
import smtplib
import ssl
import threading
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import keyring
import pytest
from imapclient import IMAPClient

from tests.rig import MailServers, SecretService
from tests.rig.imap_proxy import without_uidnext
from tests.support import alone
from tests.support.waiting import wait_until


def make_message(sender: str, recipient: str, subject: str, body: str = "Hello.\n") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@example.org>"
    message.set_content(body)
    return message.as_bytes()


def subjects(messages: list[bytes]) -> list[str]:
    return [BytesParser().parsebytes(raw, headersonly=True)["Subject"] for raw in messages]


def test_imaps_verifies_against_the_test_ca(servers: MailServers) -> None:
    alice = servers.users["alice"]
    context = ssl.create_default_context(cafile=str(servers.ca_file))
    with IMAPClient(servers.host, servers.imaps_port, ssl_context=context) as client:
        client.login(alice.username, alice.password)
        capabilities = client.capabilities()
        assert b"CONDSTORE" in capabilities and b"QRESYNC" in capabilities
        folders = {name: flags for flags, _sep, name in client.list_folders()}
        for name in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
            assert f"\\{name}".encode() in folders[name]

    untrusting = ssl.create_default_context()  # system CAs only: must not accept the rig's
    with pytest.raises(ssl.SSLCertVerificationError):
        IMAPClient(servers.host, servers.imaps_port, ssl_context=untrusting)


def test_imap_starttls_is_required_from_another_address(servers: MailServers) -> None:
    alice = servers.users["alice"]
    # 127.0.0.1 -> 127.0.0.2: Dovecot does not count this as a local (secure) connection.
    with IMAPClient(servers.alt_host, servers.imap_port, ssl=False) as client:
        capabilities = client.capabilities()
        assert b"STARTTLS" in capabilities and b"LOGINDISABLED" in capabilities
        with pytest.raises(imaplib.IMAP4.error, match=r"PRIVACYREQUIRED|disallowed"):
            client.login(alice.username, alice.password)
    with IMAPClient(servers.alt_host, servers.imap_port, ssl=False) as client:
        client.starttls(servers.ssl_context())
        client.login(alice.username, alice.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0


def test_imap_notls_port_offers_no_starttls(servers: MailServers) -> None:
    with IMAPClient(servers.host, servers.imap_notls_port, ssl=False) as client:
        assert b"STARTTLS" not in client.capabilities()


def test_submission_delivers_into_the_recipients_inbox(servers: MailServers) -> None:
    alice, bob = servers.users["alice"], servers.users["bob"]
    raw = make_message(alice.address, bob.address, "Over submission")
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        smtp.login(alice.username, alice.password)
        assert smtp.sendmail(alice.address, [bob.address], raw) == {}
    assert subjects(servers.wait_for_messages("bob", 1, timeout=5)) == ["Over submission"]


def test_smtps_delivers_too(servers: MailServers) -> None:
    alice, carol = servers.users["alice"], servers.users["carol"]
    raw = make_message(alice.address, carol.address, "Over SMTPS")
    with smtplib.SMTP_SSL(
        servers.host, servers.smtps_port, context=servers.ssl_context(), timeout=10
    ) as smtp:
        smtp.login(alice.username, alice.password)
        smtp.sendmail(alice.address, [carol.address], raw)
    assert subjects(servers.wait_for_messages("carol", 1, timeout=5)) == ["Over SMTPS"]


def test_unknown_recipient_is_refused(servers: MailServers) -> None:
    alice = servers.users["alice"]
    raw = make_message(alice.address, "nobody@example.org", "Lost")
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        smtp.login(alice.username, alice.password)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail(alice.address, ["nobody@example.org"], raw)
    code, _text = refused.value.recipients["nobody@example.org"]
    assert code == 550


def test_wrong_password_gets_535(servers: MailServers) -> None:
    alice = servers.users["alice"]
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as error:
            smtp.login(alice.username, "wrong")
    assert error.value.smtp_code == 535


def test_submission_requires_starttls_and_auth(servers: MailServers) -> None:
    alice, bob = servers.users["alice"], servers.users["bob"]
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        with pytest.raises(smtplib.SMTPSenderRefused):  # "530 Must issue a STARTTLS first"
            smtp.sendmail(alice.address, [bob.address], b"Subject: x\r\n\r\nx\r\n")
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # TLS but no AUTH
            smtp.sendmail(alice.address, [bob.address], b"Subject: x\r\n\r\nx\r\n")


def test_smtp_notls_port_offers_no_starttls(servers: MailServers) -> None:
    with smtplib.SMTP(servers.host, servers.smtp_notls_port, timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")


def test_smtp_stop_and_start_on_the_same_port(servers: MailServers) -> None:
    port = servers.submission_port
    servers.stop_smtp()
    try:
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP(servers.host, port, timeout=5)
    finally:
        servers.start_smtp()
    assert servers.submission_port == port
    alice, bob = servers.users["alice"], servers.users["bob"]
    with smtplib.SMTP(servers.host, port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        smtp.login(alice.username, alice.password)
        smtp.sendmail(
            alice.address, [bob.address], make_message(alice.address, bob.address, "Back")
        )
    assert subjects(servers.wait_for_messages("bob", 1, timeout=5)) == ["Back"]


def test_append_fetch_and_fill(servers: MailServers) -> None:
    uid = servers.append(
        "alice",
        "Drafts",
        make_message("a@example.org", "b@example.org", "Draft"),
        flags=[r"\Draft"],
    )
    assert uid >= 1
    assert subjects(servers.fetch_all("alice", "Drafts")) == ["Draft"]

    batch = [make_message("x@example.org", "alice@example.org", f"Bulk {i}") for i in range(200)]
    servers.fill_maildir("alice", "INBOX", batch, flags=[r"\Seen"])
    servers.fill_maildir("alice", "Lists/Python", batch[:3])
    assert subjects(servers.fetch_all("alice")) == [f"Bulk {i}" for i in range(200)]
    assert subjects(servers.fetch_all("alice", "Lists/Python")) == ["Bulk 0", "Bulk 1", "Bulk 2"]
    with servers.imap("alice") as client:
        client.select_folder("INBOX", readonly=True)
        assert client.search("UNSEEN") == []
        assert "Lists/Python" in [name for _flags, _sep, name in client.list_sub_folders()]

    servers.reset_user("alice")
    assert servers.fetch_all("alice") == []
    with servers.imap("alice") as client:
        names = {name for _flags, _sep, name in client.list_folders()}
    assert names == {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}


def test_second_dovecot_without_condstore(servers: MailServers) -> None:
    capabilities = (
        "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT NAMESPACE UIDPLUS LITERAL+ "
        "CHILDREN SPECIAL-USE MOVE"
    )
    other = servers.start_dovecot(f"imap_capability = {capabilities}\n")
    try:
        servers.append(
            "alice", "INBOX", make_message("x@example.org", "alice@example.org", "Shared")
        )
        alice = servers.users["alice"]
        with IMAPClient(
            servers.host, other.imaps_port, ssl_context=servers.ssl_context()
        ) as client:
            client.login(alice.username, alice.password)
            found = client.capabilities()
            assert b"CONDSTORE" not in found and b"QRESYNC" not in found
            assert client.select_folder("INBOX")[b"EXISTS"] == 1  # the same mail storage
    finally:
        other.stop()


def test_keyring_round_trip(secret_service: SecretService) -> None:
    keyring.set_password("mailclient-test", "alice", "s3cret")
    assert keyring.get_password("mailclient-test", "alice") == "s3cret"
    keyring.delete_password("mailclient-test", "alice")
    assert keyring.get_password("mailclient-test", "alice") is None
    assert secret_service.env["DBUS_SESSION_BUS_ADDRESS"].startswith("unix:")


def test_the_rewriting_proxy_takes_uidnext_out() -> None:
    assert without_uidnext(b"* OK [UIDNEXT 5] Predicted next UID\r\n") is None
    assert without_uidnext(b'* STATUS "a (b" (MESSAGES 2 UIDNEXT 5 UIDVALIDITY 9)\r\n') == (
        b'* STATUS "a (b" (MESSAGES 2 UIDVALIDITY 9)\r\n'
    )
    assert without_uidnext(b"* status INBOX (UIDNEXT 5 MESSAGES 2)\r\n") == (
        b"* status INBOX (MESSAGES 2)\r\n"
    )
    for kept in (b"* 3 EXISTS\r\n", b"* OK [UIDVALIDITY 9] Ok\r\n", b"a1 OK done\r\n"):
        assert without_uidnext(kept) == kept


def test_an_alone_test_waits_for_the_running_ones_and_holds_back_new_ones(
    tmp_path: Path,
) -> None:
    """tests/support/alone.py, with threads standing in for parallel workers."""
    entered = {name: threading.Event() for name in ("first", "alone", "later")}
    release = {name: threading.Event() for name in entered}

    def run(name: str, is_alone: bool) -> threading.Thread:
        def test() -> None:
            with alone.turn(tmp_path, is_alone):
                entered[name].set()
                release[name].wait(30)

        thread = threading.Thread(target=test, daemon=True)
        thread.start()
        return thread

    def gate_taken() -> bool:
        with (tmp_path / "alone-gate.lock").open("a") as gate:
            try:
                fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(gate, fcntl.LOCK_UN)
            return False

    threads = [run("first", is_alone=False)]
    assert entered["first"].wait(10)
    threads.append(run("alone", is_alone=True))
    wait_until(gate_taken, what="the alone test at the gate")
    threads.append(run("later", is_alone=False))
    assert not entered["alone"].wait(0.3)  # the first test still runs
    release["first"].set()
    assert entered["alone"].wait(10)
    assert not entered["later"].wait(0.3)  # started while the alone test waited
    release["alone"].set()
    assert entered["later"].wait(10)
    release["later"].set()
    for thread in threads:
        thread.join(10)
