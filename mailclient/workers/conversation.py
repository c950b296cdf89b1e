"""A whole conversation read for the reading pane, one message after the other (off the GUI
thread): every message of a thread in the folders of its account, your replies in Sent
included, each as simple HTML with its quoted lines apart so that the view can fold them,
and the words of a search marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mailclient.core.models import SpecialUse
from mailclient.mime.highlight import HighlightTerm, mark_hits
from mailclient.mime.html_text import html_to_text
from mailclient.mime.parse import parse_message
from mailclient.mime.plaintext import plain_to_html
from mailclient.workers.reading import PLAIN_SHOWN, thread_store


@dataclass(frozen=True)
class ConversationEntry:
    """One message of a conversation, ready to show."""

    message_id: int
    sender: str
    to: str
    date: datetime | None
    subject: str
    folder: str
    own: bool  # from Sent: written by the account's owner
    body: str | None  # the text as HTML, quoted lines left out; None: not downloaded
    quoted: str  # the whole text as HTML, quoted lines too ("" when it has none)
    hit_in_quote: bool = False  # the search's words are marked in its quoted lines only


@dataclass(frozen=True)
class Conversation:
    root: int  # the message opened to show it
    entries: tuple[ConversationEntry, ...]
    hits: int = 0  # how many places the search's words are marked at, as first shown


def load_conversation(
    store_path: Path, message_id: int, highlight: Sequence[HighlightTerm] = ()
) -> Conversation:
    """The conversation of ``message_id``, oldest message first."""
    store = thread_store(store_path)
    ids = store.conversation(message_id)
    folders = {f.id: f for f in store.folders()}
    entries = []
    hits = 0
    for summary in store.summaries(ids):
        folder = folders.get(summary.folder_id)
        raw = store.body(summary.id)
        body = quoted = None
        body_hits = quoted_hits = 0
        if raw is not None:
            parsed = parse_message(raw)
            text = parsed.plain if parsed.plain is not None else html_to_text(parsed.html or "")
            text = text[:PLAIN_SHOWN]
            own_lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
            body, body_hits = mark_hits(plain_to_html("\n".join(own_lines).strip("\n")), highlight)
            if len(own_lines) < len(text.splitlines()):
                quoted, quoted_hits = mark_hits(plain_to_html(text), highlight)
        # Found through its quoted lines alone: the view shows them (see ConversationView).
        hit_in_quote = body_hits == 0 and quoted_hits > 0
        hits += quoted_hits if hit_in_quote else body_hits
        entries.append(
            ConversationEntry(
                summary.id,
                summary.sender,
                summary.to,
                summary.date,
                summary.subject,
                folder.name if folder else "",
                folder is not None and folder.special_use is SpecialUse.SENT,
                body,
                quoted or "",
                hit_in_quote,
            )
        )
    return Conversation(message_id, tuple(entries), hits)
