"""Preparing a stored message for the reading pane: read, parse, sanitize (off the GUI thread).

Each pool thread keeps its own store connection (SQLite connections belong to one thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from mailclient.mime.parse import ParsedMessage, parse_message
from mailclient.mime.plaintext import plain_to_html
from mailclient.mime.sanitize import SafeHtml, sanitize_html
from mailclient.store.mail import MailStore

_local = threading.local()


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
) -> PreparedMessage:
    """Parse ``raw`` and render the body the reader wants: HTML unless plain is preferred."""
    parsed = parse_message(raw)
    use_html = parsed.html is not None and not (prefer_plain and parsed.plain is not None)
    if use_html:
        assert parsed.html is not None
        safe = sanitize_html(parsed.html, cid_base=cid_base, allow_remote=allow_remote)
        return PreparedMessage(
            message_id, raw, parsed, safe_html=safe, token=token, allow_remote=allow_remote
        )
    text = parsed.plain if parsed.plain is not None else ""
    return PreparedMessage(message_id, raw, parsed, plain_html=plain_to_html(text), token=token)


def load_prepared(
    store_path: Path,
    message_id: int,
    *,
    prefer_plain: bool,
    allow_remote: bool,
    token: str,
    cid_base: str,
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
    )
