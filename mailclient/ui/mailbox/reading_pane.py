"""The reading pane: headers, a remote-content bar, the body, the attachments.

Plain text is shown in a QTextBrowser (links open in the system browser). HTML goes to the
locked-down HtmlView, which is created the first time an HTML message is shown.

Everything here comes from a stranger. Header labels wrap anywhere and never ask for
width (a 20,000-character subject made the window 32,767 pixels wide); long address lists
show their first addresses and a count; a body cut for length or depth says so, with
Show All and View Source; a link whose text is another address than where it leads asks
before it opens.
"""

from __future__ import annotations

import contextlib
import ctypes
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QFont, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.models import MessageSummary
from mailclient.mime.addresses import AddressPreview, preview
from mailclient.mime.decode import without_invisible
from mailclient.mime.highlight import FIRST_HIT, MARK_COLOUR, HighlightTerm
from mailclient.ui.mailbox.attachments import AttachmentPanel
from mailclient.ui.mailbox.conversation import ConversationView
from mailclient.ui.mailbox.html_view import HtmlContent, HtmlView, cid_base, new_token
from mailclient.ui.mailbox.source_view import SourceWindow
from mailclient.ui.widgets.plain_text import tooltip
from mailclient.ui.widgets.shortcuts import MAIN_WINDOW, keys
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.workers.conversation import Conversation
    from mailclient.workers.reading import PreparedMessage

_LINK_SCHEMES = ("http", "https", "mailto")
_BIG_MESSAGE = 8 * 2**20


def give_back_memory() -> None:
    """Return the free memory of the C heap to the system (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def load_job(
    store_path: Path,
    message_id: int,
    *,
    prefer_plain: bool,
    allow_remote: bool,
    highlight: Sequence[HighlightTerm] = (),
) -> Callable[[], PreparedMessage | None]:
    """A job for the pool: read the stored body of ``message_id`` and prepare it to show,
    with the words of ``highlight`` (a search's) marked.

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
            highlight=highlight,
        )

    return job


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


