"""The folder menu against the real Dovecot: new, rename, delete to the Trash, empty the
Trash, mark read; each made in the store first and sent by the account's worker."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
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
        "subscribeFolder": True,  # the rig makes Projects without subscribing to it
        "markThisFolderRead": True,
    }
    window._fill_folder_menu(menu, _folder(harness, "INBOX"))
    shown = {a.objectName(): a.isEnabled() for a in menu.actions()}
    assert shown["unsubscribeFolder"] is False  # the INBOX is always subscribed
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


def _server_subscribed(harness: Harness) -> set[str]:
    with harness.servers.imap("alice") as client:
        return {str(name) for _, _, name in client.list_sub_folders()}


def test_subscribe_and_unsubscribe_reach_the_server_and_can_hide_folders(
    qtbot: QtBot, harness: Harness
) -> None:
    window = harness.window
    window.start()
    qtbot.waitUntil(lambda: "Projects" in _tree_names(harness), timeout=WAIT)
    projects = _folder(harness, "Projects")
    assert not projects.subscribed
    model = window.folder_model
    index = model.index_of_folder(projects.id)
    assert index.data(Qt.ItemDataRole.FontRole).italic()
    assert "not subscribed" in index.data(Qt.ItemDataRole.AccessibleTextRole)

    # View ▸ Show Unsubscribed Folders off: Projects leaves the tree, the Trash stays.
    window.show_unsubscribed_action.setChecked(False)
    assert "Projects" not in _tree_names(harness) and "Trash" in _tree_names(harness)
    assert window._settings.value("folders/show_unsubscribed") == "false"
    window.show_unsubscribed_action.setChecked(True)

    menu = QMenu()
    window._fill_folder_menu(menu, projects)
    subscribe = next(a for a in menu.actions() if a.objectName() == "subscribeFolder")
    assert subscribe.text() == "&Subscribe"
    subscribe.trigger()
    qtbot.waitUntil(lambda: "Projects" in _server_subscribed(harness), timeout=WAIT)
    qtbot.waitUntil(lambda: harness.store.pending_folder_changes() == [], timeout=WAIT)
    projects = _folder(harness, "Projects")
    assert projects.subscribed
    qtbot.waitUntil(
        lambda: (
            not model.index_of_folder(projects.id).data(Qt.ItemDataRole.FontRole)
            or not model.index_of_folder(projects.id).data(Qt.ItemDataRole.FontRole).italic()
        ),
        timeout=WAIT,
    )
    window.show_unsubscribed_action.setChecked(False)
    assert "Projects" in _tree_names(harness)

    window._fill_folder_menu(menu, projects)
    unsubscribe = next(a for a in menu.actions() if a.objectName() == "unsubscribeFolder")
    unsubscribe.trigger()
    qtbot.waitUntil(lambda: "Projects" not in _tree_names(harness), timeout=WAIT)
    qtbot.waitUntil(lambda: "Projects" not in _server_subscribed(harness), timeout=WAIT)
    assert not window.error_bar.isVisible(), window.error_bar.errors()


def _drop_folder(harness: Harness, folder: Folder, onto: QModelIndex) -> bool:
    model = harness.window.folder_model
    data = model.mimeData([model.index_of_folder(folder.id)])
    move = Qt.DropAction.MoveAction
    if not model.canDropMimeData(data, move, -1, -1, onto):
        return False
    model.dropMimeData(data, move, -1, -1, onto)
    return True


@pytest.mark.flaky(
    reruns=2,
    # The rename path of the folder menu, with the same race as the test above.
    reason="seen once under load: a folder-list sync read before the rename reached the server",
)
def test_a_folder_dragged_onto_another_moves_there_on_the_server(
    qtbot: QtBot, harness: Harness
) -> None:
    window = harness.window
    window.start()
    qtbot.waitUntil(lambda: "Projects" in _tree_names(harness), timeout=WAIT)
    model = window.folder_model
    projects = _folder(harness, "Projects")
    archive = model.index_of_folder(_folder(harness, "Archive").id)
    # Where it cannot go: onto itself, and the INBOX does not move at all.
    assert not _drop_folder(harness, projects, model.index_of_folder(projects.id))
    assert not _drop_folder(harness, _folder(harness, "INBOX"), archive)
    assert not _drop_folder(harness, projects, model.index_of_account("bob"))

    assert _drop_folder(harness, projects, archive)
    qtbot.waitUntil(lambda: "Archive/Projects" in _server_folders(harness), timeout=WAIT)
    assert "Projects" not in _server_folders(harness)
    moved = _folder(harness, "Archive/Projects")
    assert moved.id == projects.id  # the same folder, its messages kept
    assert harness.server_subjects("alice", "Archive/Projects") == ["Project kickoff"]

    # And back to the top, dropped on the account.
    qtbot.waitUntil(
        lambda: getattr(model.folder(projects.id), "name", "") == "Archive/Projects", timeout=WAIT
    )
    archive = model.index_of_folder(_folder(harness, "Archive").id)  # the tree was rebuilt
    assert not _drop_folder(harness, moved, archive)  # already there
    assert _drop_folder(harness, moved, model.index_of_account("work"))
    qtbot.waitUntil(lambda: "Projects" in _server_folders(harness), timeout=WAIT)
    qtbot.waitUntil(lambda: harness.store.pending_folder_changes() == [], timeout=WAIT)
    assert _folder(harness, "Projects").id == projects.id
    assert not window.error_bar.isVisible(), window.error_bar.errors()
