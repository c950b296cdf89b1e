"""What the main window remembers between runs, in window.ini in the profile.

Geometry, splitters, columns and sort, the folder and message shown, and which folders
are expanded (the per-folder Threads choice is kept by the threads view).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, Qt

from mailclient.core.models import Folder
from mailclient.core.profile import create_private_file
from mailclient.store.mail import SortKey
from mailclient.ui.mailbox.folder_model import FolderRole, NodeKind
from mailclient.ui.mailbox.message_model import SORT_KEYS, Column, MessageRole
from mailclient.ui.window.renamed_account import rename_in_settings, renamed_key

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


SETTINGS_FILE = "window.ini"


def window_settings(profile_root: Path) -> QSettings:
    """The window's own settings (geometry, columns, view options) in the profile folder."""
    path = profile_root / SETTINGS_FILE
    create_private_file(path)  # QSettings keeps an existing file's mode, makes new ones 0644
    return QSettings(str(path), QSettings.Format.IniFormat)


class WindowState:
    """MainWindow's window.ini: saved on close, read back at start."""

    def _restore_state(self: MainWindow) -> None:
        s = self._settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for name, splitter in (
            ("splitter/main", self.splitter),
            ("splitter/list", self.right_splitter),
        ):
            value = s.value(name)
            if isinstance(value, QByteArray):
                splitter.restoreState(value)
        header = s.value("list/header")
        if isinstance(header, QByteArray):
            self.message_view.header().restoreState(header)
        try:
            key = SortKey(str(s.value("list/sort", SortKey.DATE.value)))
        except ValueError:
            key = SortKey.DATE
        descending = str(s.value("list/descending", "true")).lower() == "true"
        self.message_model.set_sort(key, descending)
        column = next((c for c, k in SORT_KEYS.items() if k is key), Column.DATE)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.message_view.header().setSortIndicator(column, order)
        self._expanded = set(str(v) for v in (s.value("folders/expanded") or []))

    def account_renamed(self: MainWindow, old: str, new: str) -> None:
        """What the window keeps of account ``old`` (open folders, the one shown, the
        compose windows open), under its new name ``new``, before set_accounts() shows it."""
        self._expanded = {renamed_key(key, old, new) for key in self._expanded}
        self._shown_folder_key = renamed_key(self._shown_folder_key, old, new)
        rename_in_settings(self._settings, old, new)
        if self.compose is not None:
            self.compose.account_renamed(old, new)

    def save_state(self: MainWindow) -> None:
        s = self._settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("splitter/main", self.splitter.saveState())
        s.setValue("splitter/list", self.right_splitter.saveState())
        s.setValue("list/header", self.message_view.header().saveState())
        self._save_sort()
        s.setValue("folders/current", self._shown_folder_key)
        current = self.message_view.currentIndex()
        s.setValue("list/current", current.data(MessageRole.ID) if current.isValid() else 0)
        self._remember_tree_state()
        s.setValue("folders/expanded", sorted(self._expanded))
        s.sync()

    def _save_sort(self: MainWindow) -> None:
        self._settings.setValue("list/sort", self.message_model.sort_key.value)
        self._settings.setValue(
            "list/descending", "true" if self.message_model.descending else "false"
        )

    def _restore_current_message(self: MainWindow) -> None:
        """The message chosen when the window last closed, chosen again (if still listed)."""
        if not self.isVisible() or self.message_view.currentIndex().isValid():
            return
        try:
            message_id = int(str(self._settings.value("list/current", 0)))
        except ValueError:
            return
        if not message_id:
            return
        # Chosen now if listed; below the first screenful, or in a threaded list, once the
        # rest of the list lists it.
        self.want_message(message_id, takes_focus=False)
        self._choose_wanted()
        if not self.message_model.is_loading():
            self._forget_wanted()

    @staticmethod
    def _node_key(index: QModelIndex) -> str:
        kind = index.data(FolderRole.KIND)
        if kind is NodeKind.ALL_INBOXES:
            return "all"
        if kind is NodeKind.ACCOUNT:
            return f"account:{index.data(FolderRole.ACCOUNT)}"
        folder = index.data(FolderRole.FOLDER)
        if isinstance(folder, Folder):
            return f"folder:{folder.account}:{folder.name}"
        return f"node:{index.data(FolderRole.ACCOUNT)}:{index.data()}"

    def _walk(self: MainWindow, parent: QModelIndex | None = None) -> list[QModelIndex]:
        parent = parent if parent is not None else QModelIndex()
        found = []
        for row in range(self.folder_model.rowCount(parent)):
            index = self.folder_model.index(row, 0, parent)
            found.append(index)
            found += self._walk(index)
        return found

    def _remember_tree_state(self: MainWindow) -> None:
        # Accounts start expanded, so for them the collapsed state is what is remembered.
        if not hasattr(self, "_expanded"):
            return
        for index in self._walk():
            key = self._node_key(index)
            expanded = self.folder_view.isExpanded(index)
            if key.startswith("account:"):
                key, expanded = f"collapsed:{key}", not expanded
            if expanded:
                self._expanded.add(key)
            else:
                self._expanded.discard(key)

    def _restore_tree_state(self: MainWindow) -> None:
        for index in self._walk():
            key = self._node_key(index)
            if key.startswith("account:"):
                self.folder_view.setExpanded(index, f"collapsed:{key}" not in self._expanded)
            elif key in self._expanded:
                self.folder_view.setExpanded(index, True)
        if self._shown_folder_key:
            self._select_folder_key(self._shown_folder_key, show=False)

    def _select_folder_key(self: MainWindow, key: str, show: bool = True) -> None:
        target = next((i for i in self._walk() if self._node_key(i) == key), None)
        if target is None or not target.flags() & Qt.ItemFlag.ItemIsSelectable:
            target = self.folder_model.index_of_all_inboxes()
        if not target.isValid():
            return
        selection = self.folder_view.selectionModel()
        if not show:
            selection.blockSignals(True)
        selection.setCurrentIndex(target, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if not show:
            selection.blockSignals(False)
