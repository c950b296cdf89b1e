"""How the command line prints stored messages (``list``, ``search``): a line of text or
a JSON object each, read from the store in batches."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from mailclient.app.terminal import printable, printable_json

if TYPE_CHECKING:
    from mailclient.core.models import MessageSummary
    from mailclient.store.mail import MailStore

_BATCH = 500


def summaries(store: MailStore, ids: Sequence[int]) -> Iterator[MessageSummary]:
    """The messages of ``ids`` in that order, a few hundred read at a time."""
    for start in range(0, len(ids), _BATCH):
        yield from store.summaries(ids[start : start + _BATCH])


def json_line(before: dict[str, Any], m: MessageSummary, after: dict[str, Any]) -> str:
    """One JSON object: ``before``, the message's own fields, then ``after``."""
    fields = {
        **before,
        "uid": m.uid,
        "date": m.date.isoformat() if m.date else None,
        "from": m.sender,
        "to": m.to,
        "subject": m.subject,
        "flags": sorted(m.flags),
        "size": m.size,
        "message_id": m.message_id,
        **after,
    }
    return printable_json(json.dumps(fields, ensure_ascii=False))


def text_line(m: MessageSummary, indent: str = "") -> str:
    """UID, date, marks (N unread, F flagged, A answered), sender and subject, tab-separated;
    ``indent`` goes before the subject."""
    date = m.date.astimezone().strftime("%Y-%m-%d %H:%M") if m.date else "-" * 16
    marks = ("" if m.seen else "N") + ("F" if m.flagged else "") + ("A" if m.answered else "")
    return f"{m.uid}\t{date}\t{marks or '-'}\t{printable(m.sender)}\t{indent}{printable(m.subject)}"
