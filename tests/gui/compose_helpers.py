"""Helpers for driving compose windows and their dialogs in GUI tests."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QAbstractButton, QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from mailclient.accounts.model import Account


def account(name: str = "work", email: str = "alice@example.org", **changes: object) -> Account:
    values: dict[str, object] = {
        "name": name,
        "email": email,
        "display_name": "Alice Example",
        "imap_host": "imap.example.org",
        "smtp_host": "smtp.example.org",
    }
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


_ANSWERING: list[DialogAnswerer] = []  # kept alive until their answers are given


class DialogAnswerer:
    """Answers the next modal dialog by clicking the button with the given text.

    Records each dialog's text, so a test can check what was asked.
    """

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.seen: list[str] = []
        self._answers: list[str] = []
        self._timer = QTimer()
        self._timer.setInterval(20)
        self._timer.timeout.connect(self._poll)

    def answer(self, *buttons: str) -> DialogAnswerer:
        """Click these buttons (by their text without '&'), one per dialog, in order."""
        self._answers.extend(buttons)
        self._timer.start()
        if self not in _ANSWERING:
            _ANSWERING.append(self)
        return self

    def _poll(self) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or not self._answers:
            return
        if isinstance(dialog, QMessageBox):
            self.seen.append(dialog.text())
        wanted = self._answers.pop(0)
        button = _button(dialog, wanted)
        if button is None:
            names = [b.text() for b in dialog.findChildren(QAbstractButton)]
            raise AssertionError(f"no button {wanted!r} in the dialog; there are {names}")
        button.click()
        if not self._answers:
            self.stop()

    def done(self) -> bool:
        return not self._answers

    def stop(self) -> None:
        self._answers.clear()
        self._timer.stop()
        if self in _ANSWERING:
            _ANSWERING.remove(self)


def _button(dialog: QWidget, text: str) -> QAbstractButton | None:
    for button in dialog.findChildren(QAbstractButton):
        if button.text().replace("&", "") == text:
            return button
    return None


def is_closed(window: QWidget) -> bool:
    """Closed (compose windows delete themselves when closed)."""
    return not shiboken6.isValid(window) or not window.isVisible()


def close_discarding(qtbot: QtBot, window: QWidget) -> None:
    """Close a window a test left open, answering "Discard" if it asks."""
    if is_closed(window):
        return
    answers = DialogAnswerer(qtbot).answer("Discard")
    window.close()
    answers.stop()
