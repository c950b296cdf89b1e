"""The message list: a lazy table over the store's ordered message ids.

The model holds the ordered row ids of the shown folders (the store answers that in tens of
milliseconds for 100,000 messages) and materialises summaries only for the pages a view
asks for, keeping a bounded cache. Nothing here touches the network. When the store
changes, refresh() diffs the new id list against the old one and reports removals,
moves and insertions to the view, so the selection and scroll position survive new mail.
"""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap

from mailclient.core.models import MessageSummary
from mailclient.store.mail import MailStore, SortKey
from mailclient.ui.folder_model import MESSAGE_IDS_MIME, encode_message_ids

PAGE_SIZE = 128
MAX_PAGES = 64  # about 8,000 summaries: many screens of scrolling back and forth

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()  # the invisible root, as a default argument


class Column(IntEnum):
    FLAG = 0
    ATTACHMENT = 1
    SUBJECT = 2
    SENDER = 3
    DATE = 4
    SIZE = 5


HEADERS = {
    Column.FLAG: "Flag",
    Column.ATTACHMENT: "Attachment",
    Column.SUBJECT: "Subject",
    Column.SENDER: "From",
    Column.DATE: "Date",
    Column.SIZE: "Size",
}
SORT_KEYS = {
    Column.SUBJECT: SortKey.SUBJECT,
    Column.SENDER: SortKey.SENDER,
    Column.DATE: SortKey.DATE,
    Column.SIZE: SortKey.SIZE,
}


class MessageRole:
    """Custom item data roles of MessageListModel."""

    ID = Qt.ItemDataRole.UserRole + 1
    SUMMARY = Qt.ItemDataRole.UserRole + 2


def format_size(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def format_date(value: datetime | None, now: datetime) -> str:
    """Today: the time; this week: weekday and time; else the date."""
    if value is None:
        return ""
    local = value.astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if now.date() - local.date() < timedelta(days=7) and local <= now:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def sender_name(sender: str) -> str:
    """The display name of "Name <address>", else the address."""
    if "<" in sender and sender.rstrip().endswith(">"):
        name = sender[: sender.rfind("<")].strip().strip('"').strip()
        if name:
            return name
        return sender[sender.rfind("<") + 1 : -1].strip()
    return sender.strip()


@functools.cache
def star_icon() -> QIcon:
    """The flag marker: an orange star."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    for point in range(10):
        radius = 7.5 if point % 2 == 0 else 3.2
        angle = math.pi / 2 + point * math.pi / 5
        x, y = 8 + radius * math.cos(angle), 8.5 - radius * math.sin(angle)
        if point == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.closeSubpath()
    painter.setPen(QColor("#b36b00"))
    painter.setBrush(QColor("#f5a623"))
    painter.drawPath(path)
    painter.end()
    return QIcon(pixmap)


@functools.cache
def paperclip_icon() -> QIcon:
    """The attachment marker."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = painter.pen()
    pen.setColor(QColor("#555555"))
    pen.setWidthF(1.3)
    painter.setPen(pen)
    path = QPainterPath()
    # An open loop: down the right side, round the bottom, up the left, round the top,
    # and back down the middle, like a paper clip seen from the front.
    path.moveTo(10.5, 4.5)
    path.lineTo(10.5, 11.0)
    path.arcTo(5.5, 8.5, 5.0, 5.0, 0, -180)
    path.lineTo(5.5, 3.5)
    path.arcTo(5.5, 1.0, 3.5, 3.5, 180, -180)
    path.lineTo(9.0, 10.0)
    path.arcTo(7.0, 9.0, 2.0, 2.0, 0, -180)
    path.lineTo(7.0, 5.0)
    painter.drawPath(path)
    painter.end()
    return QIcon(pixmap)


_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole.value
_OTHER_ROLES = frozenset(
    {Qt.ItemDataRole.ToolTipRole.value, _ACCESSIBLE, MessageRole.ID, MessageRole.SUMMARY}
)
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsDragEnabled
    | Qt.ItemFlag.ItemNeverHasChildren
)


