"""The Folder menu: new, rename, delete, empty and mark read, on the server's folders."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMenu

from mailclient.core.models import Folder, SpecialUse
from mailclient.ui.mailbox.folder_model import FolderRole
from mailclient.ui.window.folder_subscriptions import subscription_item
from mailclient.workers.commands import ChangeFolder
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


class FolderActions:
    """MainWindow's Folder menu."""

    def _current_folder(self: MainWindow) -> Folder | None:
        folder = self.folder_view.currentIndex().data(FolderRole.FOLDER)
        return folder if isinstance(folder, Folder) else None

    def _folder_context_menu(self: MainWindow, position: Any) -> None:
        index = self.folder_view.indexAt(position)
        folder = index.data(FolderRole.FOLDER) if index.isValid() else None
        if not isinstance(folder, Folder):
            return
        menu = QMenu(self)
        menu.setObjectName("folderContextMenu")
        self._fill_folder_menu(menu, folder)
        menu.exec(self.folder_view.viewport().mapToGlobal(position))

    def _fill_folder_menu(self: MainWindow, menu: QMenu, folder: Folder | None) -> None:
        """New, Rename, Delete, Empty Trash/Junk and Mark Folder Read, for ``folder``."""
        menu.clear()
        enabled = folder is not None
        fixed = folder is not None and folder.special_use is not None
        items: list[tuple[str, str, Any, bool]] = [
            ("&New Folder…", "newFolder", lambda: self.new_folder(folder), enabled),
            ("&Rename…", "renameFolder", lambda: self.rename_folder(folder), enabled and not fixed),
            ("&Delete", "deleteFolder", lambda: self.delete_folder(folder), enabled and not fixed),
        ]
        if folder is not None and folder.special_use in (SpecialUse.TRASH, SpecialUse.JUNK):
            text = "&Empty Trash" if folder.special_use is SpecialUse.TRASH else "&Empty Junk"
            items.append((text, "emptyFolder", lambda: self.empty_folder(folder), enabled))
        items.append(subscription_item(self._mail, folder, enabled))
        items.append(
            (
                "&Mark Folder Read",
                "markThisFolderRead",
                lambda: self.mark_folder_read([folder.id] if folder else None),
                enabled,
            )
        )
        for text, name, slot, on in items:
            action = menu.addAction(text)
            action.setObjectName(name)
            action.setEnabled(on)
            action.triggered.connect(slot)

    # The dialogs' classes are made when first asked for, not at the window's start.

    def _ask_name(self: MainWindow, title: str, label: str, text: str = "") -> str:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name.strip() if ok else ""

    def _confirm(self: MainWindow, title: str, question: str) -> bool:
        from PySide6.QtWidgets import QMessageBox

        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        answer = QMessageBox.question(
            self, title, question, buttons, QMessageBox.StandardButton.Cancel
        )
        return answer == QMessageBox.StandardButton.Yes

    def new_folder(self: MainWindow, parent: Folder | None, name: str | None = None) -> None:
        """A folder below ``parent`` (None: at the top of the account shown)."""
        if parent is None:
            return
        leaf = name if name is not None else self._ask_name("New Folder", "Name:")
        if not leaf:
            return
        full = f"{parent.name}{parent.delimiter}{leaf}" if parent.delimiter else leaf
        self._mail.change_folder(ChangeFolder(parent.account, "create", None, full))

    def rename_folder(self: MainWindow, folder: Folder | None, leaf: str | None = None) -> None:
        if folder is None:
            return
        leaf = (
            leaf if leaf is not None else self._ask_name("Rename Folder", "New name:", folder.leaf)
        )
        if not leaf or leaf == folder.leaf:
            return
        cut = len(folder.name) - len(folder.leaf)
        self._mail.change_folder(
            ChangeFolder(folder.account, "rename", folder.id, folder.name[:cut] + leaf)
        )

    def move_folder(self: MainWindow, folder: Folder, new_name: str) -> None:
        """A folder dragged onto another (or its account): a rename, kept while offline."""
        self._mail.change_folder(ChangeFolder(folder.account, "rename", folder.id, new_name))

    def delete_folder(self: MainWindow, folder: Folder | None) -> None:
        """To the Trash (renamed below it) where there is one, else for good after asking."""
        if folder is None:
            return
        trash = self._special_folder(folder.account, SpecialUse.TRASH)
        in_trash = trash is not None and (
            folder.id == trash.id or folder.name.startswith(f"{trash.name}{trash.delimiter}")
        )
        if trash is not None and trash.delimiter and not in_trash:
            target = f"{trash.name}{trash.delimiter}{folder.leaf}"
            self._mail.change_folder(ChangeFolder(folder.account, "rename", folder.id, target))
            self.statusBar().showMessage(f"Moved the folder {folder.leaf} to the Trash", 4000)
            return
        if self._confirm(
            "Delete Folder", f"Delete the folder {folder.leaf} and the messages in it for good?"
        ):
            self._mail.change_folder(ChangeFolder(folder.account, "delete", folder.id))

    def empty_folder(self: MainWindow, folder: Folder | None) -> None:
        """Empty Trash / Empty Junk: every message in it deleted for good, after asking."""
        mail, path = self._mail, self._store.path
        if folder is None:
            return
        if not self._confirm(
            f"Empty {folder.leaf}", f"Delete every message in {folder.leaf} for good?"
        ):
            return

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            return thread_store(path).message_ids(folder.id)

        run_task(self, find, lambda ids: mail.expunge(ids), pool=self._pool)
