"""Move To and Copy To with the folders of the other accounts, each account a submenu:
such a move or copy is an APPEND to that account's server, then (for a move) a delete on
this one (imap/transfers.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QMenu

from mailclient.accounts.model import Account
from mailclient.core.models import Folder
from mailclient.ui.mailbox.folder_model import FolderTreeModel


def folder_label(folder: Folder) -> str:
    """A folder as menus name it: "Inbox", or its path with ▸ between the levels."""
    if folder.name.upper() == "INBOX":
        return "Inbox"
    return folder.name.replace(folder.delimiter or "/", " ▸ ")


def add_other_accounts(
    menu: QMenu,
    accounts: Sequence[Account],
    folders: FolderTreeModel,
    source_account: str,
    chosen: Callable[[Folder], None],
) -> None:
    """A submenu per account other than ``source_account`` with its folders; choosing
    one calls ``chosen(folder)``."""
    others = [a for a in accounts if a.name != source_account]
    if not others:
        return
    menu.addSeparator()
    for account in others:
        submenu = menu.addMenu(account.name)
        submenu.setObjectName(f"account:{account.name}")
        for folder in folders.folders(account.name):
            action = submenu.addAction(folder_label(folder))
            action.setData(folder.id)
            action.triggered.connect(lambda _=False, f=folder: chosen(f))
