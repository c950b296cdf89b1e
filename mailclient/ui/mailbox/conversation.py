"""The conversation view: a thread's messages one after the other, as Geary and Gmail show
them, in the reading pane when a thread's first message is opened in the threaded list.

Each message has its sender, date, recipients and folder above its text; quoted lines are
folded away behind a link that shows them (they repeat what the messages above say), unless
the words of the search that listed the thread are marked there and nowhere else in that
message: they are why it was found.
Everything is prepared on a pool thread (mailclient.workers.conversation); this view only
joins the pieces, and again when a quote is shown or hidden.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QFrame, QTextBrowser, QWidget

from mailclient.mime.addresses import preview
from mailclient.mime.decode import without_invisible
from mailclient.mime.highlight import HighlightTerm

if TYPE_CHECKING:
    # Parsing is imported on the pool thread when first needed, not at start-up.
    from mailclient.workers.conversation import Conversation, ConversationEntry

_QUOTE_SCHEME = "quote"
_OWN_BACKGROUND = "#eef5ec"
_BACKGROUND = "#f4f6f9"


def conversation_job(
    store_path: Path, message_id: int, highlight: Sequence[HighlightTerm] = ()
) -> Callable[[], Conversation]:
    """A job for the pool: the conversation of ``message_id``, prepared to show."""

    def job() -> Conversation:
        from mailclient.workers.conversation import load_conversation

        return load_conversation(store_path, message_id, highlight)

    return job


class ConversationView(QTextBrowser):
    """The messages of one conversation; link clicks other than quotes go to ``link_clicked``."""

    link_clicked = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversation")
        self.setAccessibleName("Conversation")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document().setDocumentMargin(14)
        self.anchorClicked.connect(self._clicked)
        self.conversation: Conversation | None = None
        self.unfolded: set[int] = set()

    def show_conversation(self, conversation: Conversation) -> None:
        self.conversation = conversation
        # A message found through its quoted lines alone shows them.
        self.unfolded = {e.message_id for e in conversation.entries if e.hit_in_quote}
        self._render()
        self.verticalScrollBar().setValue(0)

    def _render(self) -> None:
        if self.conversation is None:
            self.clear()
            return
        count = len(self.conversation.entries)
        subject = self.conversation.entries[0].subject if count else ""
        parts = [
            f"<h2 style='margin:0 0 4px 0'>{_text(subject or '(no subject)')}</h2>"
            f"<p style='color:#666; margin:0 0 10px 0'>{count} messages in this conversation</p>"
        ]
        parts += [self._entry(entry) for entry in self.conversation.entries]
        position = self.verticalScrollBar().value()
        self.setHtml("".join(parts))
        self.verticalScrollBar().setValue(position)

    def _entry(self, entry: ConversationEntry) -> str:
        background = _OWN_BACKGROUND if entry.own else _BACKGROUND
        date = entry.date.astimezone().strftime("%a %d %b %Y %H:%M") if entry.date else ""
        folder = f" · {_text(entry.folder)}" if entry.folder else ""
        head = (
            f"<table width='100%' cellpadding='6' style='background:{background}; "
            "margin-top:10px'><tr>"
            f"<td>{_people(entry.sender, bold=True)}<br>"
            f"<span style='color:#666'>to {_people(entry.to, bold=False)}</span></td>"
            f"<td align='right' style='color:#666'>{_text(date)}{folder}</td></tr></table>"
        )
        if entry.body is None:
            return head + (
                "<p style='color:#777; margin-left:8px'><i>Not downloaded yet: "
                "open it alone to read it.</i></p>"
            )
        body = entry.quoted if entry.message_id in self.unfolded else entry.body
        fold = ""
        if entry.quoted:
            label = (
                "Hide quoted text" if entry.message_id in self.unfolded else "Show quoted text …"
            )
            fold = (
                f"<p style='margin-top:4px'><a href='{_QUOTE_SCHEME}:{entry.message_id}' "
                f"style='color:#666'>{label}</a></p>"
            )
        return f"{head}<div style='margin-left:8px; margin-right:8px'>{body}{fold}</div>"

    def _clicked(self, url: QUrl) -> None:
        if url.scheme() == _QUOTE_SCHEME:
            try:
                message_id = int(url.path())
            except ValueError:
                return
            self.unfolded ^= {message_id}
            self._render()
            return
        self.link_clicked.emit(url)


def _text(value: str) -> str:
    return html.escape(without_invisible(value), quote=False)


def _people(value: str, *, bold: bool) -> str:
    """Names (bold for the sender), each address dimmed after its name; the first few."""
    shown = preview(value, whole=False)
    parts = []
    for name, address in shown.addresses:
        if name:
            name_html = f"<b>{_text(name)}</b>" if bold else _text(name)
            parts.append(f"{name_html} <span style='color:#777'>{_text(address)}</span>")
        else:
            parts.append(f"<b>{_text(address)}</b>" if bold else _text(address))
    if shown.more is None or shown.more:
        parts.append("and more")
    return ", ".join(parts) or _text(value)
