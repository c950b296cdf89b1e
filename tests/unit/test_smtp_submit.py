"""One SMTP transaction against a scripted server: replies classified, words kept."""

from __future__ import annotations

import copy
import smtplib
from collections.abc import Iterator

import pytest

from mailclient.accounts.model import Account
from mailclient.core.outgoing import Refusal
from mailclient.smtp.submit import ConnectionLost, MessageRefused, submit
from tests.unit.fake_smtp import FakeSmtpServer, Script

ACCOUNT = Account(name="work", email="ann@example.org", imap_host="h", smtp_host="smtp.test")
RAW = b"Subject: x\r\n\r\n.leading dot\r\nline\r\n"


@pytest.fixture(params=["pipelining", "one by one"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeSmtpServer]:
    """The scripted server, with and without PIPELINING (RFC 2920): two code paths."""
    fake = FakeSmtpServer()
    if request.param != "pipelining":
        fake.script.extensions.remove("PIPELINING")
    yield fake
    fake.close()


def connected(server: FakeSmtpServer) -> smtplib.SMTP:
    smtp = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    smtp.ehlo()
    return smtp


def test_message_goes_out_dot_stuffed_with_size(server: FakeSmtpServer) -> None:
    server.script.extensions.append("SIZE 1000")
    calls: list[int] = []
    smtp = connected(server)
    delivery = submit(
        smtp,
        ACCOUNT,
        RAW,
        "ann@example.org",
        ["bob@example.org", "carol@example.org"],
        data_ending=lambda: calls.append(len(server.received)),
    )
    assert delivery.accepted == ("bob@example.org", "carol@example.org")
    assert delivery.refused == ()
    assert calls == [0]  # called once, before the server had the end of the data
    (received,) = server.received
    assert received.mail_from == "ann@example.org"
    assert received.mail_options == [f"SIZE={len(RAW)}"]
    assert received.data == b"Subject: x\r\n\r\n..leading dot\r\nline\r\n"


def test_some_recipients_refused_in_the_servers_words(server: FakeSmtpServer) -> None:
    server.script.rcpt_replies = {
        "nobody@example.org": (550, "5.1.1 <nobody@example.org>: Recipient address rejected"),
        "full@example.org": (452, "4.2.2 Mailbox full"),
    }
    recipients = ["bob@example.org", "nobody@example.org", "full@example.org"]
    delivery = submit(connected(server), ACCOUNT, RAW, "ann@example.org", recipients)
    assert delivery.accepted == ("bob@example.org",)
    assert delivery.refused == (
        Refusal(
            "nobody@example.org", 550, "5.1.1 <nobody@example.org>: Recipient address rejected"
        ),
        Refusal("full@example.org", 452, "4.2.2 Mailbox full"),
    )
    assert [r.transient for r in delivery.refused] == [False, True]
    assert server.received[0].recipients == ["bob@example.org"]


@pytest.mark.parametrize(("code", "transient"), [(550, False), (450, True)])
def test_every_recipient_refused(server: FakeSmtpServer, code: int, transient: bool) -> None:
    server.script.rcpt_replies = {"bob@example.org": (code, "go away")}
    smtp = connected(server)
    with pytest.raises(MessageRefused, match=f"bob@example.org: {code} go away") as caught:
        submit(smtp, ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    assert caught.value.transient is transient
    assert caught.value.refused == (Refusal("bob@example.org", code, "go away"),)
    assert server.received == []
    # The connection was reset and still serves the next message.
    assert submit(smtp, ACCOUNT, RAW, "ann@example.org", ["carol@example.org"]).accepted


@pytest.mark.parametrize(
    ("script", "transient", "words"),
    [
        (Script(mail_reply=(553, "5.7.1 Sender address rejected")), False, r"5\.7\.1 Sender"),
        (Script(mail_reply=(452, "4.3.1 Insufficient system storage")), True, "4.3.1"),
        (Script(data_reply=(554, "5.5.1 No valid recipients")), False, "5.5.1"),
        (Script(final_replies=[(554, "5.7.1 Spam detected")]), False, "Spam detected"),
        (Script(final_replies=[(451, "4.3.0 Temporary failure")]), True, "4.3.0"),
    ],
)
def test_message_refused(
    server: FakeSmtpServer, script: Script, transient: bool, words: str
) -> None:
    extensions = server.script.extensions  # with or without PIPELINING
    server.script = copy.deepcopy(script)  # one Script serves every parameter
    server.script.extensions = extensions
    with pytest.raises(MessageRefused, match=words) as caught:
        submit(connected(server), ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    assert caught.value.transient is transient


def test_go_ahead_without_recipients_is_aborted(server: FakeSmtpServer) -> None:
    server.script.rcpt_replies = {"bob@example.org": (550, "no")}
    server.script.data_without_recipients = (354, "go ahead")  # not as RFC 2920 asks
    smtp = connected(server)
    with pytest.raises(MessageRefused, match="refused every recipient"):
        submit(smtp, ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    # Pipelined, DATA was sent and an empty message ended it; one by one, it never went.
    assert [r.data for r in server.received] in ([b""], [])
    assert submit(smtp, ACCOUNT, RAW, "ann@example.org", ["carol@example.org"]).accepted


def test_too_big_for_the_server_is_refused_before_sending(server: FakeSmtpServer) -> None:
    server.script.extensions.append("SIZE 10")
    with pytest.raises(MessageRefused, match="accepts at most") as caught:
        submit(connected(server), ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    assert not caught.value.transient
    assert server.received == []


def test_smtputf8_is_required_when_an_address_needs_it(server: FakeSmtpServer) -> None:
    with pytest.raises(MessageRefused, match="SMTPUTF8") as caught:
        submit(
            connected(server), ACCOUNT, RAW, "ann@example.org", ["jörg@example.org"], smtputf8=True
        )
    assert not caught.value.transient
    server.script.extensions.append("SMTPUTF8")
    submit(connected(server), ACCOUNT, RAW, "ann@example.org", ["jörg@example.org"], smtputf8=True)
    (received,) = server.received
    assert received.recipients == ["jörg@example.org"]
    assert received.mail_options == ["SMTPUTF8", "BODY=8BITMIME"]


def test_connection_lost_after_the_data_may_have_delivered(server: FakeSmtpServer) -> None:
    server.script.drop_after_data = True
    with pytest.raises(ConnectionLost, match="may have been delivered") as caught:
        submit(connected(server), ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    assert caught.value.maybe_sent and caught.value.transient


def test_the_mark_comes_between_the_data_and_its_final_dot(server: FakeSmtpServer) -> None:
    smtp = connected(server)
    events: list[bytes] = []
    send = smtp.send

    def recording_send(data: bytes | str) -> None:
        events.append(data if isinstance(data, bytes) else data.encode())
        send(data)

    smtp.send = recording_send  # type: ignore[method-assign]
    submit(
        smtp,
        ACCOUNT,
        RAW,
        "ann@example.org",
        ["bob@example.org"],
        data_ending=lambda: events.append(b"<mark>"),
    )
    assert events[-3:] == [b"Subject: x\r\n\r\n..leading dot\r\nline\r\n", b"<mark>", b".\r\n"]


def test_connection_lost_while_writing_the_data_delivered_nothing(
    server: FakeSmtpServer,
) -> None:
    smtp = connected(server)
    send = smtp.send
    marks: list[str] = []

    def failing_send(data: bytes | str) -> None:
        if isinstance(data, bytes) and data.startswith(b"Subject"):
            smtp.close()
            raise BrokenPipeError(32, "Broken pipe")
        send(data)

    smtp.send = failing_send  # type: ignore[method-assign]
    with pytest.raises(ConnectionLost) as caught:
        submit(
            smtp,
            ACCOUNT,
            RAW,
            "ann@example.org",
            ["bob@example.org"],
            data_ending=lambda: marks.append("mark"),
        )
    assert not caught.value.maybe_sent and caught.value.transient
    assert "may have been delivered" not in str(caught.value)
    assert marks == []


def test_service_closing_is_transient(server: FakeSmtpServer) -> None:
    server.script.mail_reply = (421, "4.3.2 Shutting down")
    with pytest.raises(ConnectionLost, match=r"4\.3\.2 Shutting down") as caught:
        submit(connected(server), ACCOUNT, RAW, "ann@example.org", ["bob@example.org"])
    assert caught.value.transient and not caught.value.maybe_sent
