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
