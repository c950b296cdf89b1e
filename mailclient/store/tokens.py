"""How text is prepared for the full-text index, the same way for what is stored and searched.

The index uses SQLite's ``unicode61`` tokenizer, which splits at anything that is not a
letter or a digit and folds case. Two things it does not do well are done here first:

- Folding: ``Grüße`` must be found as ``grusse``, ``Ελλάδα`` as ``ελλαδα``. Text is
  casefolded (ß -> ss, final sigma) and its combining marks are dropped, for every script
  (unicode61's remove_diacritics knows Latin only).
- Chinese and Japanese have no spaces between words, so unicode61 would keep a whole
  sentence as one token and a word inside it could never be found. Runs of CJK characters
  (and Hangul, whose words carry particles) are written as overlapping pairs, the way
  Lucene's CJK analyzer does: 東京都 -> 東京 京都. A two-character word, the most common
  length, is then one token, and a longer one a phrase of pairs. A trigram index would
  miss two-character words and be about three times larger.

ASCII text, most of a mailbox, returns unchanged at once.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_CJK = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0002fa1f"  # CJK extensions B and later
)


@functools.cache
def _cjk_run() -> re.Pattern[str]:
    """Compiled at first use: the ranges take 2 ms to compile, and a process that opens the
    store to sync nothing new, or indexes ASCII text only, never needs them."""
    return re.compile(f"[{_CJK}]+")


_KANA_MARKS = {0x3099, 0x309A}  # the voicing marks of kana are part of the letter


class _Unmarked(dict[int, int | str | None]):
    """str.translate's table for folding: each character as it is once combining marks
    are dropped (None for a mark, the bare letter for a letter that carries some, else
    itself). Filled as characters are met: the whole of Unicode up front would take a
    second at every start.

    Translating the casefolded text and composing it (NFC) gives what decomposing it
    (NFD), dropping its marks and composing it again would give (the tests hold the two
    alike for every character), at a third of the cost: no Python-level step per
    character, and most characters need neither decomposing nor composing.
    """

    def __missing__(self, code: int) -> int | str | None:
        kept: int | str | None = code
        if code not in _KANA_MARKS:
            decomposed = unicodedata.normalize("NFD", chr(code))
            letter = "".join(c for c in decomposed if not _is_mark(c))
            if not letter:
                kept = None
            elif letter != decomposed:
                kept = unicodedata.normalize("NFC", letter)
        self[code] = kept
        return kept


def _is_mark(char: str) -> bool:
    return ord(char) not in _KANA_MARKS and unicodedata.category(char) == "Mn"


_UNMARKED = _Unmarked()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text.casefold().translate(_UNMARKED))


def _pairs(run: str, last_alone: bool) -> str:
    if len(run) == 1:
        return f" {run} "
    pairs = " ".join(run[i : i + 2] for i in range(len(run) - 1))
    # The last character alone as well, so that a one-character search finds it there too.
    return f" {pairs} {run[-1]} " if last_alone else f" {pairs} "


def index_text(text: str) -> str:
    """``text`` as the index stores it."""
    if text.isascii():
        return text
    return _cjk_run().sub(lambda m: _pairs(m[0], last_alone=True), _fold(text))


def search_text(text: str) -> str:
    """A searched word or phrase as index text: the tokenizer splits it the same way.

    The last character of a CJK run is not repeated alone, so that 東京 stays one token
    and finds 東京都 (東京 京都 都) as well.
    """
    if text.isascii():
        return text
    return _cjk_run().sub(lambda m: _pairs(m[0], last_alone=False), _fold(text))
