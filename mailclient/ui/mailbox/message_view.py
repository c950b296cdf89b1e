"""The message list's view: a table dressed as a mail list (no grid, whole rows).

A QTableView rather than a QTreeView: a tree lays out an item for every row after each
reset (1 s for 100,000 messages when the filter or the sort changes); a table with fixed
row heights only ever looks at the rows on screen.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)


class _RowDelegate(QStyledItemDelegate):
    """Draws cells without the per-cell focus frame: the whole row is the cursor."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        # Called for every cell of every screen: the option is copied only for the one
        # cell that has the focus (a tenth of the cost of drawing a screen otherwise).
        if option.state & _FOCUS:
            option = QStyleOptionViewItem(option)
            option.state &= ~_FOCUS
        super().paint(painter, option, index)


_FOCUS = QStyle.StateFlag.State_HasFocus
# Pressed alone they choose nothing (Alt opens the menu bar, Ctrl begins Ctrl+C).
_MODIFIER_KEYS = frozenset(
    {Qt.Key.Key_Control, Qt.Key.Key_Shift, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr}
)


class MessageListView(QTableView):
    # A click or a key in the list: the person chooses (Qt also moves the cursor itself,
    # as when the list takes the focus with nothing chosen).
    used = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.setTabKeyNavigation(False)  # Tab leaves the list, as in other mail clients
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setItemDelegate(_RowDelegate(self))
        rows = self.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        columns = self.horizontalHeader()
        columns.setHighlightSections(False)
        columns.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        # A table's Home and End go to the first and last column; in a mail list they go
        # to the first and last message, as Ctrl+Home and Ctrl+End do.
        if action in (
            QAbstractItemView.CursorAction.MoveHome,
            QAbstractItemView.CursorAction.MoveEnd,
        ):
            modifiers |= Qt.KeyboardModifier.ControlModifier
        return super().moveCursor(action, modifiers)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.used.emit()
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() not in _MODIFIER_KEYS:
            self.used.emit()
        super().keyPressEvent(event)

    def header(self) -> QHeaderView:
        """The column header (the name QTreeView uses)."""
        return self.horizontalHeader()
