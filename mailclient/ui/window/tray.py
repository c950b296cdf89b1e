"""The tray icon: the application icon with the number of unread messages in the inboxes.

Shown only where the desktop has a system tray (QSystemTrayIcon.isSystemTrayAvailable())
and the user did not switch it off. A click brings the window to the front; its menu
offers the window, Get Mail and Quit. It also carries the balloon that stands in for a
desktop notification where no notification service runs.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QObject, QRect, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from mailclient import APP_NAME
from mailclient.ui.widgets.icons import APP_ICON_SIZES, app_icon

BADGE_COLOR = "#d93025"


def badge_text(count: int) -> str:
    return "99+" if count > 99 else str(count)


@functools.lru_cache(maxsize=16)
def unread_icon(count: int) -> QIcon:
    """The application icon, with a red badge carrying ``count`` when there is unread mail."""
    base = app_icon()
    if count <= 0:
        return base
    result = QIcon()
    text = badge_text(count)
    for size in APP_ICON_SIZES:
        pixmap = base.pixmap(size, size)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The badge fills the lower right: legible at 22 px, the usual tray size.
        height = max(9, round(size * 0.56))
        width = min(size, max(height, round(height * (0.5 + 0.38 * len(text)))))
        badge = QRect(size - width, size - height, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(BADGE_COLOR))
        painter.drawRoundedRect(badge, height / 2, height / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(7, round(height * 0.72)))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
        result.addPixmap(pixmap)
    return result


class UnreadTray(QObject):
    """The tray icon of one main window."""

    show_window_requested = Signal()
    get_mail_requested = Signal()
    quit_requested = Signal()
    message_clicked = Signal()  # the balloon from show_message()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.unread = 0
        self._wanted = True
        self.icon = QSystemTrayIcon(unread_icon(0), self)
        self.icon.setObjectName("trayIcon")
        self.menu = QMenu(parent)
        self.menu.setObjectName("trayMenu")
        for text, signal in (
            (f"Open {APP_NAME}", self.show_window_requested),
            ("&Get Mail", self.get_mail_requested),
            (None, None),
            ("&Quit", self.quit_requested),
        ):
            if text is None or signal is None:
                self.menu.addSeparator()
                continue
            action = QAction(text, self.menu)
            action.triggered.connect(signal)
            self.menu.addAction(action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self.message_clicked)
        self._update()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def set_wanted(self, wanted: bool) -> None:
        """The user's choice; the icon shows only where there is a tray as well."""
        self._wanted = wanted
        self.icon.setVisible(wanted and self.available())

    def set_unread(self, count: int) -> None:
        if count != self.unread:
            self.unread = count
            self._update()

    def tooltip(self) -> str:
        if not self.unread:
            return f"{APP_NAME}: no unread mail"
        plural = "s" if self.unread != 1 else ""
        return f"{APP_NAME}: {self.unread:,} unread message{plural}"

    def _update(self) -> None:
        self.icon.setIcon(unread_icon(self.unread))
        self.icon.setToolTip(self.tooltip())
        self.icon.setVisible(self._wanted and self.available())

    def can_show_messages(self) -> bool:
        return self.icon.isVisible() and QSystemTrayIcon.supportsMessages()

    def show_message(self, title: str, text: str) -> None:
        self.icon.showMessage(title, text, unread_icon(self.unread), 10_000)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_window_requested.emit()
