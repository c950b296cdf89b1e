"""The folder tree: "All inboxes", then every account with its folders, from the local store.

Special-use folders come first with their icons; unread counts come from the store (kept
there by triggers, so a refresh reads a few rows however big the folders are). Messages
dragged from the message list can be dropped on a folder of the same account.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QPalette

from mailclient.accounts.model import Account
from mailclient.core.models import Folder, SpecialUse
from mailclient.store.mail import MailStore
from mailclient.ui.widgets.icons import icon
from mailclient.ui.widgets.plain_text import tooltip

MESSAGE_IDS_MIME = "application/x-mailclient-message-ids"
FOLDER_MIME = "application/x-mailclient-folder"

# Thunderbird's order of the special folders; the rest follow by name.
_SPECIAL_ORDER = {
    SpecialUse.INBOX: 0,
    SpecialUse.DRAFTS: 1,
    SpecialUse.SENT: 2,
    SpecialUse.ARCHIVE: 3,
    SpecialUse.JUNK: 4,
    SpecialUse.TRASH: 5,
    SpecialUse.ALL: 6,
    SpecialUse.FLAGGED: 7,
}
_SPECIAL_ICON = {
    SpecialUse.INBOX: "inbox",
    SpecialUse.DRAFTS: "drafts",
    SpecialUse.SENT: "sent",
    SpecialUse.ARCHIVE: "archive",
    SpecialUse.JUNK: "junk",
    SpecialUse.TRASH: "trash",
    SpecialUse.ALL: "archive",
    SpecialUse.FLAGGED: "flag",
}

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()  # the invisible root, as a default argument


class NodeKind(Enum):
    ALL_INBOXES = auto()
    ACCOUNT = auto()
    FOLDER = auto()
    OUTBOX = auto()  # messages waiting to be sent (the outbox table, not an IMAP folder)


class FolderRole:
    """Custom item data roles of FolderTreeModel."""

    KIND = Qt.ItemDataRole.UserRole + 1
    FOLDER_IDS = Qt.ItemDataRole.UserRole + 2  # the folders whose messages the node shows
    UNREAD = Qt.ItemDataRole.UserRole + 3
    ACCOUNT = Qt.ItemDataRole.UserRole + 4
    FOLDER = Qt.ItemDataRole.UserRole + 5  # the Folder dataclass (None for other nodes)


@dataclass(eq=False)
class _Node:
    kind: NodeKind
    title: str
    account: str = ""
    folder: Folder | None = None
    selectable: bool = True
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)
    inbox_ids: tuple[int, ...] = ()  # for ALL_INBOXES
    unread: int = 0

    def row(self) -> int:
        return self.parent.children.index(self) if self.parent else 0

    def folder_ids(self) -> list[int]:
        if self.kind is NodeKind.ALL_INBOXES:
            return list(self.inbox_ids)
        if self.folder is not None and self.selectable:
            return [self.folder.id]
        return []


def is_inbox(folder: Folder) -> bool:
    return folder.special_use is SpecialUse.INBOX or folder.name.upper() == "INBOX"


def display_name(folder: Folder) -> str:
    return "Inbox" if folder.name.upper() == "INBOX" else folder.leaf


class FolderTreeModel(QAbstractItemModel):
    """Folders of every account, read from the store."""

    messages_dropped = Signal(list, object)  # message ids, the target Folder
    folder_dropped = Signal(object, str)  # the Folder dragged, its new full name

    def __init__(self, store: MailStore, accounts: list[Account], parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        self._accounts = list(accounts)
        self._root = _Node(NodeKind.ACCOUNT, "")
        self._by_folder_id: dict[int, _Node] = {}
        self._signature: tuple[Any, ...] = ()
        self._outbox: _Node | None = None  # shown once the outbox view is attached
        self._show_unsubscribed = True
        self._build()

    # -- reading the store ------------------------------------------------------------------

    def set_accounts(self, accounts: list[Account]) -> None:
        self._accounts = list(accounts)
        self.reload()

    @property
    def show_unsubscribed(self) -> bool:
        return self._show_unsubscribed

    def set_show_unsubscribed(self, show: bool) -> None:
        """List the folders not subscribed to too (dimmed), or leave them out."""
        if show != self._show_unsubscribed:
            self._show_unsubscribed = show
            self.beginResetModel()
            self._build()
            self.endResetModel()

    def reload(self) -> None:
        """Re-read the folders; counts change in place, a new folder list resets the model."""
        folders = self._store.folders()
        if self._structure(folders) != self._signature:
            self.beginResetModel()
            self._build(folders)
            self.endResetModel()
            return
        self._update_counts(folders)

    def _structure(self, folders: list[Folder]) -> tuple[Any, ...]:
        names = tuple(a.name for a in self._accounts)
        shown = tuple((f.id, f.account, f.name, f.special_use, f.subscribed) for f in folders)
        return (names, shown)

    def _build(self, folders: list[Folder] | None = None) -> None:
        if folders is None:
            folders = self._store.folders()
        self._signature = self._structure(folders)
        selectable: set[int] = set()
        for account in self._accounts:
            selectable.update(f.id for f in self._store.selectable_folders(account.name))
        self._root = _Node(NodeKind.ACCOUNT, "")
        self._by_folder_id = {}
        known = {a.name for a in self._accounts}
        inboxes = [f for f in folders if f.account in known and is_inbox(f)]
        all_inboxes = _Node(
            NodeKind.ALL_INBOXES,
            "All inboxes",
            parent=self._root,
            inbox_ids=tuple(f.id for f in inboxes),
            unread=sum(f.unread for f in inboxes),
        )
        if self._accounts:
            self._root.children.append(all_inboxes)
        for account in self._accounts:
            node = _Node(NodeKind.ACCOUNT, account.name, account=account.name, parent=self._root)
            node.selectable = False
            self._root.children.append(node)
            own = [f for f in folders if f.account == account.name and self._listed(f)]
            self._add_folders(node, own, selectable)
        if self._outbox is not None and self._accounts:
            self._outbox.parent = self._root
            self._root.children.append(self._outbox)

    def _listed(self, folder: Folder) -> bool:
        # Special folders are always listed: the app moves mail there.
        return (
            self._show_unsubscribed
            or folder.subscribed
            or folder.special_use is not None
            or is_inbox(folder)
        )

    # -- the outbox entry -------------------------------------------------------------------

    def show_outbox(self, waiting: int = 0) -> None:
        """Add the Outbox entry below the accounts; its badge counts ``waiting`` messages."""
        if self._outbox is None:
            self.beginResetModel()
            self._outbox = _Node(NodeKind.OUTBOX, "Outbox", unread=waiting)
            self._build()
            self.endResetModel()

    def set_outbox_count(self, waiting: int) -> None:
        index = self.index_of_outbox()
        if self._outbox is None or self._outbox.unread == waiting:
            return
        self._outbox.unread = waiting
        if index.isValid():
            self.dataChanged.emit(index, index)

    def index_of_outbox(self) -> QModelIndex:
        node = self._outbox
        if node is None or node.parent is not self._root:
            return QModelIndex()
        return self.createIndex(node.row(), 0, node)

    def _add_folders(
        self, account_node: _Node, folders: list[Folder], selectable: set[int]
    ) -> None:
        by_name: dict[str, _Node] = {}
        for folder in sorted(folders, key=lambda f: f.name):
            node = _Node(
                NodeKind.FOLDER,
                display_name(folder),
                account=folder.account,
                folder=folder,
                selectable=folder.id in selectable,
                unread=folder.unread,
            )
            by_name[folder.name] = node
            self._by_folder_id[folder.id] = node
        for folder in folders:
            node = by_name[folder.name]
            parent = account_node
            # Special folders belong at the top, also where the server keeps every folder
            # below INBOX (a personal namespace "INBOX.", RFC 2342).
            special = folder.special_use is not None
            if folder.delimiter and folder.delimiter in folder.name and not special:
                parent_name = folder.name.rsplit(folder.delimiter, 1)[0]
                parent = by_name.get(parent_name) or self._virtual_parent(
                    account_node, by_name, parent_name, folder.delimiter
                )
            node.parent = parent
            parent.children.append(node)
        self._sort(account_node, top=True)

    def _virtual_parent(
        self, account_node: _Node, by_name: dict[str, _Node], name: str, delimiter: str
    ) -> _Node:
        # "A/B" listed without "A": show "A" as a grey, unselectable node.
        node = _Node(
            NodeKind.FOLDER,
            name.rsplit(delimiter, 1)[-1],
            account=account_node.account,
            selectable=False,
        )
        by_name[name] = node
        parent = account_node
        if delimiter in name:
            parent_name = name.rsplit(delimiter, 1)[0]
            parent = by_name.get(parent_name) or self._virtual_parent(
                account_node, by_name, parent_name, delimiter
            )
        node.parent = parent
        parent.children.append(node)
        return node

    def _sort(self, node: _Node, top: bool) -> None:
        def key(child: _Node) -> tuple[int, str]:
            special = child.folder.special_use if child.folder else None
            if child.folder is not None and is_inbox(child.folder):
                special = SpecialUse.INBOX
            rank = _SPECIAL_ORDER.get(special, 99) if (top and special) else 99
            return rank, child.title.casefold()

        node.children.sort(key=key)
        for child in node.children:
            self._sort(child, top=False)

    def _update_counts(self, folders: list[Folder]) -> None:
        inbox_unread = 0
        known = {a.name for a in self._accounts}
        for folder in folders:
            if folder.account in known and is_inbox(folder):
                inbox_unread += folder.unread
            node = self._by_folder_id.get(folder.id)
            if node is None:
                continue
            if node.unread != folder.unread or node.folder != folder:
                node.unread = folder.unread
                node.folder = folder
                index = self.createIndex(node.row(), 0, node)
                self.dataChanged.emit(index, index)
        if self._root.children and self._root.children[0].kind is NodeKind.ALL_INBOXES:
            all_inboxes = self._root.children[0]
            if all_inboxes.unread != inbox_unread:
                all_inboxes.unread = inbox_unread
                index = self.createIndex(0, 0, all_inboxes)
                self.dataChanged.emit(index, index)

    # -- lookups for the window -------------------------------------------------------------

    def index_of_folder(self, folder_id: int) -> QModelIndex:
        node = self._by_folder_id.get(folder_id)
        return self.createIndex(node.row(), 0, node) if node else QModelIndex()

    def index_of_all_inboxes(self) -> QModelIndex:
        if self._root.children and self._root.children[0].kind is NodeKind.ALL_INBOXES:
            return self.createIndex(0, 0, self._root.children[0])
        return QModelIndex()

    def index_of_account(self, account: str) -> QModelIndex:
        for row, node in enumerate(self._root.children):
            if node.kind is NodeKind.ACCOUNT and node.account == account:
                return self.createIndex(row, 0, node)
        return QModelIndex()

    def folders(self, account: str) -> list[Folder]:
        """Selectable folders of ``account`` in tree order (for a "Move to" menu)."""
        result: list[Folder] = []

        def walk(node: _Node) -> None:
            for child in node.children:
                if child.folder is not None and child.selectable:
                    result.append(child.folder)
                walk(child)

        account_index = self.index_of_account(account)
        if account_index.isValid():
            walk(account_index.internalPointer())
        return result

    def folder(self, folder_id: int) -> Folder | None:
        node = self._by_folder_id.get(folder_id)
        return node.folder if node else None

    # -- QAbstractItemModel -----------------------------------------------------------------

    def _node(self, index: Index) -> _Node:
        if index.isValid():
            node = index.internalPointer()
            assert isinstance(node, _Node)
            return node
        return self._root

    def index(self, row: int, column: int, parent: Index = _TOP) -> QModelIndex:
        if column != 0 or row < 0:
            return QModelIndex()
        node = self._node(parent)
        if row >= len(node.children):
            return QModelIndex()
        return self.createIndex(row, 0, node.children[row])

    def parent(self, index: Index = _TOP) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        node = self._node(index).parent
        if node is None or node is self._root:
            return QModelIndex()
        return self.createIndex(node.row(), 0, node)

    def rowCount(self, parent: Index = _TOP) -> int:
        if parent.column() > 0:
            return 0
        return len(self._node(parent).children)

    def columnCount(self, parent: Index = _TOP) -> int:
        return 1

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        node = self._node(index)
        flags = Qt.ItemFlag.ItemIsEnabled
        if node.kind is NodeKind.ALL_INBOXES or node.selectable:
            flags |= Qt.ItemFlag.ItemIsSelectable
        if node.kind is NodeKind.FOLDER and node.selectable:
            flags |= Qt.ItemFlag.ItemIsDropEnabled
        if node.folder is not None and movable(node.folder):
            flags |= Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        if node.kind is NodeKind.ACCOUNT:
            flags |= Qt.ItemFlag.ItemIsDropEnabled  # a folder dropped here goes to the top
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        if role == Qt.ItemDataRole.DisplayRole:
            return node.title
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(node)
        if role == Qt.ItemDataRole.FontRole:
            unsubscribed = _unsubscribed(node)
            if node.unread or node.kind is NodeKind.ACCOUNT or unsubscribed:
                font = QFont()
                font.setBold(bool(node.unread) or node.kind is NodeKind.ACCOUNT)
                font.setItalic(unsubscribed)
                return font
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if _unsubscribed(node):
                return QPalette().brush(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(self._describe(node))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._describe(node)
        if role == FolderRole.KIND:
            return node.kind
        if role == FolderRole.FOLDER_IDS:
            return node.folder_ids()
        if role == FolderRole.UNREAD:
            return node.unread
        if role == FolderRole.ACCOUNT:
            return node.account
        if role == FolderRole.FOLDER:
            return node.folder
        return None

    def _describe(self, node: _Node) -> str:
        if node.kind is NodeKind.ACCOUNT:
            email = next((a.email for a in self._accounts if a.name == node.account), "")
            return f"Account {node.title} ({email})" if email else f"Account {node.title}"
        if node.kind is NodeKind.OUTBOX:
            count = node.unread
            return f"Outbox, {count} waiting to be sent" if count else "Outbox, empty"
        unread = f", {node.unread} unread" if node.unread else ""
        if node.folder is not None:
            unsubscribed = ", not subscribed" if _unsubscribed(node) else ""
            return f"{node.title}{unread}, {node.folder.total} messages{unsubscribed}"
        return f"{node.title}{unread}"

    @staticmethod
    def _icon(node: _Node) -> Any:
        if node.kind is NodeKind.ALL_INBOXES:
            return icon("inbox")
        if node.kind is NodeKind.OUTBOX:
            return icon("outbox")
        if node.kind is NodeKind.ACCOUNT:
            return None  # the bold name says it; a folder icon would say otherwise
        folder = node.folder
        if folder is not None and is_inbox(folder):
            return icon("inbox")
        if folder is not None and folder.special_use in _SPECIAL_ICON:
            return icon(_SPECIAL_ICON[folder.special_use])
        return icon("folder")

    # -- drops ------------------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return [MESSAGE_IDS_MIME, FOLDER_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """A folder being dragged (onto another, to move it there)."""
        folders = [self._node(i).folder for i in indexes if i.isValid()]
        data = QMimeData()
        chosen = next((f for f in folders if f is not None and movable(f)), None)
        if chosen is not None:
            data.setData(FOLDER_MIME, QByteArray(str(chosen.id).encode("ascii")))
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def _folder_drop(self, data: QMimeData, parent: Index) -> tuple[Folder, str] | None:
        """The folder dragged and its new full name if it may go below ``parent``."""
        if not data.hasFormat(FOLDER_MIME) or not parent.isValid():
            return None
        try:
            folder = self.folder(int(bytes(data.data(FOLDER_MIME).data()).decode("ascii")))
        except ValueError:
            return None
        node = self._node(parent)
        if folder is None or not movable(folder) or node.account != folder.account:
            return None
        if node.kind is NodeKind.ACCOUNT:
            name = moved_name(folder, None)
        elif node.folder is not None:
            name = moved_name(folder, node.folder)
        else:
            return None
        return (folder, name) if name else None

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def canDropMimeData(
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: Index,
    ) -> bool:
        if data.hasFormat(FOLDER_MIME):
            return (
                action == Qt.DropAction.MoveAction and self._folder_drop(data, parent) is not None
            )
        target = self._drop_target(parent)
        payload = decode_message_ids(data)
        # Another account's folder takes them too: a move there is an APPEND, then a
        # delete here (imap/transfers.py).
        return (
            target is not None
            and payload is not None
            and action in (Qt.DropAction.MoveAction, Qt.DropAction.CopyAction)
        )

    def dropMimeData(
        self,
        data: QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: Index,
    ) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        moved = self._folder_drop(data, parent)
        if moved is not None:
            # A rename on the server, made in the store first; the tree follows from there.
            self.folder_dropped.emit(*moved)
            return False
        target = self._drop_target(parent)
        payload = decode_message_ids(data)
        assert target is not None and payload is not None
        self.messages_dropped.emit(payload[1], target)
        # The move itself happens in the background; the list updates from the store.
        return False

    def _drop_target(self, index: Index) -> Folder | None:
        if not index.isValid():
            return None
        node = self._node(index)
        if node.kind is not NodeKind.FOLDER or not node.selectable:
            return None
        return node.folder


def movable(folder: Folder) -> bool:
    """Whether a folder may be dragged elsewhere (the INBOX and special folders stay)."""
    return folder.special_use is None and not is_inbox(folder)


def moved_name(folder: Folder, parent: Folder | None) -> str:
    """``folder``'s full name below ``parent`` (None: the top), or "" where it cannot go:
    onto itself, below itself, where it already is, or without a level delimiter."""
    if parent is None:
        new = folder.leaf
    else:
        delimiter = parent.delimiter
        if not delimiter or parent.id == folder.id:
            return ""
        if parent.name.startswith(folder.name + delimiter):
            return ""
        new = f"{parent.name}{delimiter}{folder.leaf}"
    return "" if new == folder.name else new


def _unsubscribed(node: _Node) -> bool:
    folder = node.folder
    return folder is not None and not folder.subscribed and not is_inbox(folder)


def encode_message_ids(account: str, ids: list[int]) -> QMimeData:
    """Drag data for messages of one account."""
    data = QMimeData()
    payload = json.dumps({"account": account, "ids": ids}).encode("utf-8")
    data.setData(MESSAGE_IDS_MIME, QByteArray(payload))
    return data


def decode_message_ids(data: QMimeData) -> tuple[str, list[int]] | None:
    if not data.hasFormat(MESSAGE_IDS_MIME):
        return None
    try:
        payload = json.loads(bytes(data.data(MESSAGE_IDS_MIME).data()).decode("utf-8"))
        account = str(payload["account"])
        ids = [int(i) for i in payload["ids"]]
    except (ValueError, KeyError, TypeError):
        return None
    return account, ids
