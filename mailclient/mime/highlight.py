"""Search hits marked in a shown message: the words of a query, found as the index finds them.

The full-text index folds case and drops accents (mailclient.store.tokens), so ``grusse``
finds ``Grüße``; the marks follow the same rules on the text as it is shown. A free word
also matches as the start of a longer word (``invoice`` marks ``invoices`` whole); a
quoted phrase matches whole words in order, whatever punctuation or spaces stand between
them. Chinese and Japanese, written without spaces, match anywhere in a run.

mark_hits() works on the HTML the reading pane shows (the sanitized document, or plain
text rendered as HTML): only text between tags is searched, never inside a tag, an entity
or a <style>, and what it adds is a <span> around each hit and an empty one with an id
before the first.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Sequence

# A term to mark: its text, and whether it is a quoted phrase (whole words only).
HighlightTerm = tuple[str, bool]

HIT_CLASS = "search-hit"
# Inline, because the plain-text view (Qt's rich text) knows no style sheets for classes.
MARK_COLOUR = "#ffe14d"
MARK_OPEN = f'<span class="{HIT_CLASS}" style="background-color:{MARK_COLOUR}; color:#000000;">'
MARK_CLOSE = "</span>"
# Before the first hit, so that a web view can scroll there (a URL fragment). A <span>,
# not an <a name>: an <a> opened inside a link closes the link.
FIRST_HIT = "search-hit"
_FIRST_ANCHOR = f'<span id="{FIRST_HIT}"></span>'

_TAG = re.compile(r"(<[^>]*>)")
# Elements whose text is not shown as such: never searched.
_HIDDEN_OPEN = re.compile(r"<(style|script|title|textarea|head)\b", re.I)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"[^\W_]+")
_KANA_MARKS = {"\u3099", "\u309a"}
MAX_HITS = 2_000  # marks in one message; a longer list says little more


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char.casefold())
    return "".join(c for c in decomposed if c in _KANA_MARKS or unicodedata.category(c) != "Mn")


def fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` folded as the index folds it, and where each folded character came from
    in ``text`` (None: the same place, as for ASCII)."""
    if text.isascii():
        return text.lower(), None
    parts: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        folded = char.lower() if char.isascii() else _fold_char(char)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


def hit_pattern(terms: Sequence[HighlightTerm]) -> re.Pattern[str] | None:
    """One expression that finds every term in folded text; None when nothing is to be marked."""
    alternatives = []
    for text, phrase in terms:
        words = _WORD.findall(fold(text)[0])
        if not words:
            continue
        pieces = []
        for position, word in enumerate(words):
            cjk = bool(_CJK.search(word))
            piece = re.escape(word)
            if not cjk and position == 0:
                piece = r"(?<![^\W_])" + piece
            if not cjk and position == len(words) - 1:
                piece += r"(?![^\W_])" if phrase else r"[^\W_]*"
            pieces.append(piece)
        alternatives.append(r"[\W_]+".join(pieces))
    if not alternatives:
        return None
    # Longer terms first, so that a phrase is marked whole rather than as its first word.
    alternatives.sort(key=len, reverse=True)
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def mark_hits(document: str, terms: Sequence[HighlightTerm]) -> tuple[str, int]:
    """``document`` (HTML) with every hit of ``terms`` in its text marked; and how many."""
    pattern = hit_pattern(terms)
    if pattern is None or not document:
        return document, 0
    pieces = _TAG.split(document)
    hidden: str | None = None  # the element whose text is skipped, until it closes
    count = 0
    for index, piece in enumerate(pieces):
        if index % 2:  # a tag
            if hidden is None:
                opened = _HIDDEN_OPEN.match(piece)
                if opened is not None and not piece.endswith("/>"):
                    hidden = opened.group(1).lower()
            elif piece[:2] == "</" and piece[2:].lstrip().lower().startswith(hidden):
                hidden = None
            continue
        if hidden is not None or not piece or count >= MAX_HITS:
            continue
        marked, found = _mark_text(piece, pattern, MAX_HITS - count)
        if found:
            pieces[index] = (
                marked if count else marked.replace(MARK_OPEN, _FIRST_ANCHOR + MARK_OPEN, 1)
            )
            count += found
    return "".join(pieces), count


def _mark_text(escaped: str, pattern: re.Pattern[str], most: int) -> tuple[str, int]:
    """The text of one HTML text node with its hits marked (entities read, not searched)."""
    text = html.unescape(escaped) if "&" in escaped else escaped
    folded, origin = fold(text)
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(folded):
        if len(spans) >= most:
            break
        if origin is None:
            spans.append((match.start(), match.end()))
            continue
        end = origin[match.end() - 1] + 1
        while end < len(text) and unicodedata.category(text[end]) == "Mn":
            end += 1  # an accent written apart stays with its letter
        spans.append((origin[match.start()], end))
    if not spans:
        return escaped, 0
    out = []
    last = 0
    for start, end in spans:
        if start < last:
            continue
        out.append(html.escape(text[last:start], quote=False))
        out.append(MARK_OPEN + html.escape(text[start:end], quote=False) + MARK_CLOSE)
        last = end
    out.append(html.escape(text[last:], quote=False))
    return "".join(out), len(spans)
