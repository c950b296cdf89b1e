"""Drafts as messages of the Drafts folder, and back."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.mime.drafts import DRAFT_HEADER, draft_from_message, draft_message
from mailclient.mime.parse import header_text


def test_round_trip_keeps_everything_typed() -> None:
    draft = Draft(
        account="work",
        sender="Ann <ann@example.org>",
        to="Bob <bob@example.org>, carol@",
        cc="dave@example.org",
        bcc="eve@example.org",
        subject="Re: Plans ☕",
        body="Sure.\n\n> a long quoted line " + "word " * 30,
        attachments=(Attachment(filename="notes.txt", data=b"notes\n"),),
        in_reply_to="<m1@example.org>",
        references=("<m0@example.org>", "<m1@example.org>"),
        kind=DraftKind.REPLY_ALL,
        original="<m1@example.org>",
    )
    raw = draft_message(draft)
    header = email.message_from_bytes(raw, policy=email.policy.default)[DRAFT_HEADER]
    assert header == f"key={draft.key}; kind=reply-all; original=<m1@example.org>"
    back = draft_from_message(raw, "work")
    assert back.replaces.startswith("<") and back.replaces.endswith("@example.org>")
    assert back.body.rstrip("\n") == draft.body  # typed text is not wrapped in a draft
    [attachment] = back.attachments
    assert (attachment.filename, attachment.data) == ("notes.txt", b"notes\n")
    expected = Draft(
        **{
            **draft.__dict__,
            "body": back.body,
            "attachments": back.attachments,
            "replaces": back.replaces,
        }
    )
    assert back == expected


def test_rich_text_draft_reopens_with_its_html() -> None:
    draft = Draft(
        account="work",
        sender="ann@example.org",
        body="bold text",
        html="<p><b>bold</b> text</p>",
    )
    back = draft_from_message(draft_message(draft), "work")
    assert back.html is not None and "<b>bold</b>" in back.html
    assert back.body.strip() == "bold text"


def test_a_draft_of_another_program() -> None:
    message = EmailMessage()
    message["From"] = "ann@example.org"
    message["To"] = "bob@example.org"
    message["Subject"] = "Re: hi"
    message["Message-ID"] = "<other@example.org>"
    message["In-Reply-To"] = "<asked@example.org>"
    message.set_content("<p>draft <i>text</i></p>", subtype="html")
    draft = draft_from_message(message.as_bytes(), "work")
    assert draft.kind is DraftKind.REPLY
    assert draft.original == "<asked@example.org>"
    assert draft.replaces == "<other@example.org>"
    assert draft.body == "draft text"
    assert len(draft.key) == 32


def test_half_typed_addresses_read_back_as_typed() -> None:
    raw = draft_message(Draft(account="w", sender="ann@example.org", to="Zoë <zoe@", cc="bob@"))
    message = email.message_from_bytes(raw, policy=email.policy.default)
    # Encoded non-ASCII text comes back as one quoted name: still what was typed.
    assert header_text(message, "To").strip('"') == "Zoë <zoe@"
    assert header_text(message, "Cc") == "bob@"
