"""The folder menu against the real Dovecot: new, rename, delete to the Trash, empty the
Trash, mark read; each made in the store first and sent by the account's worker."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from mailclient.core.models import Folder
from tests.gui.test_window_server import (  # noqa: F401 (fixtures)
    WAIT,
    Harness,
    harness,
)

pytestmark = pytest.mark.mail_users("alice", "bob")


def _folder(harness: Harness, name: str) -> Folder:
    folder = harness.store.folder_by_name("work", name)
    assert folder is not None, name
    return folder


def _server_folders(harness: Harness) -> set[str]:
    with harness.servers.imap("alice") as client:
        return {name for _, _, name in client.list_folders()}


def _tree_names(harness: Harness) -> list[str]:
    model = harness.window.folder_model
    work = model.index_of_account("work")
    return [model.index(r, 0, work).data() for r in range(model.rowCount(work))]


def test_folder_menu_lists_what_fits_the_folder(qtbot: QtBot, harness: Harness) -> None:
    window = harness.window
    window.start()
    qtbot.waitUntil(
        lambda: harness.store.folder_by_name("work", "Projects") is not None, timeout=WAIT
    )
    menu = QMenu()
    window._fill_folder_menu(menu, _folder(harness, "Projects"))
    shown = {a.objectName(): a.isEnabled() for a in menu.actions()}
    assert shown == {
        "newFolder": True,
        "renameFolder": True,
        "deleteFolder": True,
        "markThisFolderRead": True,
    }
    window._fill_folder_menu(menu, _folder(harness, "Trash"))
    shown = {a.objectName(): a.isEnabled() for a in menu.actions()}
    assert shown["emptyFolder"] and not shown["renameFolder"] and not shown["deleteFolder"]
    assert [a.text() for a in menu.actions() if a.objectName() == "emptyFolder"] == ["&Empty Trash"]
    assert any(a.text() == "F&older" for a in window.menuBar().actions())


@pytest.mark.flaky(
    reruns=2,
    # A folder-list sync read before a rename reached the server may be written after it.
    reason="seen once under load: the renamed folder briefly missing from the store",
)
def test_new_rename_delete_and_empty_reach_the_server(
    qtbot: QtBot, harness: Harness, monkeypatch: object
) -> None:
    window = harness.window
    window.start()
    qtbot.waitUntil(
        lambda: harness.store.folder_by_name("work", "Projects") is not None, timeout=WAIT
    )
    qtbot.waitUntil(lambda: "Projects" in _tree_names(harness), timeout=WAIT)

    window.new_folder(_folder(harness, "Projects"), "Plans")
    qtbot.waitUntil(lambda: "Projects/Plans" in _server_folders(harness), timeout=WAIT)

    projects = _folder(harness, "Projects")
    window.rename_folder(projects, "Done")
    # The store first: the tree shows the new name before the server is told.
    qtbot.waitUntil(lambda: "Done" in _tree_names(harness), timeout=WAIT)
    qtbot.waitUntil(lambda: "Done" in _server_folders(harness), timeout=WAIT)
    assert "Projects" not in _server_folders(harness)
    assert "Done/Plans" in _server_folders(harness)
    assert _folder(harness, "Done").id == projects.id  # the same folder, messages kept

    window.delete_folder(_folder(harness, "Done"))
    qtbot.waitUntil(lambda: "Trash/Done" in _server_folders(harness), timeout=WAIT)
    assert harness.server_subjects("alice", "Trash/Done") == ["Project kickoff"]

    harness.show_folder("work", "INBOX")
    harness.select("Old news")
    window.delete_selected()
    qtbot.waitUntil(lambda: harness.server_subjects("alice", "Trash") == ["Old news"], timeout=WAIT)
    qtbot.waitUntil(lambda: harness.store.pending_changes() == [], timeout=WAIT)
    monkeypatch.setattr(  # type: ignore[attr-defined]
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    window.empty_folder(_folder(harness, "Trash"))
    qtbot.waitUntil(lambda: harness.server_subjects("alice", "Trash") == [], timeout=WAIT)

    window.mark_folder_read([_folder(harness, "INBOX").id])
    qtbot.waitUntil(
        lambda: r"\Seen" in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )
    assert not window.error_bar.isVisible(), window.error_bar.errors()
