"""Edit ▸ Undo in the main window: the steps it keeps and what it asks the workers for, and
the question before deleting for good (the server side: test_undo_server.py)."""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from mailclient.core.models import FLAGGED, SEEN
from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.window.main_window import MainWindow
from mailclient.workers.mail import SetFlags, UndoChanges
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    RecordingMail,
    _open,
    _row,
    _select_folder,
    _summary,
    mail,
    profile,
    settings,
    store,
    window,
)

CTRL = Qt.KeyboardModifier.ControlModifier


def _undos(mail: RecordingMail) -> list[UndoChanges]:
    return [c[1] for c in mail.calls if c[0] == "undo"]


def test_undo_names_the_action_and_goes_several_steps_back(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    assert not window.undo_action.isEnabled()
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    report = view.currentIndex().data(MessageRole.ID)
    inbox = store.folder_by_name("work", "INBOX")
    archive = store.folder_by_name("work", "Archive")
    trash = store.folder_by_name("work", "Trash")
    assert inbox and archive and trash
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert window.undo_action.text() == "&Undo Archive"
    view.setCurrentIndex(window.message_model.index(_row(window, "Flagged one"), Column.SUBJECT))
    flagged = view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(view, Qt.Key.Key_S)  # it was flagged: unflag
    assert window.undo_action.text() == "&Undo Unflag"
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert window.undo_action.text() == "&Undo Delete"
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert window.undo_action in edit_menu.actions()

    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert _undos(mail)[-1] == UndoChanges("work", ((flagged, inbox.id, ""),), trash.id, ())
    assert window.undo_action.text() == "&Undo Unflag"
    window.undo_action.trigger()
    assert _undos(mail)[-1] == UndoChanges(
        "work", (), None, (SetFlags((flagged,), frozenset({FLAGGED}), frozenset()),)
    )
    window.undo_action.trigger()
    assert _undos(mail)[-1] == UndoChanges("work", ((report, inbox.id, ""),), archive.id, ())
    assert not window.undo_action.isEnabled()
    assert window.undo_action.text() == "&Undo"
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert len(_undos(mail)) == 3  # nothing left to undo


def test_undo_of_read_takes_back_only_what_changed(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail
) -> None:
    window.set_mark_read_delay(-1)
    _open(qtbot, window, "Lunch on Friday?")  # unread
    lunch = window.message_view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(window.message_view, Qt.Key.Key_M)
    window.undo()
    assert _undos(mail)[-1].flags == (SetFlags((lunch,), frozenset(), frozenset({SEEN})),)


def _answer_confirmation(qtbot: QtBot, button: str, dont_ask: bool) -> list[str]:
    """Answer the next Delete for good question; returns the text it asked, when it has."""
    asked: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox) or box.objectName() != "confirmDeleteForGood":
            QTimer.singleShot(20, answer)
            return
        asked.append(box.text())
        checkbox = box.checkBox()
        assert checkbox is not None
        checkbox.setChecked(dont_ask)
        chosen = next(b for b in box.buttons() if b.text().replace("&", "") == button)
        chosen.click()

    QTimer.singleShot(20, answer)
    return asked


def test_deleting_in_the_trash_asks_once_with_dont_ask_again(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    trash = store.folder_by_name("work", "Trash")
    assert trash
    store.add_messages(trash.id, [_summary(50, "Old junk"), _summary(51, "Older junk")])
    _select_folder(window, "work", "Trash")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 2)
    view = window.message_view
    view.setFocus()
    view.setCurrentIndex(window.message_model.index(0, Column.SUBJECT))
    first = view.currentIndex().data(MessageRole.ID)

    asked = _answer_confirmation(qtbot, "Cancel", dont_ask=False)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert asked == ["Delete this message for good? This cannot be undone."]
    assert [c for c in mail.calls if c[0] == "delete"] == []

    asked = _answer_confirmation(qtbot, "Delete", dont_ask=True)
    window.activateWindow()  # the question had it
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert len(asked) == 1
    assert ("delete", [first]) in mail.calls
    assert not window.undo_action.isEnabled()  # for good: nothing to undo

    # Not asked again: Shift+Del outside the Trash deletes for good at once.
    _select_folder(window, "work", "INBOX")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 4)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    _open(qtbot, window, "Quarterly report")
    report = view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(view, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert ("expunge", [report]) in mail.calls
