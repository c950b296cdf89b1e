"""The reading pane: headers, a remote-content bar, the body, the attachments.

Plain text is shown in a QTextBrowser (links open in the system browser). HTML goes to the
locked-down HtmlView, which is created the first time an HTML message is shown. Until the
first message, the pane is only its placeholder: the headers, the bars, the text views and
the attachments are built then, or when the window first has time (build()), so that the
window paints its message list without them.

Everything here comes from a stranger: the headers are shown as message_headers makes
received text fit for a label; a link whose text is another address than where it leads
asks before it opens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.models import MessageSummary
from mailclient.ui.widgets.shortcuts import MAIN_WINDOW, keys
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.mime.highlight import HighlightTerm
    from mailclient.ui.mailbox.attachments import AttachmentPanel
    from mailclient.ui.mailbox.conversation import ConversationView
    from mailclient.ui.mailbox.html_view import HtmlView
    from mailclient.ui.mailbox.message_headers import HeaderView, NoticeBar, RemoteContentBar
    from mailclient.ui.mailbox.source_view import SourceWindow
    from mailclient.workers.conversation import Conversation
    from mailclient.workers.reading import PreparedMessage

_LINK_SCHEMES = ("http", "https", "mailto")
_BIG_MESSAGE = 8 * 2**20


def give_back_memory() -> None:
    """Return the free memory of the C heap to the system (glibc only)."""
    import ctypes

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
    from mailclient.ui.mailbox.html_view import cid_base, new_token

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


def deceptive_link_question(text: str, target: str) -> str:
    """What the reader is asked before a link whose text is another address is opened."""
    return (
        f"The link says it leads to\n\n{text}\n\nbut it leads to\n\n{target}\n\n"
        "Links like this are a common trick to lead you to another site. Open it anyway?"
    )


class _Parts:
    """What a message is shown in, below and around the placeholder (see ReadingPane.build)."""

    def __init__(self, pane: ReadingPane, pool: QThreadPool) -> None:
        from mailclient.ui.mailbox.attachments import AttachmentPanel
        from mailclient.ui.mailbox.conversation import ConversationView
        from mailclient.ui.mailbox.message_headers import HeaderView, NoticeBar, RemoteContentBar

        layout = pane.layout()
        assert isinstance(layout, QVBoxLayout)
        # Above the body, in this order; the attachments below it.
        self.headers = HeaderView(pane)
        self.headers.hide()
        layout.insertWidget(0, self.headers)
        self.remote_bar = RemoteContentBar(pane)
        self.remote_bar.load_requested.connect(pane.load_remote_requested)
        self.remote_bar.hide()
        layout.insertWidget(1, self.remote_bar)
        self.notice_bar = NoticeBar(pane)
        self.notice_bar.show_all_requested.connect(pane.show_whole_message)
        self.notice_bar.source_requested.connect(pane.view_source)
        self.notice_bar.hide()
        layout.insertWidget(2, self.notice_bar)
        self.text_view = QTextBrowser(pane)
        self.text_view.setObjectName("textBody")
        self.text_view.setAccessibleName("Message body")
        self.text_view.setOpenLinks(False)
        self.text_view.setOpenExternalLinks(False)
        self.text_view.setFrameShape(QFrame.Shape.NoFrame)
        self.text_view.document().setDocumentMargin(14)
        self.text_view.anchorClicked.connect(pane._open_link)
        self.text_view.highlighted.connect(lambda url: pane.link_hovered.emit(url.toString()))
        pane.stack.addWidget(self.text_view)
        self.conversation_view = ConversationView(pane)
        self.conversation_view.link_clicked.connect(pane._open_link)
        self.conversation_view.highlighted.connect(
            lambda url: pane.link_hovered.emit(url.toString())
        )
        pane.stack.addWidget(self.conversation_view)
        self.attachments = AttachmentPanel(pool, pane)
        self.attachments.saved.connect(pane.attachment_saved)
        self.attachments.failed.connect(pane.attachment_failed)
        self.attachments.hide()
        layout.addWidget(self.attachments)


class ReadingPane(QWidget):
    """Shows one message; signals what the window should act on."""

    link_hovered = Signal(str)
    load_remote_requested = Signal()
    attachment_saved = Signal(str)  # a sentence for the status bar
    attachment_failed = Signal(str)

    def __init__(self, pool: QThreadPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("readingPane")
        self.setAccessibleName("Reading pane")
        self.message_id: int | None = None
        self.prepared: PreparedMessage | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 1)
        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("readingPlaceholder")
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)  # may quote a server's error
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #777; font-size: 13pt;")
        self.stack.addWidget(self.placeholder)
        self.html_view: HtmlView | None = None
        self._parts: _Parts | None = None
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

    def build(self) -> None:
        """Build what a message is shown in, if not built yet. The first message shown
        builds it too; a window calls this once its list is on screen, so that the first
        message is shown as fast as the next."""
        if self._parts is None:
            self._parts = _Parts(self, self._pool)

    def _built(self) -> _Parts:
        self.build()
        assert self._parts is not None
        return self._parts

    @property
    def headers(self) -> HeaderView:
        return self._built().headers

    @property
    def remote_bar(self) -> RemoteContentBar:
        return self._built().remote_bar

    @property
    def notice_bar(self) -> NoticeBar:
        return self._built().notice_bar

    @property
    def text_view(self) -> QTextBrowser:
        return self._built().text_view

    @property
    def conversation_view(self) -> ConversationView:
        return self._built().conversation_view

    @property
    def attachments(self) -> AttachmentPanel:
        return self._built().attachments

    # -- what is shown ----------------------------------------------------------------------

    def show_placeholder(self, text: str) -> None:
        self.message_id = None
        self._let_go()
        if self._parts is not None:
            self._parts.headers.hide()
            self._parts.remote_bar.hide()
            self._parts.notice_bar.hide()
            self._parts.attachments.hide()
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
            from mailclient.mime.highlight import FIRST_HIT
            from mailclient.ui.mailbox.html_view import HtmlContent

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
        from mailclient.mime.highlight import MARK_COLOUR

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
        from mailclient.ui.mailbox.html_view import cid_base, new_token

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
        from mailclient.ui.mailbox.source_view import SourceWindow

        window = SourceWindow(self.prepared.raw, self.prepared.parsed.subject, self._pool, self)
        self.source_windows.append(window)
        window.destroyed.connect(lambda *_: self.source_windows.remove(window))
        window.show()

    def _html_view(self) -> HtmlView:
        if self.html_view is None:
            from mailclient.ui.mailbox.html_view import HtmlView

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
        if isinstance(current, QTextBrowser):  # the text or the conversation
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
        from PySide6.QtWidgets import QMessageBox

        from mailclient.ui.mailbox.message_headers import shown_text

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
        parts = self._parts
        if parts is not None and current is parts.text_view:
            return "text"
        if parts is not None and current is parts.conversation_view:
            return "conversation"
        if self.html_view is not None and current is self.html_view:
            return "html"
        return "placeholder"


def _format_full_date(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone().strftime("%a %d %b %Y %H:%M")
