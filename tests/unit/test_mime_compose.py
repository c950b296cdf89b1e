"""Building outgoing messages: headers, encodings, attachments, and refusing injection."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailclient.core.errors import InvalidInput
from mailclient.core.outgoing import Attachment, OutgoingMessage
from mailclient.mime.compose import build_message, guess_content_type, parse_addresses

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BLOB = bytes(range(255, -1, -1)) * 64 + b"\r\n.\r\n\x00"


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text(part: EmailMessage) -> str:
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


def draft(**changes: object) -> OutgoingMessage:
    values: dict[str, object] = {
        "sender": "Ann Example <ann@example.org>",
        "to": ("bob@example.org",),
        "subject": "Hello",
        "body": "Hi Bob.\n",
    }
    values.update(changes)
    return OutgoingMessage(**values)  # type: ignore[arg-type]


def test_headers_and_envelope() -> None:
    when = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
    built = build_message(
        draft(
            sender="Jürgen Müller <juergen@example.org>",
            to=("Bob <bob@example.org>, carol@example.org",),
            cc=('"Smith, Dave" <dave@example.org>',),
            bcc=("hidden@example.org", "BOB@example.org"),
            subject="Grüße aus Köln",
        ),
        date=when,
    )
    header_block = built.raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()
    assert b"=?utf-8?" in header_block  # RFC 2047 for the subject and the name
    message = parsed(built.raw)
    assert message["Subject"] == "Grüße aus Köln"
    assert message["From"].addresses[0].display_name == "Jürgen Müller"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "bob@example.org",
        "carol@example.org",
    ]
    assert message["Cc"].addresses[0].display_name == "Smith, Dave"
    assert message["Bcc"] is None
    assert b"hidden" not in built.raw
    assert message["Date"].datetime == when
    assert message["Message-ID"] == built.message_id
    assert built.message_id.startswith("<") and built.message_id.endswith("@example.org>")
    assert built.envelope_from == "juergen@example.org"
    # Each envelope recipient once, Bcc included; case-insensitive duplicates dropped.
    assert built.recipients == (
        "bob@example.org",
        "carol@example.org",
        "dave@example.org",
        "hidden@example.org",
    )
    assert built.subject == "Grüße aus Köln"
    assert not built.smtputf8
    assert built.raw.count(b"MIME-Version") == 1


def test_the_sent_copy_alone_carries_bcc() -> None:
    built = build_message(
        draft(
            to=("Bob <bob@example.org>",),
            bcc=("Jörg Ünal <joerg@example.org>, hidden@example.org",),
        )
    )
    assert b"Bcc" not in built.raw and b"joerg" not in built.raw
    assert built.sent_copy == built.sent_headers + built.raw
    copy = parsed(built.sent_copy)
    assert [(a.display_name, a.addr_spec) for a in copy["Bcc"].addresses] == [
        ("Jörg Ünal", "joerg@example.org"),
        ("", "hidden@example.org"),
    ]
    assert built.sent_headers.isascii()  # encoded like the other fields (RFC 2047)
    assert (
        copy["To"] == "Bob <bob@example.org>"
        and copy.get_content() == parsed(built.raw).get_content()
    )
    assert build_message(draft(to=("bob@example.org",))).sent_headers == b""


def test_an_address_that_needs_smtputf8_stays_raw_in_the_bcc_of_the_copy() -> None:
    built = build_message(draft(to=("bob@example.org",), bcc=("jörg@bücher.example",)))
    assert built.smtputf8
    assert built.sent_headers.decode("utf-8").startswith("Bcc: jörg@")
    assert b"j\xc3\xb6rg" not in built.raw


def test_every_build_gets_its_own_message_id() -> None:
    assert build_message(draft()).message_id != build_message(draft()).message_id


def test_plain_text_body_is_utf8_and_7bit_safe() -> None:
    built = build_message(draft(body="Zwölf Boxkämpfer\r\njagen Viktor\r\n\r\n.\nend"))
    assert all(len(line) <= 998 for line in built.raw.split(b"\r\n"))
    assert built.raw.split(b"\r\n\r\n", 1)[1].isascii()
    message = parsed(built.raw)
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert text(message) == "Zwölf Boxkämpfer\njagen Viktor\n\n.\nend\n"


def test_html_alternative() -> None:
    message = parsed(build_message(draft(body="plain", html="<p>ünï</p>")).raw)
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert text(plain) == "plain\n"
    assert html.get_content_type() == "text/html"
    assert text(html) == "<p>ünï</p>\n"


def test_attachments_keep_their_bytes_types_and_names(tmp_path: Path) -> None:
    path = tmp_path / "Lageplan Größe.png"
    path.write_bytes(PNG)
    built = build_message(
        draft(
            html="<b>x</b>",
            attachments=(
                Attachment(path=path),
                Attachment("données.bin", BLOB),
                Attachment("notes.txt", b"line\nno CR\n"),
            ),
        )
    )
    message = parsed(built.raw)
    assert message.get_content_type() == "multipart/mixed"
    body, *attachments = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [a.get_content_type() for a in attachments] == [
        "image/png",
        "application/octet-stream",
        "text/plain",
    ]
    assert [a.get_filename() for a in attachments] == [
        "Lageplan Größe.png",
        "données.bin",
        "notes.txt",
    ]
    assert [a.get_payload(decode=True) for a in attachments] == [PNG, BLOB, b"line\nno CR\n"]
    assert b"filename*" in built.raw  # RFC 2231 for the non-ASCII names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("photo.JPG", "image/jpeg"),
        ("report.pdf", "application/pdf"),
        ("archive.tar.gz", "application/gzip"),
        ("mail.eml", "application/octet-stream"),
        ("no-extension", "application/octet-stream"),
    ],
)
def test_content_type_guess(name: str, expected: str) -> None:
    assert guess_content_type(name) == expected


def test_unreadable_attachment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        build_message(draft(attachments=(Attachment(path=tmp_path / "gone.pdf"),)))


def test_reply_headers() -> None:
    message = parsed(
        build_message(
            draft(in_reply_to="<b@example.org>", references=("<a@example.org>", "<b@example.org>"))
        ).raw
    )
    assert message["In-Reply-To"] == "<b@example.org>"
    assert message["References"] == "<a@example.org> <b@example.org>"


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hi\r\nBcc: victim@example.org"},
        {"subject": "Hi\nX-Injected: 1"},
        {"subject": "Hi\rX-Injected: 1"},
        {"sender": "Ann\r\nBcc: victim@example.org <ann@example.org>"},
        {"to": ("bob@example.org\r\nBcc: victim@example.org",)},
        {"cc": ("Eve\n <eve@example.org>",)},
        {"in_reply_to": "<a@example.org>\r\nBcc: victim@example.org"},
        {"references": ("<a@example.org>\nX: y",)},
        {"attachments": (Attachment("a.txt\r\nX-Injected: 1", b"x"),)},
        {"subject": "Hi\x85X-Injected: 1"},
        {"subject": "Hi\u2028X-Injected: 1"},
        {"subject": "Hi\u2029X-Injected: 1"},
        {"sender": "Ann\u2028 <ann@example.org>"},
        {"to": ("Bob\x85 <bob@example.org>",)},
    ],
)
def test_line_breaks_in_headers_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput, match="line breaks"):
        build_message(draft(**changes))


@pytest.mark.parametrize(
    "text",
    ["foo bar", "bob@example.org carol@example.org", "Bob <bob@", "@example.org", "bob@-x-.org"],
)
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="To"):
        build_message(draft(to=(text,)))


def test_a_recipient_is_required_and_one_sender() -> None:
    with pytest.raises(InvalidInput, match="recipient"):
        build_message(draft(to=("",)))
    with pytest.raises(InvalidInput, match="exactly one sender"):
        build_message(draft(sender="a@example.org, b@example.org"))


def test_bcc_alone_is_enough() -> None:
    built = build_message(draft(to=(), bcc=("hidden@example.org",)))
    assert built.recipients == ("hidden@example.org",)
    assert b"hidden" not in built.raw


def test_international_domain_becomes_ascii() -> None:
    built = build_message(draft(to=("Ünï <info@exämple.org>",)))
    assert built.recipients == ("info@xn--exmple-cua.org",)
    assert not built.smtputf8


def test_utf8_local_part_needs_smtputf8() -> None:
    built = build_message(draft(to=("Jörg <jörg@example.org>",)))
    assert built.smtputf8
    assert built.recipients == ("jörg@example.org",)
    assert "jörg@example.org".encode() in built.raw  # raw UTF-8 header, RFC 6532
    # The stdlib's bytes parser cannot read UTF-8 headers; the text parser can.
    message = email.message_from_string(built.raw.decode(), policy=email.policy.default)
    assert message["To"].addresses[0].username == "jörg"


def test_parse_addresses() -> None:
    mailboxes = parse_addresses("To", '"Doe, J." <j@example.org>, k@example.org')
    assert [(m.name, m.addr) for m in mailboxes] == [
        ("Doe, J.", "j@example.org"),
        ("", "k@example.org"),
    ]
    assert parse_addresses("Cc", "  ") == []


FORWARDED = (
    b"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: Minutes\r\n"
    b"X-Long: " + b"word " * 30 + b"\r\n"
    b"DKIM-Signature: v=1; d=example.org;\r\n\tb=c2lnbmF0dXJl\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nSee you at noon.\r\n"
)


def test_a_message_attached_whole_keeps_its_bytes() -> None:
    attachment = Attachment("Minutes.eml", data=FORWARDED, content_type="message/rfc822")
    built = build_message(draft(attachments=(attachment,)))
    assert FORWARDED.rstrip(b"\r\n") in built.raw  # nothing refolded, MIME-Version kept
    [part] = list(parsed(built.raw).iter_attachments())
    assert part.get_content_type() == "message/rfc822"
    assert part["Content-Transfer-Encoding"] == "7bit"
    assert part.get_filename() == "Minutes.eml"
    assert part.get_content()["Subject"] == "Minutes"
    assert built.raw.count(b"MIME-Version") == 2  # ours at the top, and the forwarded one's


def test_an_8bit_message_is_attached_as_opaque_data() -> None:
    raw = FORWARDED.replace(b"See you", "Bis später".encode())
    attachment = Attachment("Minutes.eml", data=raw, content_type="message/rfc822")
    built = build_message(draft(attachments=(attachment,)))
    assert built.raw.isascii()
    [part] = list(parsed(built.raw).iter_attachments())
    assert part.get_content_type() == "application/octet-stream"
    assert part.get_content() == raw