def deceptive_link_question(text: str, target: str) -> str:
    """What the reader is asked before a link whose text is another address is opened."""
    return (
        f"The link says it leads to\n\n{text}\n\nbut it leads to\n\n{target}\n\n"
        "Links like this are a common trick to lead you to another site. Open it anyway?"
    )


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
        self.notice_bar = NoticeBar(self)
        self.notice_bar.show_all_requested.connect(self.show_whole_message)
        self.notice_bar.source_requested.connect(self.view_source)
        self.notice_bar.hide()
        layout.addWidget(self.notice_bar)
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
        self.conversation_view = ConversationView(self)
        self.conversation_view.link_clicked.connect(self._open_link)
        self.conversation_view.highlighted.connect(
            lambda url: self.link_hovered.emit(url.toString())
        )
        self.stack.addWidget(self.conversation_view)
        self.html_view: HtmlView | None = None
        self.attachments = AttachmentPanel(pool, self)
        self.attachments.hide()
        layout.addWidget(self.attachments)
        self._pool = pool
        self._summary_date: datetime | None = None
        self.source_windows: list[SourceWindow] = []
        self.view_source_action = QAction("View &Source", self)
        self.view_source_action.setObjectName("viewSource")
        self.view_source_action.setShortcuts(keys(MAIN_WINDOW, "viewSource"))
        self.view_source_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.view_source_action.triggered.connect(self.view_source)
        self.addAction(self.view_source_action)
        self.show_placeholder("No message selected")

    # -- what is shown ----------------------------------------------------------------------

    def show_placeholder(self, text: str) -> None:
        self.message_id = None
        self._let_go()
        self.headers.hide()
        self.remote_bar.hide()
        self.notice_bar.hide()
        self.attachments.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        if self.html_view is not None:
            self.html_view.clear()

    def show_loading(self, summary: MessageSummary, text: str = "Loading message…") -> None:
        """Headers from the store at once; the body when it arrives."""
        self.message_id = summary.id
        self._let_go()
        self._summary_date = summary.date
        self.headers.show_headers(
            summary.subject,
            summary.sender,
            summary.to,
            summary.cc,
            _format_full_date(summary.date),
        )
        self.headers.show()
        self.remote_bar.hide()
        self.notice_bar.hide()
        self.attachments.hide()
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)
        self._release_html()

    def show_prepared(self, prepared: PreparedMessage) -> None:
        if prepared.message_id != self.message_id:
            self._summary_date = None
        self.message_id = prepared.message_id
        self._let_go()
        self.prepared = prepared
        parsed = prepared.parsed
        # Without a (readable) Date the list shows when the server received the message:
        # the pane says the same.
        date = parsed.date or self._summary_date
        self.headers.show_headers(
            parsed.subject, parsed.sender, prepared.to, prepared.cc, _format_full_date(date)
        )
        self.headers.show()
        self.notice_bar.show_notice(prepared)
        if prepared.safe_html is not None:
            view = self._html_view()
            view.show_content(
                HtmlContent(
                    prepared.token,
                    prepared.safe_html.document,
                    parsed.inline_parts,
                    allow_remote=prepared.allow_remote,
                    anchor=FIRST_HIT if prepared.hits else "",
                )
            )
            self.stack.setCurrentWidget(view)
            self.remote_bar.setVisible(prepared.safe_html.remote_blocked > 0)
        else:
            self.text_view.setHtml(prepared.plain_html or "")
            self.stack.setCurrentWidget(self.text_view)
            if prepared.hits:

                def still_shown() -> bool:
                    return self.prepared is prepared

                # Once the attachments below have taken their room.
                QTimer.singleShot(
                    0, self, lambda: self._show_first_hit(self.text_view, still_shown)
                )
            self.remote_bar.hide()
            self._release_html()
        self.attachments.show_attachments(prepared.raw, parsed)

    def show_conversation(self, conversation: Conversation) -> bool:
        """The whole conversation of the message shown, one message after the other.
        False (nothing shown) when it is another message's, or has no other message."""
        if conversation.root != self.message_id or len(conversation.entries) < 2:
            return False
        self._let_go()
        self.headers.hide()
        self.remote_bar.hide()
        self.notice_bar.hide()
        self.attachments.hide()
        view = self.conversation_view
        view.show_conversation(conversation)
        self.stack.setCurrentWidget(view)
        self._release_html()
        if conversation.hits:

            def still_shown() -> bool:
                return view.conversation is conversation and self.stack.currentWidget() is view

            QTimer.singleShot(0, self, lambda: self._show_first_hit(view, still_shown))
        return True

    def _show_first_hit(self, view: QTextBrowser, still_shown: Callable[[], bool]) -> None:
        """Scroll ``view`` so that the search's first hit stands a third down it, unless
        it shows something else by now."""
        if not still_shown():
            return
        layout = self.layout()
        assert layout is not None
        layout.activate()  # the view's final height, with the attachments below it
        document = view.document()
        block = document.begin()
        while block.isValid():
            fragments = block.begin()
            while not fragments.atEnd():
                fragment = fragments.fragment()
                background = fragment.charFormat().background()
                if background.style() != Qt.BrushStyle.NoBrush and (
                    background.color().name() == MARK_COLOUR
                ):
                    # A paragraph of plain text is one block: the line within it counts.
                    line = block.layout().lineForTextPosition(
                        fragment.position() - block.position()
                    )
                    top = document.documentLayout().blockBoundingRect(block).top()
                    top += line.y() if line.isValid() else 0
                    bar = view.verticalScrollBar()
                    bar.setValue(int(top) - view.viewport().height() // 3)
                    return
                fragments += 1
            block = block.next()

    def _let_go(self) -> None:
        """Forget the message shown; after a big one, give its memory back to the system
        (the C library keeps freed memory for later otherwise: some 60 MB after a 30 MB
        message). A second later: by then the view and the pool have let go of it too."""
        if self.prepared is not None and len(self.prepared.raw) > _BIG_MESSAGE:
            QTimer.singleShot(1000, self, lambda: self._pool.start(give_back_memory))
        self.prepared = None

    def _release_html(self) -> None:
        """Let the HTML view give back the memory of a page no longer shown."""
        if self.html_view is not None and self.html_view.showing:
            self.html_view.clear()

    def show_whole_message(self) -> None:
        """Show All: the whole body of a message that was cut for length."""
        prepared = self.prepared
        if prepared is None or not prepared.cut:
            return
        token = new_token()
        base = cid_base(token)
        prefer_plain = prepared.safe_html is None

        def job() -> PreparedMessage:
            from mailclient.workers.reading import prepare

            return prepare(
                prepared.raw,
                prepared.message_id,
                prefer_plain=prefer_plain,
                allow_remote=prepared.allow_remote,
                token=token,
                cid_base=base,
                whole=True,
                highlight=prepared.highlight,
            )

        def done(whole: PreparedMessage) -> None:
            if self.prepared is prepared:
                self.show_prepared(whole)

        self.notice_bar.show_all_button.setEnabled(False)
        run_task(self, job, done, pool=self._pool)

    def view_source(self) -> None:
        """The raw message in a window of its own (View Source, Ctrl+U)."""
        if self.prepared is None:
            return
        window = SourceWindow(self.prepared.raw, self.prepared.parsed.subject, self._pool, self)
        self.source_windows.append(window)
        window.destroyed.connect(lambda *_: self.source_windows.remove(window))
        window.show()

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
        if current in (self.text_view, self.conversation_view):
            assert isinstance(current, QTextBrowser)
            bar = current.verticalScrollBar()
            bar.triggerAction(bar.SliderAction.SliderPageStepAdd)
        elif self.html_view is not None and current is self.html_view:
            self.html_view.page_down()

    def _open_link(self, url: QUrl) -> None:
        if url.scheme() not in _LINK_SCHEMES:
            return
        safe = self.prepared.safe_html if self.prepared is not None else None
        text = safe.deceptive_links.get(url.toString()) if safe is not None else None
        if text is not None and not self.confirm_deceptive_link(text, url.toString()):
            return
        QDesktopServices.openUrl(url)

    def confirm_deceptive_link(self, text: str, target: str) -> bool:
        """Whether the reader opens ``target`` after being told its text says ``text``."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Open this link?",
            deceptive_link_question(shown_text(text, 300), shown_text(target, 300)),
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        open_button = box.addButton("Open Anyway", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is open_button

    def shown_kind(self) -> str:
        """ "html", "text", "conversation" or "placeholder": what the body area shows now."""
        current = self.stack.currentWidget()
        if current is self.text_view:
            return "text"
        if current is self.conversation_view:
            return "conversation"
        if self.html_view is not None and current is self.html_view:
            return "html"
        return "placeholder"


def _format_full_date(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%a %d %b %Y %H:%M")
