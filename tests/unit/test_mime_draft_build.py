"""format=flowed bodies and lenient drafts for the Drafts folder."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

from mailclient.core.errors import InvalidInput
from mailclient.core.outgoing import Attachment, OutgoingMessage
from mailclient.mime.compose import build_draft, build_message

LONG = "word " * 40 + "end"


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_flowed_body_is_wrapped_and_labelled() -> None:
    built = build_message(
        OutgoingMessage(
            sender="ann@example.org", to=("bob@example.org",), body=f"{LONG}\n> quoted", flowed=True
        )
    )
    message = parsed(built.raw)
    assert message.get_content_type() == "text/plain"
    assert message.get_param("format") == "flowed"
    lines = message.get_content().replace("\r\n", "\n").rstrip("\n").split("\n")
    assert len(lines) > 2
    assert all(len(line) <= 72 for line in lines)
    assert all(line.endswith(" ") for line in lines[:-2])
    assert lines[-1] == "> quoted"


def test_unflowed_body_is_left_alone() -> None:
    message = parsed(
        build_message(
            OutgoingMessage(sender="ann@example.org", to=("bob@example.org",), body=LONG)
        ).raw
    )
    assert message.get_param("format") is None
    assert message.get_content().rstrip("\r\n") == LONG


def test_draft_keeps_half_typed_recipients_and_bcc() -> None:
    raw = build_draft(
        OutgoingMessage(
            sender="Ann <ann@example.org>",
            to=("bob@example.org, carol@",),
            cc=("Zoë <zoe@example.org>",),
            bcc=("hidden@example.org",),
            subject="Plans",
            body="half a thought",
            in_reply_to="<orig@example.org>",
            references=("<root@example.org>", "<orig@example.org>"),
        ),
        headers=[("X-Mailclient-Draft", "key=abc")],
    )
    assert b"To: bob@example.org, carol@\r\n" in raw
    message = parsed(raw)
    assert str(message["Cc"]) == "Zoë <zoe@example.org>"
    assert str(message["Bcc"]) == "hidden@example.org"
    assert message["X-Mailclient-Draft"] == "key=abc"
    assert message["In-Reply-To"] == "<orig@example.org>"
    assert message["References"] == "<root@example.org> <orig@example.org>"
    assert message.get_content().rstrip("\r\n") == "half a thought"


def test_draft_needs_no_recipient_but_keeps_attachments() -> None:
    raw = build_draft(
        OutgoingMessage(
            sender="ann@example.org",
            attachments=(Attachment(filename="a.txt", data=b"data"),),
        )
    )
    message = parsed(raw)
    assert message["To"] is None
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "a.txt"


def test_draft_non_ascii_half_typed_text_is_encoded() -> None:
    raw = build_draft(OutgoingMessage(sender="ann@example.org", to=("Zoë <zoe@",)))
    assert raw.isascii()
    assert b"=?utf-8?" in raw


def test_draft_refuses_header_injection() -> None:
    with pytest.raises(InvalidInput):
        build_draft(OutgoingMessage(sender="ann@example.org", subject="a\r\nBcc: x@example.org"))
    with pytest.raises(InvalidInput):
        build_draft(OutgoingMessage(sender="ann@example.org", to=("x\nBcc: y",)))
