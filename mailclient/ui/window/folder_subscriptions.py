"""Subscriptions in the window: Subscribe/Unsubscribe in the folder menu, and View ▸ Show
Unsubscribed Folders, which lists the folders one is not subscribed to (dimmed) so that
they can be subscribed to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from mailclient.core.models import Folder
from mailclient.ui.mailbox.folder_model import FolderTreeModel, is_inbox
from mailclient.workers.commands import ChangeFolder

if TYPE_CHECKING:
    from mailclient.ui.window.mail_hub import MailHub

SHOW_UNSUBSCRIBED_KEY = "folders/show_unsubscribed"


def subscription_item(
    mail: MailHub, folder: Folder | None, enabled: bool
) -> tuple[str, str, Callable[[], None], bool]:
    """The folder menu's Subscribe or Unsubscribe entry: (text, object name, slot, enabled).

    The change is made in the store at once and waits there, offline too, until the
    account's worker has told the server (a pending folder change)."""
    subscribed = folder is None or folder.subscribed
    kind = "unsubscribe" if subscribed else "subscribe"

    def change() -> None:
        if folder is not None:
            mail.change_folder(ChangeFolder(folder.account, kind, folder.id))

    text = "Un&subscribe" if subscribed else "&Subscribe"
    possible = enabled and folder is not None and not is_inbox(folder)
    return text, f"{kind}Folder", change, possible


def show_unsubscribed_action(
    parent: QWidget, model: FolderTreeModel, settings: QSettings
) -> QAction:
    """View ▸ Show Unsubscribed Folders, remembered between runs (on by default: a folder
    made by another program is not hidden away)."""
    action = QAction("Show &Unsubscribed Folders", parent)
    action.setObjectName("showUnsubscribed")
    action.setCheckable(True)
    shown = str(settings.value(SHOW_UNSUBSCRIBED_KEY, "true")).lower() == "true"
    action.setChecked(shown)
    model.set_show_unsubscribed(shown)

    def toggled(show: bool) -> None:
        model.set_show_unsubscribed(show)
        settings.setValue(SHOW_UNSUBSCRIBED_KEY, "true" if show else "false")

    action.toggled.connect(toggled)
    return action
