"""The reading pane: headers, a remote-content bar, the body, the attachments.

Plain text is shown in a QTextBrowser (links open in the system browser). HTML goes to the
locked-down HtmlView, which is created the first time an HTML message is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QFont, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.models import MessageSummary
from mailclient.ui.attachments import AttachmentPanel
from mailclient.ui.html_view import HtmlContent, HtmlView, cid_base, new_token

if TYPE_CHECKING:
    from mailclient.workers.reading import PreparedMessage

_LINK_SCHEMES = ("http", "https", "mailto")


def load_job(
    store_path: Path, message_id: int, *, prefer_plain: bool, allow_remote: bool
) -> Callable[[], PreparedMessage | None]:
    """A job for the pool: read the stored body of ``message_id`` and prepare it to show.

    Parsing and sanitizing are imported on the pool thread when first needed, not at
    start-up.
    """
    token = new_token()

    def job() -> PreparedMessage | None:
        from mailclient.workers.reading import load_prepared

        return load_prepared(
            store_path,
            message_id,
            prefer_plain=prefer_plain,
            allow_remote=allow_remote,
            token=token,
            cid_base=cid_base(token),
        )

    return job


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_addresses(value: str) -> str:
    """Rich text for an address header: names in full, addresses dimmed after them."""
    parts = []
    for name, address in getaddresses([value]):
        if name and address:
            parts.append(
                f"{_escape(name)} <span style='color:#666'>&lt;{_escape(address)}&gt;</span>"
            )
        else:
            parts.append(_escape(address or name))
    return ", ".join(p for p in parts if p) or _escape(value)


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
        self.subject = QLabel(self)
        self.subject.setObjectName("headerSubject")
        # Received text: never let Qt take a subject for HTML (it would load <img> files).
        self.subject.setTextFormat(Qt.TextFormat.PlainText)
        self.subject.setAccessibleName("Subject")
        font = QFont(self.subject.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.subject.setFont(font)
        self.subject.setWordWrap(True)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.subject, 0, 0, 1, 2)
        self.values: dict[str, QLabel] = {}
        self._names: dict[str, QLabel] = {}
        for row, field in enumerate(self._FIELDS, start=1):
            name = QLabel(f"{field}:", self)
            name.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            name.setStyleSheet("color: #555;")
            value = QLabel(self)
            value.setObjectName(f"header{field}")
            value.setAccessibleName(field)
            value.setWordWrap(True)
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextSelectableByMouse
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            value.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            name.setBuddy(value)
            layout.addWidget(name, row, 0)
            layout.addWidget(value, row, 1)
            self.values[field] = value
            self._names[field] = name
        layout.setColumnStretch(1, 1)

    def show_headers(self, subject: str, sender: str, to: str, cc: str, date: str) -> None:
        self.subject.setText(subject or "(no subject)")
        for field, value in (("From", sender), ("To", to), ("Cc", cc), ("Date", date)):
            self.values[field].setText(
                format_addresses(value) if field != "Date" else _escape(value)
            )
            visible = bool(value) or field in ("From", "Date")
            self.values[field].setVisible(visible)
            self._names[field].setVisible(visible)

    def text(self, field: str) -> str:
        return self.values[field].text()

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


class ReadingPane(QWidget):
    """Shows one message; signals what the window should act on."""

    link_hovered = Signal(str)
    load_remote_requested = Signal()

    def __init__(self, pool: QThreadPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readingPane")
        self.setAccessibleName("Reading pane")
        self.message_id: int | None = None
        self.prepared: PreparedMessage | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.headers = HeaderView(self)
        layout.addWidget(self.headers)
        self.remote_bar = RemoteContentBar(self)
        self.remote_bar.load_requested.connect(self.load_remote_requested)
        self.remote_bar.hide()
        layout.addWidget(self.remote_bar)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 1)
        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("readingPlaceholder")
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)  # may quote a server's error
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777; font-size: 13pt;")
        self.stack.addWidget(self.placeholder)
        self.text_view = QTextBrowser(self)
        self.text_view.setObjectName("textBody")
        self.text_view.setAccessibleName("Message body")
        self.text_view.setOpenLinks(False)
        self.text_view.setOpenExternalLinks(False)
        self.text_view.setFrameShape(QFrame.Shape.NoFrame)
        self.text_view.document().setDocumentMargin(14)
        self.text_view.anchorClicked.connect(self._open_link)
        self.text_view.highlighted.connect(lambda url: self.link_hovered.emit(url.toString()))
        self.stack.addWidget(self.text_view)
        self.html_view: HtmlView | None = None
        self.attachments = AttachmentPanel(pool, self)
        self.attachments.hide()
        layout.addWidget(self.attachments)
        self.show_placeholder("No message selected")

    # -- what is shown ----------------------------------------------------------------------

    def show_placeholder(self, text: str) -> None:
        self.message_id = None
        self.prepared = None
        self.headers.hide()
        self.remote_bar.hide()
        self.attachments.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        if self.html_view is not None:
            self.html_view.clear()

    def show_loading(self, summary: MessageSummary, text: str = "Loading message…") -> None:
        """Headers from the store at once; the body when it arrives."""
        self.message_id = summary.id
        self.prepared = None
        self.headers.show_headers(
            summary.subject,
            summary.sender,
            summary.to,
            summary.cc,
            _format_full_date(summary.date),
        )
        self.headers.show()
        self.remote_bar.hide()
        self.attachments.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def show_prepared(self, prepared: PreparedMessage) -> None:
        self.message_id = prepared.message_id
        self.prepared = prepared
        parsed = prepared.parsed
        self.headers.show_headers(
            parsed.subject, parsed.sender, parsed.to, parsed.cc, _format_full_date(parsed.date)
        )
        self.headers.show()
        if prepared.safe_html is not None:
            view = self._html_view()
            view.show_content(
                HtmlContent(
                    prepared.token,
                    prepared.safe_html.document,
                    parsed.inline_parts,
                    allow_remote=prepared.allow_remote,
                )
            )
            self.stack.setCurrentWidget(view)
            self.remote_bar.setVisible(prepared.safe_html.remote_blocked > 0)
        else:
            self.text_view.setHtml(prepared.plain_html or "")
            self.stack.setCurrentWidget(self.text_view)
            self.remote_bar.hide()
        self.attachments.show_attachments(prepared.raw, parsed)

    def _html_view(self) -> HtmlView:
        if self.html_view is None:
            self.html_view = HtmlView(self)
            self.html_view.link_hovered.connect(self.link_hovered)
            self.html_view.link_activated.connect(self._open_link)
            self.stack.addWidget(self.html_view)
        return self.html_view

    def add_header_actions(self, actions: list[QAction]) -> None:
        self.headers.add_actions(actions)

    # -- keyboard ---------------------------------------------------------------------------

    def page_down(self) -> None:
        """Space in the message list: the next screenful of the body."""
        current = self.stack.currentWidget()
        if current is self.text_view:
            bar = self.text_view.verticalScrollBar()
            bar.triggerAction(bar.SliderAction.SliderPageStepAdd)
        elif self.html_view is not None and current is self.html_view:
            self.html_view.page_down()

    @staticmethod
    def _open_link(url: QUrl) -> None:
        if url.scheme() in _LINK_SCHEMES:
            QDesktopServices.openUrl(url)

    def shown_kind(self) -> str:
        """ "html", "text" or "placeholder": what the body area shows now."""
        current = self.stack.currentWidget()
        if current is self.text_view:
            return "text"
        if self.html_view is not None and current is self.html_view:
            return "html"
        return "placeholder"


def _format_full_date(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%a %d %b %Y %H:%M")
