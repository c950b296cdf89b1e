"""The message window (Enter): the main window's actions and keys, and moving on to the next
message after Delete or Archive, as Thunderbird does."""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.message_model import MessageRole
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.window.main_window import MainWindow
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    RecordingMail,
    _open,
    _row,
    mail,
    profile,
    settings,
    store,
    window,
)

CTRL = Qt.KeyboardModifier.ControlModifier


class RecordingCompose:
    """What ComposeManager offers the window for replies and forwards."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def reply(self, account: str, raw: bytes, *, reply_all: bool = False) -> None:
        self.calls.append(("reply", account, reply_all, b"Hi Alice" in raw))

    def forward(self, account: str, raw: bytes) -> None:
        self.calls.append(("forward", account, b"Hi Alice" in raw))

    def close_all(self) -> bool:
        return True


def _message_window(qtbot: QtBot, window: MainWindow, subject: str) -> MessageWindow:
    _open(qtbot, window, subject)
    window.open_in_window()
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MessageWindow)]
    opened = next(w for w in shown if w.isVisible() and w.summary.subject == subject)
    opened.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is opened)
    return opened


def test_the_message_window_has_the_toolbar_and_keys(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail
) -> None:
    compose = RecordingCompose()
    window.compose = compose  # type: ignore[assignment]
    opened = _message_window(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: opened.pane.prepared is not None)
    assert [a.iconText() for a in opened.toolbar.actions()] == [
        "Reply",
        "Reply All",
        "Forward",
        "Archive",
        "Junk",
        "Delete",
    ]
    qtbot.keyClick(opened, Qt.Key.Key_R, CTRL)
    qtbot.keyClick(opened, Qt.Key.Key_R, CTRL | Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(opened, Qt.Key.Key_L, CTRL)
    assert compose.calls == [
        ("reply", "work", False, True),
        ("reply", "work", True, True),
        ("forward", "work", True),
    ]
    lunch = opened.summary.id
    qtbot.keyClick(opened, Qt.Key.Key_S)
    assert ("set_flags", [lunch], {"\\Flagged"}, set()) in mail.calls
    qtbot.keyClick(opened, Qt.Key.Key_W, CTRL)
    assert not opened.isVisible()


def test_delete_and_archive_move_on_to_the_next_message(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    opened = _message_window(qtbot, window, "Quarterly report")
    first = opened.summary.id
    below = window.message_model.index(_row(window, "Quarterly report") + 1, 0)
    expected_next = below.data(MessageRole.ID)
    qtbot.keyClick(opened, Qt.Key.Key_Delete)
    assert ("delete", [first]) in mail.calls
    assert opened.summary.id == expected_next
    assert opened.isVisible()
    qtbot.waitUntil(lambda: opened.pane.headers.subject.text() == opened.summary.subject)

    second = opened.summary.id
    archive = store.folder_by_name(opened.summary.account, "Archive")
    assert archive is not None
    qtbot.keyClick(opened, Qt.Key.Key_A)
    assert ("move", [second], archive.id) in mail.calls
    assert opened.summary.id not in (first, second)
    assert window.undo_action.text() == "&Undo Archive"
    opened.close()


def test_save_as_writes_the_message_as_it_came(
    qtbot: QtBot, window: MainWindow, tmp_path: object
) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "lunch.eml"
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: window.reading_pane.prepared is not None)
    window.save_as(str(target))
    qtbot.waitUntil(target.exists)
    assert target.read_bytes() == window.reading_pane.prepared.raw  # type: ignore[union-attr]
    assert target.stat().st_mode & 0o777 == 0o600
