"""Parsing received messages for display: body choice, charsets, attachments, cid parts."""

from __future__ import annotations

import base64
from datetime import timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailclient.mime.parse import (
    MAX_DEPTH,
    MAX_PARTS,
    attachment_data,
    parse_message,
    unflow,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.get("sender", "Alice Example <alice@example.org>")
    message["To"] = headers.get("to", "bob@example.org")
    message["Subject"] = headers.get("subject", "Hello")
    message["Date"] = "Tue, 04 Jun 2024 10:20:30 +0200"
    return message


def test_plain_message_headers_and_body() -> None:
    message = _message(subject="Grüße aus Köln", sender="Jürgen <j@example.org>")
    message["Cc"] = "carol@example.org"
    message.set_content("Hallo Bob,\nwie geht's?\n")
    parsed = parse_message(message.as_bytes(policy=SMTP))
    assert parsed.subject == "Grüße aus Köln"
    assert parsed.sender == "Jürgen <j@example.org>"
    assert parsed.cc == "carol@example.org"
    assert parsed.date is not None and parsed.date.hour == 10
    assert parsed.plain == "Hallo Bob,\nwie geht's?\n"
    assert parsed.html is None
    assert parsed.attachments == ()


def test_a_date_no_time_zone_can_show_is_no_date() -> None:
    raw = (
        b"From: mallory@example.net\r\nDate: Fri, 31 Dec 9999 23:59:59 -1400\r\n"
        b"Subject: Forever\r\n\r\nhi\r\n"
    )
    date = parse_message(raw).date
    # The reading pane shows it in local time: the year 10000 anywhere east of -14:00.
    for hours in (-12, 0, 14):
        assert date is None or date.astimezone(timezone(timedelta(hours=hours)))


def test_alternative_keeps_plain_and_richest_html() -> None:
    message = _message()
    message.set_content("plain version")
    message.add_alternative("<p>html version</p>", subtype="html")
    parsed = parse_message(message.as_bytes())
    assert parsed.plain is not None and parsed.plain.strip() == "plain version"
    assert parsed.html is not None and "<p>html version</p>" in parsed.html
    assert parsed.attachments == ()


def test_related_images_become_cid_parts_not_attachments() -> None:
    message = _message()
    message.set_content("see the logo")
    message.add_alternative('<p>logo: <img src="cid:logo@example.org"></p>', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<logo@example.org>", filename="logo.png")
    parsed = parse_message(message.as_bytes())
    assert parsed.inline_parts["logo@example.org"].data == PNG
    assert parsed.inline_parts["logo@example.org"].content_type == "image/png"
    assert parsed.attachments == ()


def test_unreferenced_related_image_is_listed() -> None:
    message = _message()
    message.set_content("<p>no image here</p>", subtype="html")
    message.add_related(PNG, "image", "png", cid="<unused@x>", filename="unused.png")
    parsed = parse_message(message.as_bytes())
    assert [a.filename for a in parsed.attachments] == ["unused.png"]


def test_attachments_listed_with_size_and_extractable() -> None:
    message = _message()
    message.set_content("two files attached")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="Rechnung März.pdf"
    )
    message.add_attachment("a,b\n1,2\n", subtype="csv", filename="data.csv")
    raw = message.as_bytes(policy=SMTP)
    parsed = parse_message(raw)
    assert parsed.plain is not None and parsed.plain.startswith("two files attached")
    names = [(a.filename, a.content_type, a.size) for a in parsed.attachments]
    assert names == [
        ("Rechnung März.pdf", "application/pdf", len(b"%PDF-1.4 fake")),
        ("data.csv", "text/csv", len(b"a,b\r\n1,2\r\n")),
    ]
    assert attachment_data(raw, parsed.attachments[0].part_id) == b"%PDF-1.4 fake"
    with pytest.raises(KeyError):
        attachment_data(raw, "9")


def test_text_attachment_is_not_taken_for_the_body() -> None:
    message = _message()
    message.set_content("the body")
    message.add_attachment("notes", filename="notes.txt")
    parsed = parse_message(message.as_bytes())
    assert parsed.plain is not None and parsed.plain.strip() == "the body"
    assert [a.filename for a in parsed.attachments] == ["notes.txt"]


def test_forwarded_message_is_an_attachment_named_after_its_subject() -> None:
    inner = _message(subject="Original")
    inner.set_content("inner text")
    outer = _message(subject="Fwd: Original")
    outer.set_content("see below")
    outer.add_attachment(inner)
    raw = outer.as_bytes()
    parsed = parse_message(raw)
    assert parsed.plain is not None and parsed.plain.strip() == "see below"
    (attachment,) = parsed.attachments
    assert attachment.filename == "Original.eml"
    assert attachment.content_type == "message/rfc822"
    assert b"inner text" in attachment_data(raw, attachment.part_id)


def test_second_inline_text_part_is_shown_after_the_body() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: list\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nlist footer\r\n--b--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.plain is not None
    assert "first" in parsed.plain and "list footer" in parsed.plain
    assert parsed.attachments == ()


def test_body_charset_from_content_type_and_from_html_meta() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: =?iso-8859-15?q?Pr=E9sentation_=A4?=\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-15\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nPr=E9sentation =A4\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.subject == "Présentation €"
    assert parsed.plain == "Présentation €\n"
    html_raw = (
        b"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n\r\n"
        b'<html><head><meta charset="koi8-r"></head><body>'
        + "Привет".encode("koi8-r")
        + b"</body></html>\r\n"
    )
    html = parse_message(html_raw).html
    assert html is not None and "Привет" in html


def test_format_flowed_is_unwrapped() -> None:
    raw = (
        b"From: a@example.org\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n"
        b"This is a long \r\nparagraph.\r\n> quoted \r\n> line\r\n \r\n-- \r\nsig\r\n"
    )
    assert parse_message(raw).plain == "This is a long paragraph.\n> quoted line\n\n-- \nsig\n"


def test_unflow_delsp() -> None:
    assert unflow("abc \ndef", delsp=True) == "abcdef"
    assert unflow(">> a \n>> b\n> c") == ">> a b\n> c"


def test_malformed_input_still_parses() -> None:
    raw = (
        b"From: =?utf-8?q?broken\r\nSubject: =?x-nope?b?????=\r\nDate: not a date\r\n"
        b'Content-Type: multipart/mixed; boundary="never"\r\n\r\nno parts at all\r\n'
    )
    parsed = parse_message(raw)
    assert parsed.date is None
    assert isinstance(parsed.subject, str)
    assert parsed.attachments == () or all(a.part_id for a in parsed.attachments)


def test_single_part_non_text_message_is_an_attachment() -> None:
    message = _message()
    message.set_content(
        b"PK\x03\x04zip",
        maintype="application",
        subtype="zip",
        disposition="attachment",
        filename="a.zip",
    )
    raw = message.as_bytes()
    parsed = parse_message(raw)
    assert parsed.plain is None and parsed.html is None
    assert [a.part_id for a in parsed.attachments] == ["1"]
    assert attachment_data(raw, "1") == b"PK\x03\x04zip"


def _nested_multipart(depth: int) -> bytes:
    """``depth`` multiparts inside each other, each with a text part of its own first."""
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n'
        b"Content-Type: text/plain\r\n\r\nlevel %d\r\n--b%d\r\n" % (i, i, i, i)
        for i in range(depth)
    )
    tail = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    leaf = b"Content-Type: text/plain\r\n\r\ninnermost\r\n"
    return b"From: a@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + head + leaf + tail