class _Row:
    """One materialised row: the summary and its display texts, computed once."""

    __slots__ = ("bold", "summary", "texts")

    def __init__(self, summary: MessageSummary, now: datetime) -> None:
        self.summary = summary
        self.bold = not summary.seen
        self.texts = (
            "",
            "",
            summary.subject or "(no subject)",
            sender_name(summary.sender),
            format_date(summary.date, now),
            format_size(summary.size),
        )


class MessageListModel(QAbstractTableModel):
    """Messages of one or more folders, sorted and filtered by the store."""

    def __init__(self, store: MailStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._folder_ids: list[int] = []
        self._sort_key = SortKey.DATE
        self._descending = True
        self._filter = ""
        self._ids: list[int] = []
        self._rows: dict[int, int] | None = None  # id -> row, built when first asked
        self._pages: OrderedDict[int, list[_Row | None]] = OrderedDict()
        self._last_page = -1
        self._now = datetime.now().astimezone()
        self._bold = QFont()
        self._bold.setBold(True)

    # -- what is shown ----------------------------------------------------------------------

    @property
    def folder_ids(self) -> list[int]:
        return list(self._folder_ids)

    @property
    def quick_filter(self) -> str:
        return self._filter

    @property
    def sort_key(self) -> SortKey:
        return self._sort_key

    @property
    def descending(self) -> bool:
        return self._descending

    def show_folders(self, folder_ids: Sequence[int]) -> None:
        self._folder_ids = list(folder_ids)
        self._reset()

    def set_quick_filter(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._reset()

    def set_sort(self, key: SortKey, descending: bool) -> None:
        if (key, descending) != (self._sort_key, self._descending):
            self._sort_key, self._descending = key, descending
            self._reset()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_KEYS.get(Column(column)) if 0 <= column < len(Column) else None
        if key is not None:
            self.set_sort(key, order == Qt.SortOrder.DescendingOrder)

    def _query(self) -> list[int]:
        if not self._folder_ids:
            return []
        return self._store.message_ids(
            self._folder_ids, self._sort_key, self._descending, self._filter
        )

    def _reset(self) -> None:
        self.beginResetModel()
        self._ids = self._query()
        self._rows = None
        self._pages.clear()
        self._now = datetime.now().astimezone()
        self.endResetModel()

    # -- following the store ----------------------------------------------------------------

    def refresh(self, folder_ids: Sequence[int] | None = None) -> None:
        """Re-read after the store changed (``folder_ids``: which folders; None = any)."""
        if folder_ids is not None and not set(folder_ids) & set(self._folder_ids):
            return
        new = self._query()
        self._pages.clear()
        self._now = datetime.now().astimezone()
        if new != self._ids:
            self._apply(new)
        if self._ids:
            last = len(self._ids) - 1
            self.dataChanged.emit(self.index(0, 0), self.index(last, len(Column) - 1))

    def _apply(self, new: list[int]) -> None:
        new_set = set(new)
        # 1. Removals, in runs from the bottom so earlier row numbers stay valid.
        gone = [row for row, id_ in enumerate(self._ids) if id_ not in new_set]
        for first, last in reversed(_runs(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._ids[first : last + 1]
            self._forget_rows()
            self.endRemoveRows()
        # 2. A changed order of the remaining rows: a layout change that keeps selections.
        kept = set(self._ids)
        ordered = [id_ for id_ in new if id_ in kept]
        if ordered != self._ids:
            self.layoutAboutToBeChanged.emit()
            position = {id_: row for row, id_ in enumerate(ordered)}
            old_ids = self._ids
            for index in self.persistentIndexList():
                new_row = position[old_ids[index.row()]]
                self.changePersistentIndex(index, self.index(new_row, index.column()))
            self._ids = ordered
            self._forget_rows()
            self.layoutChanged.emit()
        # 3. Insertions, top to bottom: each run lands where the new list has it.
        added = [row for row, id_ in enumerate(new) if id_ not in kept]
        for first, last in _runs(added):
            self.beginInsertRows(QModelIndex(), first, last)
            self._ids[first:first] = new[first : last + 1]
            self._forget_rows()
            self.endInsertRows()

    def _forget_rows(self) -> None:
        # Views read rows while each step is announced: pages cached then are stale now.
        self._rows = None
        self._pages.clear()

    # -- lookups ----------------------------------------------------------------------------

    def message_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, message_id: int) -> int | None:
        if self._rows is None:
            self._rows = {id_: row for row, id_ in enumerate(self._ids)}
        return self._rows.get(message_id)

    def summary(self, row: int) -> MessageSummary | None:
        found = self._row(row)
        return found.summary if found is not None else None

    def _row(self, row: int) -> _Row | None:
        if not 0 <= row < len(self._ids):
            return None
        number = row // PAGE_SIZE
        page = self._pages.get(number)
        if page is None:
            page = self._load_page(number)
        elif number != self._last_page:
            self._pages.move_to_end(number)
        self._last_page = number
        return page[row - number * PAGE_SIZE]

    def _load_page(self, number: int) -> list[_Row | None]:
        ids = self._ids[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
        found = {s.id: s for s in self._store.summaries(ids)}
        page = [_Row(found[id_], self._now) if id_ in found else None for id_ in ids]
        self._pages[number] = page
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def cached_pages(self) -> int:
        """How many pages of summaries are materialised (for tests and the benchmark)."""
        return len(self._pages)

    # -- QAbstractItemModel -----------------------------------------------------------------

    def rowCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return "" if column in (Column.FLAG, Column.ATTACHMENT) else HEADERS[column]
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return HEADERS[column]
        if role == Qt.ItemDataRole.DecorationRole:
            if column is Column.FLAG:
                return star_icon()
            if column is Column.ATTACHMENT:
                return paperclip_icon()
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        # Called a thousand times per screen: the common roles come first and cheaply.
        if role == _DISPLAY:
            row = self._row(index.row())
            return row.texts[index.column()] if row is not None else None
        if role == _FONT:
            row = self._row(index.row())
            return self._bold if row is not None and row.bold else None
        if role == _DECORATION:
            column = index.column()
            if column > Column.ATTACHMENT:
                return None
            row = self._row(index.row())
            if row is None:
                return None
            if column == Column.FLAG:
                return star_icon() if row.summary.flagged else None
            return paperclip_icon() if row.summary.has_attachments else None
        if role == _ALIGNMENT:
            return _RIGHT if index.column() == Column.SIZE else None
        if role not in _OTHER_ROLES or not index.isValid():
            return None
        if role == MessageRole.ID:
            return self.message_id(index.row())
        summary = self.summary(index.row())
        if summary is None:
            return None
        column = Column(index.column())
        if role == MessageRole.SUMMARY:
            return summary
        if role == _ACCESSIBLE:
            return self._accessible(summary, column)
        if column is Column.SENDER:
            return summary.sender
        if column is Column.DATE and summary.date is not None:
            return summary.date.astimezone().strftime("%A %d %B %Y, %H:%M")
        if column is Column.SUBJECT:
            return summary.subject
        return None

    def _accessible(self, summary: MessageSummary, column: Column) -> str:
        if column is Column.FLAG:
            return "flagged" if summary.flagged else "not flagged"
        if column is Column.ATTACHMENT:
            return "has attachments" if summary.has_attachments else "no attachments"
        text = _Row(summary, self._now).texts[column]
        if column is Column.SUBJECT and not summary.seen:
            return f"unread: {text}"
        return text

    # -- drag -------------------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return [MESSAGE_IDS_MIME]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        summaries = [s for s in (self.summary(r) for r in rows) if s is not None]
        account = summaries[0].account if summaries else ""
        ids = [s.id for s in summaries if s.account == account]
        return encode_message_ids(account, ids)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers grouped into (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
