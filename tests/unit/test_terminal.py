"""Text for a terminal: controls, bidi controls and invisible characters are shown escaped."""

from __future__ import annotations

import json

import pytest

from mailclient.app.terminal import printable, printable_json


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b]52;c;eA==\x07b", "a\\x1b]52;c;eA==\\x07b"),
        ("\x9b2J", "\\x9b2J"),
        ("invoice \u202egnp.exe", "invoice \\u202egnp.exe"),
        ("\u2066isolated\u2069", "\\u2066isolated\\u2069"),
        ("pay\u200bpal\ufeff", "pay\\u200bpal\\ufeff"),
        ("line\u2028break", "line\\u2028break"),
        # Text as it should be stays: tabs, line feeds, right-to-left marks, emoji joiners.
        ("tab\tnew\nline", "tab\tnew\nline"),
        ("\u05e9\u05dc\u05d5\u05dd\u200f!", "\u05e9\u05dc\u05d5\u05dd\u200f!"),
        ("\U0001f468\u200d\U0001f469", "\U0001f468\u200d\U0001f469"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_printable_json_reads_back_as_the_text() -> None:
    text = "Old\x9b2J \u202egnp.exe \u200b"
    document = printable_json(json.dumps({"subject": text}, ensure_ascii=False))
    assert "\u202e" not in document and "\\u202e" in document
    assert json.loads(document)["subject"] == text
