"""Undo against the real Dovecot: moves, deletes and flags taken back after the server
confirmed them (the new UIDs from MOVE's COPYUID name the messages to move back)."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.gui.test_window_server import (  # noqa: F401 (fixtures)
    WAIT,
    Harness,
    harness,
)

CTRL = Qt.KeyboardModifier.ControlModifier


pytestmark = pytest.mark.mail_users("alice", "bob")


def _started(qtbot: QtBot, harness: Harness) -> None:
    harness.window.start()
    qtbot.waitUntil(lambda: harness.window.message_model.rowCount() == 4, timeout=WAIT)
    harness.show_folder("work", "INBOX")


def _settled(harness: Harness) -> bool:
    """The store has no change waiting for the server."""
    return harness.store.pending_changes() == []


def test_move_then_undo_after_the_server_confirmed(qtbot: QtBot, harness: Harness) -> None:
    _started(qtbot, harness)
    window, view = harness.window, harness.window.message_view
    moved = harness.select("Quarterly report")
    qtbot.keyClick(view, Qt.Key.Key_A)
    qtbot.waitUntil(
        lambda: harness.server_subjects("alice", "Archive") == ["Quarterly report"],
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: _settled(harness), timeout=WAIT)
    # The row moved along with the UID COPYUID gave it.
    archived = harness.store.summary(moved)
    assert archived is not None and archived.folder_id == harness.folder("work", "Archive")
    assert window.undo_action.isEnabled()
    assert window.undo_action.text() == "&Undo Archive"

    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(
        lambda: "Quarterly report" in harness.server_subjects("alice", "INBOX"), timeout=WAIT
    )
    assert harness.server_subjects("alice", "Archive") == []
    qtbot.waitUntil(lambda: "Quarterly report" in harness.subjects(), timeout=WAIT)
    qtbot.waitUntil(lambda: _settled(harness), timeout=WAIT)
    assert not window.undo_action.isEnabled()
    assert not window.error_bar.isVisible()


def test_delete_then_undo_and_several_steps(qtbot: QtBot, harness: Harness) -> None:
    _started(qtbot, harness)
    window, view = harness.window, harness.window.message_view
    harness.select("Old news")
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: harness.server_subjects("alice", "Trash") == ["Old news"], timeout=WAIT)
    harness.select("Lunch on Friday?")
    qtbot.keyClick(view, Qt.Key.Key_S)
    qtbot.waitUntil(
        lambda: r"\Flagged" in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: _settled(harness), timeout=WAIT)
    assert window.undo_action.text() == "&Undo Flag"

    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(
        lambda: r"\Flagged" not in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )
    assert window.undo_action.text() == "&Undo Delete"
    qtbot.keyClick(view, Qt.Key.Key_Z, CTRL)
    qtbot.waitUntil(lambda: "Old news" in harness.server_subjects("alice", "INBOX"), timeout=WAIT)
    assert harness.server_subjects("alice", "Trash") == []
    qtbot.waitUntil(lambda: "Old news" in harness.subjects(), timeout=WAIT)
    assert not window.error_bar.isVisible()
