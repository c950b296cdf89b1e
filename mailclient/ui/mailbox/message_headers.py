"""The reading pane's parts above the body: the headers, the remote-content bar and the
notice of what is not shown; and received text made fit for a label.

Everything here comes from a stranger. Header labels wrap anywhere and never ask for
width (a 20,000-character subject made the window 32,767 pixels wide); long address lists
show their first addresses and a count; a body cut for length or depth says so, with
Show All and View Source.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from mailclient.mime.addresses import AddressPreview, preview
from mailclient.mime.decode import without_invisible
from mailclient.ui.widgets.plain_text import tooltip

if TYPE_CHECKING:
    from mailclient.workers.reading import PreparedMessage


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SUBJECT_SHOWN = 400  # characters of a subject in the header; more in its tooltip
_LONG_RUN = re.compile(r"[^\s\u200b]{30,}")


def breakable(text: str) -> str:
    """``text`` with a zero-width space every 12 characters of a run of 30 or more without
    a break, so that a label wraps it anywhere rather than growing as wide as it is."""

    def split(match: re.Match[str]) -> str:
        run = match.group()
        return "\u200b".join(run[i : i + 12] for i in range(0, len(run), 12))

    return _LONG_RUN.sub(split, text)


def shown_text(text: str, limit: int) -> str:
    """Received text for a label: without bidi controls and invisible characters, at most
    ``limit`` characters, breakable anywhere."""
    text = without_invisible(text)
    if len(text) > limit:
        text = text[:limit].rstrip() + "…"
    return breakable(text)


def format_addresses(value: str | AddressPreview) -> str:
    """Rich text for an address header: names in full, addresses dimmed after them, the
    first few only and how many more ("and 19,990 more")."""
    shown = preview(value, whole=False) if isinstance(value, str) else value
    parts = []
    for name, address in shown.addresses:
        name, address = shown_text(name, 200), shown_text(address, 200)
        if name and address:
            parts.append(
                f"{_escape(name)} <span style='color:#666'>&lt;{_escape(address)}&gt;</span>"
            )
        else:
            parts.append(_escape(address or name))
    text = ", ".join(p for p in parts if p)
    if shown.more is None:
        text += " <span style='color:#666'>and more…</span>"
    elif shown.more:
        text += f" <span style='color:#666'>and {shown.more:,} more</span>"
    return text


class HeaderLabel(QLabel):
    """A header value: wraps anywhere (see breakable), never asks for width, and copies
    the text without the zero-width spaces that let it wrap."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        copy = QAction("&Copy", self)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy.triggered.connect(self.copy_selection)
        select_all = QAction("Select &All", self)
        select_all.triggered.connect(lambda: self.setSelection(0, len(self.text())))
        self.addActions([copy, select_all])

    def copy_selection(self) -> None:
        text = self.selectedText() or (
            self.text() if self.textFormat() == Qt.TextFormat.PlainText else ""
        )
        QApplication.clipboard().setText(text.replace("\u200b", ""))


