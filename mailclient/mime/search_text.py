"""The text of a received message for the full-text index: body, quoted lines, file names."""

from __future__ import annotations

from typing import NamedTuple

from mailclient.mime.html_text import html_to_text
from mailclient.mime.parse import parse_message


class IndexedText(NamedTuple):
    """What the index keeps of a body (mailclient.store.search.BodyText)."""

    body: str  # the text a reader sees, HTML turned into text, without quoted lines
    quoted: str  # lines quoted from earlier messages (``>``), found too but apart
    filenames: str  # the attachments' names, one a line


def indexed_text(raw: bytes) -> IndexedText:
    """The index text of ``raw``: the displayed body (plain text, else the HTML's text)."""
    parsed = parse_message(raw)
    if parsed.plain is not None:
        text = parsed.plain
    elif parsed.html is not None:
        text = html_to_text(parsed.html)
    else:
        text = ""
    own: list[str] = []
    quoted: list[str] = []
    for line in text.splitlines():
        (quoted if line.lstrip().startswith(">") else own).append(line)
    names = "\n".join(a.filename for a in parsed.attachments if a.filename)
    return IndexedText("\n".join(own), "\n".join(quoted), names)
