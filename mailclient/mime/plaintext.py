"""Plain-text bodies as simple HTML for a text view: links made clickable, quotes set off.

The output uses only what Qt's rich-text engine understands (no scripts, no images, no
external anything); every piece of the original text is HTML-escaped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

# Thunderbird's quote colours, by depth.
QUOTE_COLOURS = ("#1d5fa8", "#2e7d32", "#a0312a", "#7b4f9d")
SIGNATURE_COLOUR = "#6b6b6b"
_INDENT_PX = 14

_LINK = re.compile(
    r"(?P<url>\b(?:https?|ftp)://[^\s<>\"]+|\bwww\.[^\s<>\"]+)"
    r"|(?P<mail>\b(?:mailto:)?[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_TRAILING = ".,;:!?'\""
_QUOTE_PREFIX = re.compile(r"^(?: ?>)+ ?")


def plain_to_html(text: str) -> str:
    """An HTML rendering of a plain-text body for QTextBrowser.

    Quoted lines lose their ``>`` markers and are indented and coloured by depth instead.
    """
    blocks: list[str] = []
    for depth, signature, lines in _blocks(text):
        colour = (
            SIGNATURE_COLOUR
            if signature
            else QUOTE_COLOURS[(depth - 1) % len(QUOTE_COLOURS)]
            if depth
            else ""
        )
        style = "margin-top:0; margin-bottom:0; white-space:pre-wrap;"
        if depth:
            style += f" margin-left:{depth * _INDENT_PX}px;"
        if colour:
            style += f" color:{colour};"
        content = "<br>".join(
            linkify(_QUOTE_PREFIX.sub("", line) if depth else line) for line in lines
        )
        blocks.append(f'<p style="{style}">{content}</p>')
    return "\n".join(blocks)


def linkify(line: str) -> str:
    """Escape ``line`` and turn URLs and addresses in it into links."""
    out: list[str] = []
    position = 0
    for match in _LINK.finditer(line):
        target = match.group(0)
        trimmed = _trim(target)
        end = match.start() + len(trimmed)
        out.append(html.escape(line[position : match.start()]))
        if match.group("mail"):
            href = trimmed if trimmed.lower().startswith("mailto:") else f"mailto:{trimmed}"
        elif trimmed.lower().startswith("www."):
            href = f"http://{trimmed}"
        else:
            href = trimmed
        out.append(f'<a href="{html.escape(href)}">{html.escape(trimmed)}</a>')
        position = end
    out.append(html.escape(line[position:]))
    return "".join(out)


def quote_depth(line: str) -> int:
    """How many ``>`` quote markers start ``line`` (spaces between them allowed)."""
    depth = 0
    for char in line:
        if char == ">":
            depth += 1
        elif char != " ":
            break
    return depth


def _trim(url: str) -> str:
    # Sentence punctuation after a URL is not part of it; a ")" is, when it closes a "(".
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _blocks(text: str) -> Iterator[tuple[int, bool, list[str]]]:
    """Runs of consecutive lines with the same quote depth; the signature as its own run."""
    current: list[str] = []
    current_depth = 0
    in_signature = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "-- " and not in_signature:
            if current:
                yield current_depth, False, current
            current, current_depth, in_signature = [], 0, True
        if in_signature:
            current.append(line)
            continue
        depth = quote_depth(line)
        if current and depth != current_depth:
            yield current_depth, False, current
            current = []
        current_depth = depth
        current.append(line)
    while current and in_signature and not current[-1].strip():
        current.pop()
    if current:
        yield current_depth, in_signature, current
