"""Spell checking while writing: the system's Hunspell dictionaries through Enchant.

Enchant (pyenchant) reads the dictionaries Debian and other systems install
(hunspell-en-us, hunspell-de-de, ...) and checks words in this process: no text is ever
sent anywhere. Words the user adds go to ``dictionary.txt`` in the profile, shared by every
language. Which language a message is checked in is remembered per sender address in
``spelling.json``. Dictionaries load off the GUI thread (a tenth of a second each); until
one is there, nothing is marked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from mailclient.core.atomic import write_atomic
from mailclient.workers.tasks import run_task

log = logging.getLogger(__name__)

PERSONAL_DICTIONARY = "dictionary.txt"
LANGUAGES_FILE = "spelling.json"
MAX_SUGGESTIONS = 6
OFF = ""  # the language that means "do not check"

# Letters with apostrophes inside ("don't", "l'été"); a word with digits or underscores
# ("3rd", "file_name") is not one to check.
_WORD = re.compile(r"(?<![\w'\u2019])[^\W\d_]+(?:['\u2019][^\W\d_]+)*(?!\w)")
# Addresses, links and paths are not words to check.
_NOT_TEXT = re.compile(r"\S+@\S+|[a-zA-Z][\w+.-]*://\S+|www\.\S+|\S*[/\\]\S*")
_SIGNATURE = "-- "
_IN_SIGNATURE = 1


def words_to_check(text: str) -> list[tuple[int, int]]:
    """(start, length) of each word of one line worth checking.

    Quoted lines, links, addresses and paths, words with capitals after the first letter
    (acronyms, product names) and single letters are left alone."""
    if text.lstrip().startswith(">"):
        return []
    skipped = [m.span() for m in _NOT_TEXT.finditer(text)]
    spans = []
    for match in _WORD.finditer(text):
        start, end = match.span()
        word = match.group()
        if len(word) < 2 or any(c.isupper() for c in word[1:]):
            continue
        if any(s < end and start < e for s, e in skipped):
            continue
        spans.append((start, end - start))
    return spans


def language_name(code: str) -> str:
    """A language code as people read it: "en_US" -> "English (United States)"."""
    locale = QLocale(code)
    if locale.language() == QLocale.Language.C:
        return code
    name = QLocale.languageToString(locale.language())
    if "_" in code:
        name += f" ({QLocale.territoryToString(locale.territory())})"
    return name


class Dictionary:
    """One language's word list plus the user's own words; checks and suggests."""

    def __init__(self, language: str, personal: Path) -> None:
        import enchant

        personal.touch(mode=0o600, exist_ok=True)
        self.language = language
        self._dict = enchant.DictWithPWL(language, str(personal))
        self._known: dict[str, bool] = {}

    def check(self, word: str) -> bool:
        known = self._known.get(word)
        if known is None:
            # Dictionaries spell "don't" with the ASCII apostrophe; editors type U+2019.
            known = bool(self._dict.check(word) or self._dict.check(word.replace("\u2019", "'")))
            self._known[word] = known
        return known

    def suggest(self, word: str) -> list[str]:
        return list(self._dict.suggest(word))[:MAX_SUGGESTIONS]

    def add(self, word: str) -> None:
        """Add ``word`` to the personal dictionary (the file in the profile)."""
        self._dict.add(word)
        self._known[word] = True


def available_languages() -> list[str]:
    """The dictionaries installed on this system; [] when Enchant itself is missing."""
    try:
        import enchant
    except ImportError:
        return []
    except OSError as error:  # the C library is not installed
        log.info("Spell checking is off: %s", error)
        return []
    return sorted(set(enchant.list_languages()))


class Spelling(QObject):
    """The profile's dictionaries and chosen languages, shared by all compose windows."""

    loaded = Signal(str)  # a language whose dictionary can now be used

    def __init__(self, profile_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = profile_root
        self.languages: list[str] = []
        self._chosen: dict[str, str] = {}
        self._dictionaries: dict[str, Dictionary] = {}
        self._loading: set[str] = set()
        self.ready = False
        # One writer at a time, in order: the last choice is the one that stays on disk.
        self._writer = QThreadPool(self)
        self._writer.setMaxThreadCount(1)
        run_task(self, self._read, self._have_read, self._failed)

    # -- reading, off the GUI thread --------------------------------------------------------------

    def _read(self) -> tuple[list[str], dict[str, str]]:
        chosen: dict[str, str] = {}
        try:
            data = json.loads((self._root / LANGUAGES_FILE).read_text("utf-8"))
            languages = data.get("languages", {}) if isinstance(data, dict) else {}
            chosen = {str(k): str(v) for k, v in languages.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, AttributeError) as error:
            log.warning("The spelling languages could not be read: %s", error)
        return available_languages(), chosen

    def _have_read(self, result: tuple[list[str], dict[str, str]]) -> None:
        self.languages, self._chosen = result
        self.ready = True
        self.loaded.emit("")

    def _failed(self, error: Exception) -> None:
        log.warning("Spell checking is not available: %s", error)

    # -- languages ------------------------------------------------------------------------------

    def language_for(self, sender: str) -> str:
        """The language last used for ``sender``, else the desktop's, else the first one."""
        if sender in self._chosen:
            chosen = self._chosen[sender]
            if chosen == OFF or chosen in self.languages:
                return chosen
        system = QLocale.system().name()
        for candidate in (system, system.split("_")[0], "en_US"):
            if candidate in self.languages:
                return candidate
        return self.languages[0] if self.languages else OFF

    def remember(self, sender: str, language: str) -> None:
        """Check what ``sender`` writes in ``language`` from now on (saved in the background)."""
        if self._chosen.get(sender) == language:
            return
        self._chosen[sender] = language
        path, data = self._root / LANGUAGES_FILE, {"languages": dict(self._chosen)}
        run_task(self, lambda: _write_json(path, data), lambda _: None, self._failed, self._writer)

    def dictionary(self, language: str) -> Dictionary | None:
        """The dictionary if it is loaded; otherwise start loading it and say so by ``loaded``."""
        if language == OFF or language not in self.languages:
            return None
        found = self._dictionaries.get(language)
        if found is None and language not in self._loading:
            self._loading.add(language)
            personal = self._root / PERSONAL_DICTIONARY
            run_task(
                self,
                lambda: Dictionary(language, personal),
                self._have_dictionary,
                self._failed,
            )
        return found

    def _have_dictionary(self, dictionary: Dictionary) -> None:
        self._loading.discard(dictionary.language)
        self._dictionaries[dictionary.language] = dictionary
        self.loaded.emit(dictionary.language)

    def add_word(self, word: str) -> None:
        """Accept ``word`` in every language from now on."""
        for dictionary in self._dictionaries.values():
            dictionary.add(word)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1).encode())


class SpellHighlighter(QSyntaxHighlighter):
    """Underlines the words the dictionary does not know, below no quote or signature."""

    def __init__(self, document: QTextDocument, check: Callable[[str], bool] | None) -> None:
        super().__init__(document)
        self._check = check
        self._format = QTextCharFormat()
        self._format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SpellCheckUnderline)
        self._format.setUnderlineColor(QColor(Qt.GlobalColor.red))

    def set_check(self, check: Callable[[str], bool] | None) -> None:
        self._check = check
        self.rehighlight()

    def is_misspelled(self, word: str) -> bool:
        return self._check is not None and bool(word) and not self._check(word)

    def highlightBlock(self, text: str) -> None:
        in_signature = self.previousBlockState() == _IN_SIGNATURE or text == _SIGNATURE
        self.setCurrentBlockState(_IN_SIGNATURE if in_signature else 0)
        if self._check is None or in_signature:
            return
        for start, length in words_to_check(text):
            if not self._check(text[start : start + length]):
                self.setFormat(start, length, self._format)
