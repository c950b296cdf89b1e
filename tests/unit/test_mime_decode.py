"""Text from mail bytes: charset labels, bodies, RFC 2047 header values, control characters."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailclient.imap.headers import summarize
from mailclient.imap.wire import FetchResponse
from mailclient.mime.decode import decode_text, decode_words, header_text, normalize_charset
from mailclient.mime.parse import parse_message


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=", "Grüße aus Köln"),
        ("=?iso-8859-1?Q?R=E9union_demain?=", "Réunion demain"),
        ("=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?gb2312?B?1tDOxA==?=", "中文"),
        ("=?ks_c_5601-1987?B?x9Gx27i7?=", "한글말"),
        ("=?windows-1252?Q?=93quoted=94?=", "\u201cquoted\u201d"),
        ("=?utf-8*en?Q?lang_tag?=", "lang tag"),
        # Whitespace between encoded words goes; between a word and text it stays.
        ("=?utf-8?Q?a?= =?utf-8?Q?b?= c", "ab c"),
        # A character split across two encoded words (a common sender bug).
        ("=?utf-8?B?w6k=?= =?utf-8?B?w6k=?=", "éé"),
        ("=?utf-8?B?ww==?= =?utf-8?B?qcOp?=", "éé"),
        ("=?x-unknown-charset?Q?caf=C3=A9?=", "café"),
        ("plain =?broken", "plain =?broken"),
    ],
)
def test_encoded_words(raw: str, text: str) -> None:
    assert decode_words(raw) == text


def test_eight_bit_headers_are_utf8_or_windows_1252() -> None:
    assert header_text("Grüße".encode()) == "Grüße"
    assert header_text("Grüße".encode("cp1252")) == "Grüße"
    assert header_text(b"  spaced \t out  ") == "spaced out"


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("iso-8859-1", "café".encode("latin-1"), "café"),
        ("us-ascii", "naïve €".encode("cp1252"), "naïve €"),  # mislabelled, as often seen
        ("koi8-r", "Привет".encode("koi8-r"), "Привет"),
        ("shift_jis", "こんにちは".encode("shift_jis"), "こんにちは"),
        ("gb2312", "你好".encode("gb18030"), "你好"),
        ("x-unknown", "grüß".encode(), "grüß"),
        ("utf-8", "ok ✓".encode(), "ok ✓"),
        ("no-such-charset", "fallback ✓".encode(), "fallback ✓"),
        ("utf-8", b"broken \xe9 utf8", "broken é utf8"),
    ],
)
def test_charsets(charset: str, payload: bytes, expected: str) -> None:
    assert decode_text(payload, charset) == expected


def test_every_byte_decodes() -> None:
    assert len(decode_text(bytes(range(256)), None)) == 256


def test_charset_labels() -> None:
    assert normalize_charset('"UTF-8"') == "utf-8"
    assert normalize_charset("unknown-8bit") is None
    assert normalize_charset("") is None


# An OSC 52 sequence (the terminal writes its payload to the clipboard), a CSI in its
# 8-bit C1 form, a NEL and the Unicode line separator: none may survive in stored text.
HOSTILE = (
    b"Subject: =?utf-8?Q?Invoice=1B]52;c;ZXZpbA=3D=3D=07_due?= =?utf-8?B?wps=?=[2J "
    b"=?utf-8?Q?next=C2=85line=E2=80=A8end?=\r\n"
    b"From: =?utf-8?Q?Eve=1B[31m?= <eve@example.org>\r\n\r\n"
)


def test_controls_are_stripped_from_header_values() -> None:
    assert header_text(b"=?utf-8?Q?a=00b=7Fc=C2=9Fd?=") == "a b c d"
    assert header_text(b"tab\tand\x1b[1mbold") == "tab and [1mbold"
    assert header_text("kept: Grüße ✓ 日本".encode()) == "kept: Grüße ✓ 日本"


def test_the_list_and_the_reading_pane_decode_a_header_alike() -> None:
    record = summarize(FetchResponse(seq=1, uid=1, header=HOSTILE))
    shown = parse_message(HOSTILE + b"body\r\n")
    expected = "Invoice ]52;c;ZXZpbA== due [2J next line end"
    assert record.subject == shown.subject == expected
    assert record.sender == shown.sender == "Eve [31m <eve@example.org>"


def test_a_header_set_in_code_reads_back() -> None:
    message = email.message_from_bytes(b"Subject: x\r\n\r\n", policy=email.policy.default)
    message.replace_header("Subject", "Réunion à 10 h")
    assert parse_message(message.as_bytes()).subject == "Réunion à 10 h"


# Python has a codec named "undefined" that raises UnicodeError on any input, and its codec
# lookup raises ValueError for a label with NUL: both are labels seen in hostile mail.
@pytest.mark.parametrize("label", ["undefined", "UNDEFINED", "utf-8\x00", "\x00", "unicode_escape"])
def test_charset_labels_that_name_no_mail_codec_fall_back(label: str) -> None:
    assert normalize_charset(label) is None
    assert decode_text("café \\x41".encode(), label) == "café \\x41"
    assert decode_text("caf\xe9".encode("cp1252"), label) == "café"


def test_one_bad_encoded_word_mangles_only_itself() -> None:
    raw = b"=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?undefined?Q?caf=C3=A9?= =?iso-8859-1?Q?d=E9j=E0?= end"
    assert header_text(raw) == "Grüßecafédéjà end"
    # Two words whose bytes are no UTF-8 together: each falls back on its own.
    assert decode_words("=?utf-8?Q?=E9?= =?utf-8?Q?=E2=9C=93?=") == "é✓"
    assert header_text(b"=?utf-8\x00?Q?caf=C3=A9?=") == "café"


def test_a_header_with_an_undefined_word_keeps_the_other_headers() -> None:
    header = (
        b"From: =?utf-8?Q?Zo=C3=AB?= <zoe@example.org>\r\n"
        b"To: =?undefined?Q?Bob?= <bob@example.org>\r\n"
        b"Subject: =?undefined?Q?Hello_=E2=9C=93?=\r\n"
        b'Content-Type: text/plain; charset="utf-8\x00"\r\n'
        b"Date: Fri, 07 Jun 2024 10:20:30 +0200\r\n\r\n"
    )
    record = summarize(FetchResponse(seq=1, uid=1, header=header))
    assert record.sender == "Zoë <zoe@example.org>"
    assert record.recipients == "Bob <bob@example.org>"
    assert record.subject == "Hello ✓"
    assert record.date == 1_717_748_430
    shown = parse_message(header + "Grüße".encode())
    assert (shown.subject, shown.sender, shown.plain) == ("Hello ✓", record.sender, "Grüße")


def test_a_body_in_an_undefined_charset_opens() -> None:
    raw = b"Subject: x\r\nContent-Type: text/plain; charset=undefined\r\n\r\nGr\xc3\xbc\xc3\x9fe\n"
    assert parse_message(raw).plain == "Grüße\n"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("\u202egnp.exe", "gnp.exe"),
        ("a\u2066b\u2069c\u202ad\u202ce", "abcde"),
        ("pay\u200bpal \ufeffsupport\u2060", "paypal support"),
        ("soft\u00adhyphen \u3164filler", "softhyphen filler"),
        ("a\u200db\u200c", "ab"),
        # Joiners between non-ASCII characters shape emoji and scripts: they stay.
        ("\U0001f468\u200d\U0001f469", "\U0001f468\u200d\U0001f469"),
        ("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",) * 2,
        # Marks cannot reorder letters; right-to-left text uses them.
        ("\u05e9\u05dc\u05d5\u05dd\u200f!", "\u05e9\u05dc\u05d5\u05dd\u200f!"),
    ],
)
def test_header_text_drops_bidi_controls_and_invisible_characters(raw: str, text: str) -> None:
    assert header_text(raw.encode()) == text
    assert summarize(FetchResponse(1, uid=1, header=b"Subject: " + raw.encode())).subject == text


@pytest.mark.parametrize("charset", ["utf-8", "shift_jis", "utf-16", "windows-1252"])
def test_big_bodies_decode_alike_in_pieces(charset: str) -> None:
    text = "Grüße, こんにちは — ✓\n" * 150_000  # multi-byte characters across every piece
    payload = text.encode(charset, "replace")
    assert len(payload) > 2 * 2**20
    assert decode_text(payload, charset) == payload.decode(charset)


def test_a_big_body_that_is_no_utf8_falls_back_whole() -> None:
    payload = "café ".encode("cp1252") * 400_000
    assert decode_text(payload, "utf-8") == "café " * 400_000
