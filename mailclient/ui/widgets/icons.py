"""Icons: the desktop's icon theme where it has one, our own drawings where it does not.

``icon("reply")`` asks the theme for the freedesktop names of that action and falls back to
``icons/fallback/reply.svg`` from ``mailclient.resources``, drawn in the palette's text
colour so that it reads on light and dark themes alike. ``app_icon()`` is the application's
own icon. Everything is read with ``importlib.resources``, so it works the same from a
source tree, a wheel and a PyInstaller bundle.
"""

from __future__ import annotations

import functools
from importlib import resources

from PySide6.QtCore import QByteArray, QRect, QSize, Qt
from PySide6.QtGui import (
    QGuiApplication,
    QIcon,
    QIconEngine,
    QImage,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QStyleOption

from mailclient import APP_ID

RESOURCES = "mailclient.resources"
APP_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

# Our name (also the fallback file's stem) -> icon theme names to try, best first. The
# names come from the freedesktop Icon Naming Specification where it has one, else from
# what Breeze and Adwaita call the icon.
THEME_NAMES: dict[str, tuple[str, ...]] = {
    "get-mail": ("mail-send-receive", "mail-receive"),
    "write": ("mail-message-new",),
    "reply": ("mail-reply-sender",),
    "reply-all": ("mail-reply-all",),
    "forward": ("mail-forward",),
    "delete": ("edit-delete",),
    "flag": ("mail-mark-important", "flag"),
    "mark-read": ("mail-mark-read",),
    "mark-unread": ("mail-mark-unread",),
    "attachment": ("mail-attachment",),
    "folder": ("folder",),
    "inbox": ("mail-folder-inbox", "mail-inbox"),
    "sent": ("mail-folder-sent", "mail-send"),
    "drafts": ("mail-folder-drafts", "folder-drafts", "document-edit"),
    "trash": ("user-trash",),
    "junk": ("mail-mark-junk", "mail-folder-junk"),
    "archive": ("mail-folder-archive", "folder-archive", "archive-insert"),
    "outbox": ("mail-folder-outbox", "mail-outbox"),
}


def read_resource(*parts: str) -> bytes:
    """The bytes of a file in ``mailclient.resources``; missing means a broken install."""
    return resources.files(RESOURCES).joinpath(*parts).read_bytes()


def icon(name: str) -> QIcon:
    """The icon for ``name`` (a key of ``THEME_NAMES``): the theme's, else our drawing."""
    for theme_name in THEME_NAMES[name]:
        if QIcon.hasThemeIcon(theme_name):
            return QIcon.fromTheme(theme_name)
    color = QGuiApplication.palette().color(QPalette.ColorRole.WindowText)
    return _fallback_icon(name, color.name())


# Cached by colour too: after a switch between light and dark, the new colour is drawn.
@functools.cache
def _fallback_icon(name: str, color: str) -> QIcon:
    """Our drawing of ``name`` in ``color`` (``#rrggbb``)."""
    svg = read_resource("icons", "fallback", f"{name}.svg").replace(
        b"currentColor", color.encode("ascii")
    )
    return QIcon(_Drawing(svg))


class _Drawing(QIconEngine):
    """A drawing rendered at each size, and in each mode, when that is first asked for.

    Rendering every size at once took 3 ms and 140 KB an icon at start-up, mostly for
    sizes nothing shows; a toolbar asks for one size, a menu for another.
    """

    def __init__(self, svg: bytes) -> None:
        super().__init__()
        self._svg = svg
        self._renderer: QSvgRenderer | None = None
        self._drawn: dict[tuple[int, int, QIcon.Mode, QIcon.State], QPixmap] = {}

    def clone(self) -> QIconEngine:
        return _Drawing(self._svg)

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        key = (size.width(), size.height(), mode, state)
        drawn = self._drawn.get(key)
        if drawn is None:
            if self._renderer is None:
                self._renderer = QSvgRenderer(QByteArray(self._svg))
            image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._renderer.render(painter)
            painter.end()
            drawn = QPixmap.fromImage(image)
            style = QApplication.style()
            if mode != QIcon.Mode.Normal and style is not None:
                # Greyed when disabled, tinted when selected: as Qt does for pixmap icons.
                drawn = style.generatedIconPixmap(mode, drawn, QStyleOption())
            self._drawn[key] = drawn
        return drawn

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.drawPixmap(rect, self.pixmap(rect.size(), mode, state))


@functools.cache
def app_icon() -> QIcon:
    """The application icon at every size it was drawn for."""
    result = QIcon()
    for size in APP_ICON_SIZES:
        pixmap = QPixmap()
        data = read_resource("icons", "hicolor", f"{size}x{size}", "apps", f"{APP_ID}.png")
        if not pixmap.loadFromData(data, "PNG"):
            raise ValueError(f"The {size}px application icon in {RESOURCES} is not a PNG.")
        result.addPixmap(pixmap)
    return result
