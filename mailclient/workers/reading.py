"""Preparing a stored message for the reading pane: read, parse, sanitize (off the GUI thread).

Each pool thread keeps its own store connection (SQLite connections belong to one thread).
A long body is cut before it is shown (a 30 MB HTML message took the process from 125 MB
to 1.8 GB); the reader can ask for the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from mailclient.mime.addresses import AddressPreview, preview
from mailclient.mime.highlight import HighlightTerm, mark_hits
from mailclient.mime.parse import ParsedMessage, parse_message
from mailclient.mime.plaintext import plain_to_html
from mailclient.mime.sanitize import SafeHtml, sanitize_html
from mailclient.store.mail import MailStore

_local = threading.local()

HTML_SHOWN = 500_000  # characters of HTML source shown until the reader asks for all
PLAIN_SHOWN = 200_000  # characters of plain text, which the text view lays out at once


@dataclass(frozen=True)
class PreparedMessage:
    """A message ready to show: exactly one of ``plain_html`` and ``safe_html`` is set."""

    message_id: int
    raw: bytes
    parsed: ParsedMessage
    plain_html: str | None = None  # the plain-text body as simple HTML for a text view
    safe_html: SafeHtml | None = None  # the HTML body, sanitized
    token: str = ""  # names the message's resources in the HTML view
    allow_remote: bool = False  # remote content was allowed for this message
    to: AddressPreview = field(default_factory=AddressPreview)
    cc: AddressPreview = field(default_factory=AddressPreview)
    shown_chars: int = 0  # of the body shown ...
    body_chars: int = 0  # ... of the whole body: less when it was cut
    highlight: tuple[HighlightTerm, ...] = ()  # the search's words, marked in the body
    hits: int = 0  # how many places they were marked at

    @property
    def cut(self) -> bool:
        """Whether only the start of the body is shown."""
        return self.shown_chars < self.body_chars


def thread_store(path: Path) -> MailStore:
    """This thread's connection to the store at ``path``."""
    stores: dict[Path, MailStore] = getattr(_local, "stores", None) or {}
    _local.stores = stores
    if path not in stores:
        stores[path] = MailStore.open(path)
    return stores[path]


def prepare(
    raw: bytes,
    message_id: int,
    *,
    prefer_plain: bool,
    allow_remote: bool,
    token: str,
    cid_base: str,
    whole: bool = False,
    highlight: Sequence[HighlightTerm] = (),
) -> PreparedMessage:
    """Parse ``raw`` and render the body the reader wants: HTML unless plain is preferred;
    only its start when it is long, unless ``whole``; the words of ``highlight`` marked."""
    terms = tuple(highlight)
    parsed = parse_message(raw)
    to, cc = preview(parsed.to), preview(parsed.cc)
    use_html = parsed.html is not None and not (prefer_plain and parsed.plain is not None)
    if use_html:
        assert parsed.html is not None
        shown = parsed.html if whole else _start(parsed.html, HTML_SHOWN, "<")
        safe = sanitize_html(shown, cid_base=cid_base, allow_remote=allow_remote)
        document, hits = mark_hits(safe.document, terms)
        return PreparedMessage(
            message_id,
            raw,
            parsed,
            safe_html=replace(safe, document=document),
            token=token,
            allow_remote=allow_remote,
            shown_chars=len(shown),
            body_chars=len(parsed.html),
            highlight=terms,
            hits=hits,
            to=to,
            cc=cc,
        )
    text = parsed.plain if parsed.plain is not None else ""
    shown = text if whole else _start(text, PLAIN_SHOWN, "\n")
    plain_html, hits = mark_hits(plain_to_html(shown), terms)
    return PreparedMessage(
        message_id,
        raw,
        parsed,
        plain_html=plain_html,
        token=token,
        shown_chars=len(shown),
        body_chars=len(text),
        highlight=terms,
        hits=hits,
        to=to,
        cc=cc,
    )


def _start(text: str, limit: int, boundary: str) -> str:
    """At most ``limit`` characters of ``text``, cut before a ``boundary`` (the start of a
    tag, a line) near the limit if there is one."""
    if len(text) <= limit:
        return text
    cut = text.rfind(boundary, limit // 2, limit)
    return text[: cut if cut > 0 else limit]


def load_prepared(
    store_path: Path,
    message_id: int,
    *,
    prefer_plain: bool,
    allow_remote: bool,
    token: str,
    cid_base: str,
    highlight: Sequence[HighlightTerm] = (),
) -> PreparedMessage | None:
    """The stored body of ``message_id``, prepared; None when it was not fetched yet."""
    raw = thread_store(store_path).body(message_id)
    if raw is None:
        return None
    return prepare(
        raw,
        message_id,
        prefer_plain=prefer_plain,
        allow_remote=allow_remote,
        token=token,
        cid_base=cid_base,
        highlight=highlight,
    )
