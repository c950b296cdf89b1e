"""Header decoding: RFC 2047 in any charset, 8-bit headers, dates, mailboxes, attachments."""

from __future__ import annotations

import pytest

from mailclient.imap.headers import (
    format_mailbox,
    guess_attachments,
    has_attachments,
    needs_structure,
    parse_date,
    split_header_block,
    structure_has_attachments,
    summarize,
    summarize_batch,
)
from mailclient.imap.wire import FetchResponse


def test_header_block_unfolds_and_keeps_the_first_occurrence() -> None:
    block = b"Subject: a long\r\n\tsubject\r\nFROM: one\r\nFrom: two\r\nbogus line\r\n\r\n"
    fields = split_header_block(block)
    assert fields == {b"subject": b"a long\tsubject", b"from": b"one"}


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("Thu, 01 Jan 1970 00:00:00 +0000", 0),
        ("1 Jan 1970 01:00 +0100", 0),
        ("Wed, 31 Dec 1969 19:00:00 EST", 0),
        ("Thu, 1 Jan 70 00:00:00 GMT", 0),
        ("Thu,  1 Jan 1970 00:00:00 -0000 (UTC)", 0),
        ("Sat, 29 Feb 2024 12:00:00 +0000", 1709208000),
        ("Thursday, January 1, 1970 00:00:00 +0000", 0),
        ("nonsense", None),
        ("", None),
    ],
)
def test_dates(text: str, epoch: int | None) -> None:
    assert parse_date(text) == epoch


def test_mailboxes_lose_quotes_and_lone_brackets() -> None:
    assert format_mailbox('"Doe, Jane" <jane@x.org>') == "Doe, Jane <jane@x.org>"
    assert format_mailbox('"say \\"hi\\"" <a@x>') == 'say "hi" <a@x>'
    assert format_mailbox("<jane@x.org>") == "jane@x.org"
    assert format_mailbox('"" <jane@x.org>') == "jane@x.org"
    assert format_mailbox("Jane <jane@x.org>") == "Jane <jane@x.org>"
    assert format_mailbox("jane@x.org") == "jane@x.org"


def test_attachment_guess_from_content_type() -> None:
    assert guess_attachments('multipart/mixed; boundary="x"')
    assert guess_attachments("application/pdf; name=a.pdf")
    assert not guess_attachments("multipart/alternative; boundary=x")
    assert not guess_attachments("text/plain; charset=utf-8")
    assert not guess_attachments("")


def test_attachments_in_a_whole_message() -> None:
    mixed = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"hi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename=a.pdf\r\n\r\nJVBE\r\n--b--\r\n"
    )
    inline_image = (
        b"Content-Type: multipart/related; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n"
        b"\r\n<img src=cid:x>\r\n--b\r\nContent-Type: image/png; name=x.png\r\n"
        b"Content-Disposition: inline; filename=x.png\r\n\r\niVBO\r\n--b--\r\n"
    )
    assert has_attachments(mixed)
    assert not has_attachments(inline_image)
    assert not has_attachments(b"Subject: plain\r\n\r\nbody\r\n")


def test_summary_of_a_fetched_message() -> None:
    header = (
        b"Date: Thu, 01 Jan 1970 00:01:00 +0000\r\n"
        b"From: =?utf-8?Q?Zo=C3=AB?= <zoe@example.es>\r\n"
        b"To: a@x,\r\n b@x\r\nCc: c@x\r\nSubject: =?utf-8?Q?=C2=A1Hola!?=\r\n"
        b"Message-ID: <m1@x>\r\nIn-Reply-To: <m0@x>\r\nReferences: <a@x>\r\n <m0@x>\r\n"
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
    )
    seen = frozenset({"\\Seen"})
    record = summarize(FetchResponse(1, uid=5, flags=seen, size=99, internal_date=7, header=header))
    assert record.uid == 5 and record.flags == {"\\Seen"} and record.size == 99
    assert (record.internal_date, record.date) == (7, 60)
    assert record.sender == "Zoë <zoe@example.es>"
    assert (record.recipients, record.cc, record.subject) == ("a@x, b@x", "c@x", "¡Hola!")
    assert (record.message_id, record.in_reply_to, record.references) == (
        "<m1@x>",
        "<m0@x>",
        "<a@x> <m0@x>",
    )
    assert record.has_attachments


def test_a_malformed_header_still_gives_a_record() -> None:
    record = summarize(
        FetchResponse(1, uid=6, flags=frozenset(), size=10, internal_date=7, header=b"\xff\xfe\x00")
    )
    assert (record.uid, record.internal_date, record.subject) == (6, 7, "")
    assert summarize(FetchResponse(2, uid=8)).uid == 8


def part(kind: bytes, sub: bytes, params: object = None, disposition: object = None) -> list:
    extension = [None, disposition, None, None]
    if kind == b"text":
        return [kind, sub, params, None, None, b"7bit", b"10", b"1", *extension]
    return [kind, sub, params, None, None, b"base64", b"10", *extension]


@pytest.mark.parametrize(
    ("structure", "expected"),
    [
        ([part(b"text", b"plain"), b"mixed", [b"boundary", b"b"]], False),
        (
            [
                part(b"text", b"plain"),
                part(b"application", b"pdf", None, [b"attachment", [b"filename", b"a.pdf"]]),
                b"mixed",
            ],
            True,
        ),
        (
            [
                part(b"text", b"html"),
                part(b"image", b"png", [b"name", b"x.png"], [b"inline", [b"filename", b"x.png"]]),
                b"related",
            ],
            False,
        ),
        ([part(b"text", b"plain"), part(b"image", b"jpeg", [b"name", b"p.jpg"]), b"mixed"], True),
        ([part(b"text", b"plain"), [b"message", b"rfc822", None, None, None, b"7bit", b"9"]], True),
        (part(b"text", b"plain", None, [b"attachment", None]), True),
        (part(b"text", b"plain"), False),
        ([[part(b"text", b"plain"), part(b"text", b"html"), b"alternative"], b"mixed"], False),
        ([b"broken"], False),
    ],
)
def test_attachments_from_the_structure(structure: list, expected: bool) -> None:
    assert structure_has_attachments(structure) is expected


def test_which_messages_need_their_structure() -> None:
    assert needs_structure("multipart/mixed; boundary=x")
    assert needs_structure("Multipart/Signed; protocol=x")
    assert not needs_structure("multipart/alternative; boundary=x")
    assert not needs_structure("text/plain")


def test_a_batch_names_the_messages_to_check_further() -> None:
    mixed = FetchResponse(1, uid=1, header=b"Content-Type: multipart/mixed; boundary=b\r\n\r\n")
    plain = FetchResponse(2, uid=2, header=b"Content-Type: text/plain\r\n\r\n")
    records = summarize_batch([mixed, plain])
    assert [(r.uid, r.structure_wanted) for r in records] == [(1, True), (2, False)]