def _nested_messages(depth: int) -> bytes:
    raw = b"From: x@example.org\r\nSubject: innermost\r\n\r\nhello\r\n"
    for level in range(depth):
        raw = (
            b"From: a@example.org\r\nSubject: level %d\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: message/rfc822\r\n\r\n" % level
        ) + raw
    return raw


def test_deep_multipart_shows_the_outer_levels_and_says_what_was_cut() -> None:
    raw = _nested_multipart(500)
    parsed = parse_message(raw)
    assert parsed.subject == "deep"
    assert parsed.plain is not None
    shown = [line for line in parsed.plain.split("\n") if line.strip()]
    assert shown[:3] == ["level 0", "level 1", "level 2"]
    assert f"level {MAX_DEPTH - 1}" in shown
    assert "innermost" not in parsed.plain
    assert parsed.too_deep == 1 and parsed.too_many == 0
    # The level that was not opened is listed, so that it can still be saved: whole, with
    # its headers, a message of its own.
    [rest] = parsed.attachments
    assert (rest.content_type, rest.filename) == ("multipart/mixed", "Parts nested too deeply.eml")
    data = attachment_data(raw, rest.part_id)
    assert data.startswith(b'Content-Type: multipart/mixed; boundary="b30"\r\n')
    assert b"innermost" in data and parse_message(data).too_deep == 1