class HeaderView(QFrame):
    """Subject, From, To, Cc and Date of the shown message."""

    _FIELDS = ("From", "To", "Cc", "Date")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageHeaders")
        self.setAccessibleName("Message headers")
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, palette.color(QPalette.ColorRole.AlternateBase))
        self.setPalette(palette)
        self.setFrameShape(QFrame.Shape.NoFrame)
        layout = QGridLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setHorizontalSpacing(10)
        layout.setVerticalSpacing(2)
        self.subject = HeaderLabel(self)
        self.subject.setObjectName("headerSubject")
        # Received text: never let Qt take a subject for HTML (it would load <img> files).
        self.subject.setTextFormat(Qt.TextFormat.PlainText)
        self.subject.setAccessibleName("Subject")
        font = QFont(self.subject.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.subject.setFont(font)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.subject, 0, 0, 1, 2)
        self.values: dict[str, QLabel] = {}
        self._names: dict[str, QLabel] = {}
        for row, field in enumerate(self._FIELDS, start=1):
            name = QLabel(f"{field}:", self)
            name.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            name.setStyleSheet("color: #555;")
            value = HeaderLabel(self)
            value.setObjectName(f"header{field}")
            value.setAccessibleName(field)
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            name.setBuddy(value)
            layout.addWidget(name, row, 0)
            layout.addWidget(value, row, 1)
            self.values[field] = value
            self._names[field] = name
        layout.setColumnStretch(1, 1)

    def show_headers(
        self,
        subject: str,
        sender: str,
        to: str | AddressPreview,
        cc: str | AddressPreview,
        date: str,
    ) -> None:
        """Show the headers; ``to`` and ``cc`` are previews made off the GUI thread, or
        the whole value, of which only the start is read here."""
        self.subject.setText(shown_text(subject, SUBJECT_SHOWN) or "(no subject)")
        long = len(subject) > SUBJECT_SHOWN
        self.subject.setToolTip(tooltip(shown_text(subject, 4 * SUBJECT_SHOWN)) if long else "")
        for field, value in (("From", sender), ("To", to), ("Cc", cc), ("Date", date)):
            self.values[field].setText(
                format_addresses(value) if field != "Date" else _escape(str(value))
            )
            # A message without a Date (a saved file, a broken header) shows no empty row.
            visible = bool(value if isinstance(value, str) else value.addresses) or field == "From"
            self.values[field].setVisible(visible)
            self._names[field].setVisible(visible)

    def text(self, field: str) -> str:
        """The rich text of a header's label, without the breaks added to wrap it."""
        return self.values[field].text().replace("\u200b", "")

    def add_actions(self, actions: list[QAction]) -> None:
        """Buttons at the top right for what can be done with the message (Reply...)."""
        bar = QToolBar(self)
        bar.setObjectName("headerActions")
        bar.setIconSize(QSize(16, 16))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions(actions)
        layout = self.layout()
        assert isinstance(layout, QGridLayout)
        layout.addWidget(bar, 0, 2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)


class RemoteContentBar(QFrame):
    """ "Remote content blocked — Load for this message"."""

    load_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("remoteContentBar")
        self.setAccessibleName("Remote content blocked")
        self.setStyleSheet(
            "#remoteContentBar { background: #fff4ce; border-bottom: 1px solid #e0c868; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 8, 4)
        self.label = QLabel(
            "Remote content blocked — this message wants to load images from the internet, "
            "which tells the sender that you read it.",
            self,
        )
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.button = QPushButton("Load for this message", self)
        self.button.setObjectName("loadRemoteContent")
        self.button.clicked.connect(self.load_requested)
        layout.addWidget(self.button)


class NoticeBar(QFrame):
    """What of the message is not shown, with Show All and View Source."""

    show_all_requested = Signal()
    source_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setAccessibleName("Part of the message is not shown")
        self.setStyleSheet("#noticeBar { background: #e8f0fb; border-bottom: 1px solid #a9c1e2; }")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 8, 4)
        self.label = QLabel(self)
        self.label.setObjectName("noticeText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.label, 1)
        self.show_all_button = QPushButton("Show All", self)
        self.show_all_button.setObjectName("showWholeMessage")
        self.show_all_button.clicked.connect(self.show_all_requested)
        layout.addWidget(self.show_all_button)
        self.source_button = QPushButton("View Source", self)
        self.source_button.setObjectName("viewSource")
        self.source_button.clicked.connect(self.source_requested)
        layout.addWidget(self.source_button)

    def show_notice(self, prepared: PreparedMessage) -> None:
        """Say what of ``prepared`` is not shown; hidden when all of it is."""
        from mailclient.mime.parse import MAX_DEPTH, MAX_PARTS

        parsed = prepared.parsed
        sentences = []
        if prepared.cut:
            sentences.append(
                f"This message is long: the first {prepared.shown_chars:,} of its "
                f"{prepared.body_chars:,} characters are shown."
            )
        if parsed.too_deep:
            sentences.append(
                f"Parts nested more than {MAX_DEPTH} levels deep are not shown "
                "(they are listed as attachments)."
            )
        if parsed.too_many:
            sentences.append(
                f"{parsed.too_many:,} parts after the first {MAX_PARTS:,} are not shown."
            )
        self.label.setText(" ".join(sentences))
        self.show_all_button.setVisible(prepared.cut)
        self.setVisible(bool(sentences))
