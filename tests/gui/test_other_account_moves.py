"""Move To / Copy To a folder of another account, and drops there, through the window and
its workers against the real Dovecot."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from mailclient.ui.mailbox.folder_model import encode_message_ids, is_inbox
from tests.gui.test_window_server import (  # noqa: F401 (fixtures)
    WAIT,
    Harness,
    harness,
)

pytestmark = pytest.mark.mail_users("alice", "bob")


def _submenu(menu: QMenu, title: str) -> QMenu:
    found = next(a.menu() for a in menu.actions() if a.menu() and a.text() == title)
    assert isinstance(found, QMenu)
    return found


def _stored_subjects(harness: Harness, account: str, folder: str) -> list[str]:
    store = harness.store
    return sorted(
        s.subject for s in store.summaries(store.message_ids(harness.folder(account, folder)))
    )


def test_move_and_copy_to_another_accounts_folder(qtbot: QtBot, harness: Harness) -> None:
    window = harness.window
    window.start()
    for account in ("work", "bob"):
        qtbot.waitUntil(
            lambda a=account: any(is_inbox(f) for f in window.folder_model.folders(a)),
            timeout=WAIT,
        )
    harness.show_folder("work", "INBOX")
    qtbot.waitUntil(lambda: "Quarterly report" in harness.subjects(), timeout=WAIT)

    harness.select("Quarterly report")
    window._fill_move_menu()
    bob = _submenu(window.move_menu, "bob")
    assert "Inbox" in [a.text() for a in bob.actions()]
    next(a for a in bob.actions() if a.text() == "Inbox").trigger()
    # Gone from the list at once; on bob's server once appended, then gone from alice's.
    qtbot.waitUntil(lambda: "Quarterly report" not in harness.subjects(), timeout=WAIT)
    qtbot.waitUntil(
        lambda: "Quarterly report" in harness.server_subjects("bob", "INBOX"), timeout=WAIT
    )
    qtbot.waitUntil(
        lambda: "Quarterly report" not in harness.server_subjects("alice", "INBOX"), timeout=WAIT
    )
    # The target folder is synced at once: the message is listed under bob.
    qtbot.waitUntil(
        lambda: "Quarterly report" in _stored_subjects(harness, "bob", "INBOX"), timeout=WAIT
    )

    harness.select("Lunch on Friday?")
    window._fill_copy_menu()
    copy_to = _submenu(window.copy_menu, "bob")
    next(a for a in copy_to.actions() if a.text() == "Inbox").trigger()
    qtbot.waitUntil(
        lambda: "Lunch on Friday?" in harness.server_subjects("bob", "INBOX"), timeout=WAIT
    )
    assert "Lunch on Friday?" in harness.server_subjects("alice", "INBOX")
    assert "Lunch on Friday?" in harness.subjects()

    # A drop on the other account's folder moves as the menu does.
    old_news = harness.select("Old news")
    bob_inbox = window.folder_model.index_of_folder(harness.folder("bob", "INBOX"))
    data = encode_message_ids("work", [old_news])
    assert window.folder_model.canDropMimeData(data, Qt.DropAction.MoveAction, -1, -1, bob_inbox)
    window.folder_model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, bob_inbox)
    qtbot.waitUntil(lambda: "Old news" in harness.server_subjects("bob", "INBOX"), timeout=WAIT)
    qtbot.waitUntil(
        lambda: "Old news" not in harness.server_subjects("alice", "INBOX"), timeout=WAIT
    )
    qtbot.waitUntil(lambda: harness.store.pending_transfers() == [], timeout=WAIT)
    assert r"\Seen" in harness.server_flags("bob", "INBOX", "Old news")  # flags go along
    assert not window.error_bar.isVisible(), window.error_bar.errors()
