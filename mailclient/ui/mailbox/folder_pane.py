"""How the folder tree draws a row: the name, and the unread count in a badge at the right."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from mailclient.ui.mailbox.folder_model import FolderRole

_BADGE_PADDING = 6
_BADGE_MARGIN = 6


class FolderDelegate(QStyledItemDelegate):
    """Paints the row as usual, leaving room at the right for the unread count."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

    @staticmethod
    def _badge_text(index: QModelIndex | QPersistentModelIndex) -> str:
        unread = index.data(FolderRole.UNREAD) or 0
        return f"{unread:,}" if unread else ""

    def _badge_rect(self, option: QStyleOptionViewItem, text: str) -> QRect:
        font = QFont(option.font)
        font.setBold(True)
        metrics = QFontMetrics(font)
        width = metrics.horizontalAdvance(text) + 2 * _BADGE_PADDING
        height = metrics.height() + 2
        rect = option.rect
        return QRect(
            rect.right() - width - _BADGE_MARGIN,
            rect.top() + (rect.height() - height) // 2,
            width,
            height,
        )

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        text = self._badge_text(index)
        if not text:
            super().paint(painter, option, index)
            return
        badge = self._badge_rect(option, text)
        narrowed = QStyleOptionViewItem(option)
        narrowed.rect = QRect(option.rect)
        narrowed.rect.setRight(badge.left() - 4)
        super().paint(painter, narrowed, index)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        if selected:
            painter.setBrush(palette.color(QPalette.ColorRole.HighlightedText))
            text_color = palette.color(QPalette.ColorRole.Highlight)
        else:
            painter.setBrush(QColor("#3d7fd6"))
            text_color = QColor("#ffffff")
        painter.drawRoundedRect(badge, badge.height() / 2, badge.height() / 2)
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(text_color)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        text = self._badge_text(index)
        if text:
            size.setWidth(size.width() + self._badge_rect(option, text).width() + _BADGE_MARGIN + 4)
        return size.expandedTo(QSize(0, 24))
