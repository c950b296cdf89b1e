"""Plain text from an HTML body, for quoting and forwarding a message that has no text part.

Keeps what a reader needs: paragraphs, line breaks, list items, quotes as ``>`` lines and
where links go. Drops scripts, styles and everything else that is not text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_BLOCK = {
    "address",
    "article",
    "aside",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "figure",
    "footer",
    "form",
    "header",
    "main",
    "nav",
    "section",
    "table",
    "tr",
}
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "ul", "ol"}
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line = ""
        self._skip = 0
        self._pre = 0
        self._quote = 0
        self._lists: list[list[int | None]] = []  # per open list: [next number] or [None]
        self._links: list[tuple[str, int]] = []  # href and where its text starts
        self._blank_wanted = False
        self._blank_depth = 0

    # -- output -------------------------------------------------------------------------

    def _prefix(self) -> str:
        return "> " * self._quote

    def _break(self, blank: bool = False) -> None:
        if self._line.strip():
            self.lines.append(self._prefix() + self._line.rstrip())
        self._line = ""
        if blank and not self._blank_wanted:
            self._blank_wanted = True
            self._blank_depth = self._quote

    def _write(self, text: str) -> None:
        if not text:
            return
        if self._blank_wanted and self.lines and not self._line:
            # Between a quote and the text around it, the blank line belongs to neither.
            self.lines.append(("> " * min(self._blank_depth, self._quote)).rstrip())
        self._blank_wanted = False
        self._line += text

    def _spaced(self, tag: str) -> bool:
        """Whether ``tag`` stands apart by a blank line (a list inside a list does not)."""
        if tag in ("ul", "ol"):
            return not self._lists
        return tag in _PARAGRAPH or tag == "blockquote"

    # -- parser callbacks -----------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        values = {k: v or "" for k, v in attrs}
        if tag == "br":
            if self._line.strip():
                self._break()
            else:
                self.lines.append(self._prefix().rstrip())
        elif tag in _PARAGRAPH or tag in _BLOCK or tag in ("blockquote", "li", "hr"):
            self._break(blank=self._spaced(tag))
        if tag == "pre":
            self._pre += 1
        elif tag == "blockquote":
            self._quote += 1
        elif tag in ("ul", "ol"):
            self._lists.append([1 if tag == "ol" else None])
        elif tag == "li":
            indent = "  " * max(len(self._lists) - 1, 0)
            number = self._lists[-1][0] if self._lists else None
            if self._lists and number is not None:
                self._lists[-1][0] = number + 1
            self._write(f"{indent}{number}. " if number is not None else f"{indent}- ")
        elif tag == "hr":
            self._write("-" * 20)
            self._break()
        elif tag == "a":
            self._links.append((values.get("href", ""), len(self._line)))
        elif tag == "img" and values.get("alt", "").strip():
            self._write(f"[{values['alt'].strip()}]")
        elif tag in ("td", "th") and self._line.strip():
            self._write("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(self._skip - 1, 0)
            return
        if self._skip:
            return
        if tag == "a" and self._links:
            href, start = self._links.pop()
            text = self._line[start:].strip()
            target = href.removeprefix("mailto:")
            if href.startswith(("http:", "https:", "mailto:")) and target not in text:
                self._write(f" <{target}>")
        if tag == "pre":
            self._pre = max(self._pre - 1, 0)
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        if tag in _PARAGRAPH or tag in _BLOCK or tag in ("blockquote", "li"):
            self._break(blank=self._spaced(tag))
        if tag == "blockquote":
            self._quote = max(self._quote - 1, 0)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._write(first)
            for line in rest:
                self.lines.append(self._prefix() + self._line)
                self._line = line
            return
        text = _SPACES.sub(" ", data)
        if not self._line.strip():
            text = text.lstrip()
        self._write(text)

    def text(self) -> str:
        self._break()
        while self.lines and not self.lines[-1].strip(" >"):
            self.lines.pop()
        while self.lines and not self.lines[0].strip(" >"):
            self.lines.pop(0)
        return "\n".join(self.lines)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML document, lines joined by ``\\n``."""
    writer = _TextWriter()
    writer.feed(markup)
    writer.close()
    return writer.text()
