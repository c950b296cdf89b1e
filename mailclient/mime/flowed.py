"""Wrapping plain text as ``format=flowed`` (RFC 3676) for sending.

Long paragraphs become lines of at most ``width`` characters that end in a space (a soft
break): readers that know format=flowed join them again and rewrap to their window, the
others show neatly wrapped lines. Quoted lines keep their depth on every wrapped piece.
"""

from __future__ import annotations

import re

DEFAULT_WIDTH = 72
SIGNATURE_SEPARATOR = "-- "

_WORDS = re.compile(r"\S+\s*|\s+")


def _quote_depth(line: str) -> int:
    return len(line) - len(line.lstrip(">"))


def _needs_stuffing(content: str) -> bool:
    # §4.4: a line that starts with a space, ">" or "From " is stuffed with one space.
    return content.startswith((" ", ">", "From "))


def _pieces(content: str, width: int) -> list[str]:
    """Greedy wrap at spaces; every piece but the last ends with its space (a soft break)."""
    pieces: list[str] = []
    current = ""
    for word in _WORDS.findall(content):
        if current and len(current) + len(word.rstrip()) > width:
            pieces.append(current)
            current = word
        else:
            current += word
    pieces.append(current)
    # Only a final piece may end without a space; trailing spaces of the last piece would
    # read as a soft break into the next line.
    pieces[-1] = pieces[-1].rstrip(" ")
    return pieces


def encode_flowed(text: str, width: int = DEFAULT_WIDTH) -> str:
    """``text`` (lines joined by ``\\n``) as format=flowed text with ``\\n`` line ends."""
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line == SIGNATURE_SEPARATOR:
            out.append(line)
            continue
        depth = _quote_depth(line)
        content = line[depth:]
        if depth and content.startswith(" "):
            content = content[1:]  # the space after the quote marks is not part of the text
        content = content.rstrip(" ")
        prefix = ">" * depth
        room = max(width - depth - 1, 20)
        for piece in _pieces(content, room):
            stuffing = " " if depth or _needs_stuffing(piece) else ""
            out.append(prefix + stuffing + piece)
    return "\n".join(out)