def test_nesting_within_the_limit_is_shown_whole() -> None:
    parsed = parse_message(_nested_multipart(MAX_DEPTH - 1))
    assert parsed.plain is not None and parsed.plain.rstrip().endswith("innermost")
    assert parsed.too_deep == 0


def test_deeply_attached_messages_are_one_attachment() -> None:
    raw = _nested_messages(300)
    parsed = parse_message(raw)
    assert parsed.subject == "level 299"
    [attachment] = parsed.attachments
    assert attachment.filename == "level 298.eml"
    data = attachment_data(raw, attachment.part_id)
    assert data.startswith(b"From: a@example.org\r\nSubject: level 298\r\n")
    assert data.endswith(b"hello\r\n")


def test_too_many_parts_are_left_out_and_counted() -> None:
    parts = b"".join(
        b"--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="f%d.bin"\r\n\r\nx\r\n' % n
        for n in range(MAX_PARTS + 50)
    )
    head = b'Subject: many\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    parsed = parse_message(head + parts + b"--b--\r\n")
    assert len(parsed.attachments) == MAX_PARTS - 1
    assert parsed.too_many == 51


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_multipart_boundaries_as_rfc_2046_says(line_end: bytes) -> None:
    raw = line_end.join(
        [
            b"Subject: parts",
            b'Content-Type: multipart/mixed; boundary="sep"',
            b"",
            b"preamble, not shown",
            b"--sep  ",
            b"Content-Type: text/plain",
            b"",
            b"first",
            b"--sepx is text, not a delimiter",
            b"--sep",
            b"Content-Type: application/pdf",
            b'Content-Disposition: attachment; filename="a.pdf"',
            b"",
            b"%PDF",
            b"--sep--",
            b"epilogue, not shown",
        ]
    )
    parsed = parse_message(raw)
    assert parsed.plain == "first\n--sepx is text, not a delimiter"
    [pdf] = parsed.attachments
    assert attachment_data(raw, pdf.part_id) == b"%PDF"


def test_a_multipart_without_its_closing_delimiter_runs_to_the_end() -> None:
    raw = (
        b'Subject: cut\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
        b'--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="p.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.plain == "body"
    assert attachment_data(raw, parsed.attachments[0].part_id) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "encoded",
    [
        base64.encodebytes(bytes(range(256)) * 9000).replace(b"\n", b"\r\n"),  # > 2 pieces
        base64.b64encode(b"unpadded!!").rstrip(b"="),
        b"Zm9v\r\n YmFy\t!\r\nYg==",  # stray characters and white space are skipped
    ],
)
def test_base64_bodies_decode_piece_by_piece(encoded: bytes) -> None:
    raw = (
        b"Subject: b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="x.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded
    )
    expected = base64.b64decode(encoded.translate(None, b"\r\n\t !") + b"==", validate=False)
    assert attachment_data(raw, parse_message(raw).attachments[0].part_id) == expected


def test_long_crlf_text_is_unix_text() -> None:
    text = "line\r\n" * 400_000
    raw = b"Subject: t\r\nContent-Type: text/plain\r\n\r\n" + text.encode()
    assert parse_message(raw).plain == "line\n" * 400_000


@pytest.mark.parametrize(
    "part",
    [
        b"no header, no blank line\r\nsecond line",
        b"\r\nno header after a blank line\r\nsecond line",
        b"Content-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\nfolded header",
    ],
)
def test_a_part_without_its_blank_line_keeps_its_text(part: bytes) -> None:
    raw = (
        b'Subject: p\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\n" + part + b"\r\n--b--\r\n"
    )
    text = parse_message(raw).plain or ""
    assert part.split(b"\r\n\r\n")[-1].strip().decode().split("\r\n")[0] in text
