"""Reply, reply all and forward: recipients, subjects, threading, quoting, attachments."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from mailclient.core.draft import DraftKind
from mailclient.mime.html_text import html_to_text
from mailclient.mime.reply import (
    MAX_REFERENCES,
    Original,
    attribution,
    forward_subject,
    make_forward,
    make_forward_as_attachment,
    make_reply,
    original_from_raw,
    quote,
    reply_recipients,
    reply_references,
    reply_subject,
    without_signature,
)

ME = ("alice@example.org", "alice.work@example.org")


def original(**changes: object) -> Original:
    values: dict[str, object] = {
        "sender": "Bob <bob@example.org>",
        "to": "Alice <alice@example.org>, carol@example.org",
        "cc": "Dave <dave@example.org>, alice.work@example.org",
        "subject": "Lunch",
        "date": datetime(2026, 3, 2, 12, 30, tzinfo=UTC),
        "message_id": "<m2@example.org>",
        "references": ("<m0@example.org>", "<m1@example.org>"),
        "text": "Shall we?\n\n-- \nBob",
    }
    values.update(changes)
    return Original(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Lunch", "Re: Lunch"),
        ("Re: Lunch", "Re: Lunch"),
        ("RE: re: Re[3]: Lunch", "Re: Lunch"),
        ("AW: Lunch", "Re: Lunch"),
        ("Fwd: Lunch", "Re: Fwd: Lunch"),
        ("Lunch: Re: later", "Re: Lunch: Re: later"),
        ("", "Re:"),
    ],
)
def test_reply_subject_prefixed_once(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("Lunch", "Fwd: Lunch"), ("Fwd: Lunch", "Fwd: Lunch"), ("FW: x", "FW: x"), ("", "Fwd:")],
)
def test_forward_subject_prefixed_once(subject: str, expected: str) -> None:
    assert forward_subject(subject) == expected


def test_reply_goes_to_the_sender_only() -> None:
    assert reply_recipients(original(), ME, reply_all=False) == ("Bob <bob@example.org>", "")


def test_reply_prefers_reply_to() -> None:
    to, cc = reply_recipients(original(reply_to="list@example.org"), ME, reply_all=False)
    assert (to, cc) == ("list@example.org", "")


def test_reply_all_drops_our_addresses_and_keeps_cc() -> None:
    to, cc = reply_recipients(original(), ME, reply_all=True)
    assert to == "Bob <bob@example.org>, carol@example.org"
    assert cc == "Dave <dave@example.org>"


def test_reply_all_ignores_case_and_duplicates() -> None:
    to, cc = reply_recipients(
        original(to="ALICE@example.org, Bob <BOB@example.org>", cc="bob@example.org"),
        ME,
        reply_all=True,
    )
    assert (to, cc) == ("Bob <bob@example.org>", "")


def test_answering_our_own_message_goes_to_its_recipients() -> None:
    sent = original(sender="Alice <alice@example.org>", to="bob@example.org", cc="eve@example.org")
    assert reply_recipients(sent, ME, reply_all=False) == ("bob@example.org", "")
    assert reply_recipients(sent, ME, reply_all=True) == ("bob@example.org", "eve@example.org")


def test_a_message_from_another_own_account_is_answered_to_its_sender() -> None:
    from_home = original(sender="Alice <alice@home.example>", to="alice@example.org")
    assert reply_recipients(from_home, ME, reply_all=False) == ("Alice <alice@home.example>", "")


def test_names_with_specials_stay_quoted() -> None:
    to, _ = reply_recipients(original(sender='"Smith, Bob" <bob@example.org>'), ME, reply_all=False)
    assert to == '"Smith, Bob" <bob@example.org>'


def test_references_append_the_original_id() -> None:
    assert reply_references(original()) == (
        "<m0@example.org>",
        "<m1@example.org>",
        "<m2@example.org>",
    )
    assert reply_references(original(references=(), in_reply_to="<m1@example.org>")) == (
        "<m1@example.org>",
        "<m2@example.org>",
    )


def test_long_references_keep_the_root() -> None:
    chain = tuple(f"<m{i}@example.org>" for i in range(50))
    refs = reply_references(original(references=chain, message_id="<last@example.org>"))
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == "<m0@example.org>"
    assert refs[-2:] == ("<m49@example.org>", "<last@example.org>")


def test_quoting() -> None:
    assert quote("one\n\n> older\ntwo") == "> one\n>\n>> older\n> two"
    assert without_signature("text\n\n-- \nsig\n") == "text"
    assert without_signature("no sig\n\n") == "no sig"


def test_attribution_names_date_and_sender() -> None:
    line = attribution(original(date=datetime(2026, 3, 2, 12, 30)))
    assert line == "On Mon, 02 Mar 2026 at 12:30, Bob <bob@example.org> wrote:"
    assert attribution(original(date=None)) == "Bob <bob@example.org> wrote:"


def test_make_reply_puts_signature_above_the_quote() -> None:
    draft = make_reply(
        original(date=datetime(2026, 3, 2, 12, 30)),
        account="work",
        sender="Alice <alice@example.org>",
        own_addresses=ME,
        signature="Alice\nExample Corp",
    )
    assert draft.kind is DraftKind.REPLY
    assert draft.subject == "Re: Lunch"
    assert draft.in_reply_to == "<m2@example.org>"
    assert draft.original == "<m2@example.org>"
    assert draft.body == (
        "\n\n-- \nAlice\nExample Corp\n\n"
        "On Mon, 02 Mar 2026 at 12:30, Bob <bob@example.org> wrote:\n"
        "> Shall we?\n"
    )


def test_make_reply_all() -> None:
    draft = make_reply(
        original(), account="work", sender="alice@example.org", own_addresses=ME, reply_all=True
    )
    assert draft.kind is DraftKind.REPLY_ALL
    assert draft.cc == "Dave <dave@example.org>"
    assert draft.body.startswith("\n\nOn ")


def raw_with_attachment() -> bytes:
    message = EmailMessage()
    message["From"] = "Bob <bob@example.org>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Report"
    message["Date"] = "Mon, 02 Mar 2026 12:30:00 +0000"
    message["Message-ID"] = "<r1@example.org>"
    message["References"] = "<r0@example.org>"
    message.set_content("See the report.\n")
    message.add_alternative("<p>See the <b>report</b>.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="report.pdf"
    )
    return message.as_bytes()


def test_original_from_raw_and_forward_carry_attachments() -> None:
    found = original_from_raw(raw_with_attachment(), with_attachments=True)
    assert found.message_id == "<r1@example.org>"
    assert found.references == ("<r0@example.org>",)
    assert found.text.strip() == "See the report."
    [attachment] = found.attachments
    assert (attachment.filename, attachment.data) == ("report.pdf", b"%PDF-1.4 data")
    assert attachment.content_type == "application/pdf"

    draft = make_forward(found, account="work", sender="alice@example.org", signature="A.")
    assert draft.kind is DraftKind.FORWARD
    assert draft.subject == "Fwd: Report"
    assert draft.to == ""
    assert draft.in_reply_to == ""
    assert draft.original == "<r1@example.org>"
    assert draft.attachments == found.attachments
    assert "-------- Forwarded Message --------\nSubject: Report\n" in draft.body
    assert "From: Bob <bob@example.org>\nTo: alice@example.org\n\nSee the report.\n" in draft.body
    assert draft.body.startswith("\n\n-- \nA.\n\n")


def test_original_from_raw_reads_html_only_messages_as_text() -> None:
    message = EmailMessage()
    message["From"] = "bob@example.org"
    message["Subject"] = "News"
    message.set_content(
        "<p>Hello <a href='https://example.org/x'>there</a></p><p>Bye</p>", subtype="html"
    )
    found = original_from_raw(message.as_bytes())
    assert found.text == "Hello there <https://example.org/x>\n\nBye"
    assert found.attachments == ()


def test_original_from_raw_survives_garbage() -> None:
    found = original_from_raw(b"\x00\xff not a message at all")
    assert found.message_id == ""


def test_html_to_text_structure() -> None:
    text = html_to_text(
        "<style>p{}</style><p>Hi<br>there</p><ul><li>one</li><li>two<ol><li>a</li></ol></li>"
        "</ul><blockquote><p>said</p></blockquote><p>end</p><script>x()</script>"
    )
    assert text == "Hi\nthere\n\n- one\n- two\n  1. a\n\n> said\n\nend"


def test_forward_as_attachment_carries_the_message_whole() -> None:
    raw = raw_with_attachment()
    found = original_from_raw(raw)
    draft = make_forward_as_attachment(
        found, raw, account="work", sender="alice@example.org", signature="A."
    )
    assert draft.kind is DraftKind.FORWARD
    assert draft.subject == "Fwd: Report"
    assert draft.original == "<r1@example.org>"
    assert draft.body == "\n\n-- \nA."
    [attachment] = draft.attachments
    assert (attachment.filename, attachment.data) == ("Report.eml", raw)
    assert attachment.content_type == "message/rfc822"


@pytest.mark.parametrize(
    ("subject", "name"), [("", "message.eml"), ("../../etc/passwd", "passwd.eml")]
)
def test_forward_as_attachment_names_a_harmless_file(subject: str, name: str) -> None:
    draft = make_forward_as_attachment(
        Original(subject=subject), b"Subject: x\r\n\r\nx\r\n", account="w", sender="a@b.org"
    )
    assert draft.attachments[0].filename == name
