"""format=flowed wrapping (RFC 3676)."""

from __future__ import annotations

import re

from mailclient.mime.flowed import encode_flowed


def unflow(text: str) -> str:
    """A straightforward RFC 3676 §4 reader, to check that wrapping loses nothing."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if pending is not None and depth != pending_depth:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
            pending = None
        soft = content.endswith(" ") and content != "-- "
        pending = (pending or "") + content
        pending_depth = depth
        if not soft:
            out.append(">" * depth + (" " if depth else "") + pending)
            pending = None
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


LONG = (
    "The quick brown fox jumps over the lazy dog, and then it jumps over the lazy dog "
    "again, because one jump was never going to be enough for a fox of its ambition."
)


def test_short_lines_are_unchanged() -> None:
    assert encode_flowed("Hello Bob,\n\nsee you.") == "Hello Bob,\n\nsee you."


def test_long_paragraph_wraps_with_soft_breaks() -> None:
    lines = encode_flowed(LONG).split("\n")
    assert len(lines) > 1
    assert all(len(line) <= 72 for line in lines)
    assert all(line.endswith(" ") for line in lines[:-1])
    assert not lines[-1].endswith(" ")
    assert unflow("\n".join(lines)) == LONG


def test_quoted_lines_keep_their_depth() -> None:
    text = f"> {LONG}\n>> nested\nmine"
    lines = encode_flowed(text).split("\n")
    assert all(line.startswith("> ") for line in lines[:-2])
    assert lines[-2:] == [">> nested", "mine"]
    assert unflow(encode_flowed(text)) == text


def test_trailing_spaces_are_hard_breaks_and_signature_stays() -> None:
    text = "line with spaces   \nnext\n-- \nAlice"
    assert encode_flowed(text) == "line with spaces\nnext\n-- \nAlice"


def test_space_stuffing() -> None:
    assert encode_flowed("From here\n indented\n>quoted") == (" From here\n  indented\n> quoted")


def test_a_word_longer_than_the_line_is_not_cut() -> None:
    url = "https://example.org/" + "a" * 100
    wrapped = encode_flowed(f"see {url} now")
    assert url in wrapped
    assert unflow(wrapped) == f"see {url} now"
    assert all(re.fullmatch(r"\S+ ?|see |now", line) for line in wrapped.split("\n"))
