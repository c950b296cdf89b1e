"""Spell checking in the compose window, with the system's real Hunspell dictionaries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from mailclient.accounts.identities import identities_of
from mailclient.core.draft import Draft
from mailclient.ui.compose.spelling import (
    LANGUAGES_FILE,
    PERSONAL_DICTIONARY,
    Spelling,
    available_languages,
    words_to_check,
)
from mailclient.ui.compose.window import ComposeWindow
from tests.gui.compose_helpers import account, close_discarding
from tests.support.waiting import wait_until

ACCOUNTS = [account(), account("home", "alice@home.example", display_name="Alice")]


def words(text: str) -> list[str]:
    return [text[start : start + length] for start, length in words_to_check(text)]


def test_what_counts_as_a_word() -> None:
    assert words("Don\u2019t check http://x.org/helo, bob@helo.org or NASA; helo l'été") == [
        "Don\u2019t",
        "check",
        "or",
        "helo",
        "l'été",
    ]
    assert words("3rd file_name iPhone x C:\\helo /usr/helo Über") == ["Über"]
    assert words("> quoted helo") == []
    assert words("   >> quoted helo") == []


def test_the_ci_machine_has_the_dictionaries() -> None:
    # tools/apt-packages.txt installs these; without them the tests below prove nothing.
    assert {"en_US", "de_DE"} <= set(available_languages())


@pytest.fixture
def spelling(qtbot: QtBot, tmp_path: Path) -> Spelling:
    loaded = Spelling(tmp_path)
    wait_until(lambda: loaded.ready, qtbot=qtbot)
    return loaded


@pytest.fixture
def open_window(qtbot: QtBot, spelling: Spelling) -> Iterator[Callable[..., ComposeWindow]]:
    opened: list[ComposeWindow] = []

    def open_one(body: str, sender_index: int = 0) -> ComposeWindow:
        identities = identities_of(ACCOUNTS)
        identity = identities[sender_index]
        draft = Draft(account=identity.account, sender=identity.sender, body=body)
        window = ComposeWindow(draft, identities, spelling=spelling)
        window.show()
        opened.append(window)
        return window

    yield open_one
    for window in opened:
        close_discarding(qtbot, window)


def marked(window: ComposeWindow) -> list[str]:
    """The words shown underlined as misspelled."""
    found = []
    block = window.body_edit.document().begin()
    while block.isValid():
        for span in block.layout().formats():
            if span.format.underlineStyle() != span.format.underlineStyle().NoUnderline:
                found.append(block.text()[span.start : span.start + span.length])
        block = block.next()
    return found


def cursor_in(window: ComposeWindow, word: str) -> QTextCursor:
    cursor = window.body_edit.textCursor()
    cursor.setPosition(window.body_edit.toPlainText().index(word) + 1)
    return cursor


def test_misspelled_words_are_marked_and_corrected(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window("I wrote helo to the teh team.\n\n> a quoted wrld\n\n-- \nAlice Exampel\n")
    window.choose_language("en_US")
    wait_until(lambda: marked(window) == ["helo", "teh"], qtbot=qtbot)

    actions = window.spelling_actions(cursor_in(window, "helo"))
    texts = [a.text() for a in actions]
    assert "hello" in texts and texts[-1] == "Add “helo” to Dictionary"
    next(a for a in actions if a.text() == "hello").trigger()
    assert window.body_edit.toPlainText().startswith("I wrote hello to the teh team.")
    wait_until(lambda: marked(window) == ["teh"], qtbot=qtbot)
    assert window.spelling_actions(cursor_in(window, "wrote")) == []


def test_added_words_are_kept_in_the_profile(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], tmp_path: Path
) -> None:
    window = open_window("Our product Zorblax ships today.")
    window.choose_language("en_US")
    wait_until(lambda: marked(window) == ["Zorblax"], qtbot=qtbot)
    window.spelling_actions(cursor_in(window, "Zorblax"))[-1].trigger()
    wait_until(lambda: marked(window) == [], qtbot=qtbot)
    assert "Zorblax" in (tmp_path / PERSONAL_DICTIONARY).read_text()
    assert (tmp_path / PERSONAL_DICTIONARY).stat().st_mode & 0o077 == 0

    later = Spelling(tmp_path)  # the next start
    wait_until(lambda: later.ready, qtbot=qtbot)
    later.dictionary("en_US")
    wait_until(lambda: later.dictionary("en_US") is not None, qtbot=qtbot)
    dictionary = later.dictionary("en_US")
    assert dictionary is not None and dictionary.check("Zorblax")


def test_the_language_is_remembered_per_sender(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], tmp_path: Path, spelling: Spelling
) -> None:
    window = open_window("Ich habe heute keine Zeit.")
    window.choose_language("en_US")
    wait_until(lambda: "keine" in marked(window), qtbot=qtbot)
    window.choose_language("de_DE")
    wait_until(lambda: marked(window) == [], qtbot=qtbot)
    assert window.language_button.text() == "German (Germany)"
    sender = identities_of(ACCOUNTS)[0].sender

    def saved() -> str:
        path = tmp_path / LANGUAGES_FILE
        return str(json.loads(path.read_text())["languages"][sender]) if path.exists() else ""

    wait_until(lambda: saved() == "de_DE", qtbot=qtbot)

    again = open_window("Noch ein Brief.")  # the same sender: German at once
    wait_until(lambda: again.language_button.text() == "German (Germany)", qtbot=qtbot)
    other = open_window("Another leter.", sender_index=1)  # another sender: the default
    assert spelling.language_for(identities_of(ACCOUNTS)[1].sender) != "de_DE"
    other.choose_language("en_US")
    wait_until(lambda: marked(other) == ["leter"], qtbot=qtbot)
    other.choose_language("")  # off
    wait_until(lambda: marked(other) == [], qtbot=qtbot)
    assert other.language_button.text() == "No spelling"
