"""Turning fetched header blocks into message summaries, fast and forgiving.

Header values become text with mailclient.mime.decode (the reading pane's decoder too).
Dates in the RFC 5322 form take a fast path; anything odder goes through the standard
library. Nothing in here raises on bad input: a message whose headers cannot be read is
still stored with what could be read.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from email.utils import mktime_tz, parsedate_tz

from mailclient.imap.wire import FetchResponse, Value, days_from_civil
from mailclient.mime.decode import header_text, one_line
from mailclient.store.mail import NewMessage

log = logging.getLogger(__name__)

# The header fields the sync fetches (BODY.PEEK[HEADER.FIELDS (...)]).
SUMMARY_FIELDS = (
    "DATE",
    "FROM",
    "TO",
    "CC",
    "SUBJECT",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    "CONTENT-TYPE",
)

_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_FIELD = re.compile(rb"^([^:\n]*):([^\n]*)", re.MULTILINE)
_QUOTED_NAME = re.compile(r'^\s*"((?:[^"\\]|\\.)*)"\s*(<[^<>]*>)\s*$')
_ANGLE_ONLY = re.compile(r"^\s*<([^<>]*)>\s*$")
_BACKSLASH = re.compile(r"\\(.)")
_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3,9},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(?:([+-])(\d\d):?(\d\d)|([A-Za-z]{1,5}))?"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0,
    "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip


def split_header_block(block: bytes) -> dict[bytes, bytes]:
    """Lower-case field name -> raw value (first occurrence), after unfolding."""
    if b"\n " in block or b"\n\t" in block:
        block = _FOLD.sub(b"", block)
    # One findall splits lines and names off in C; a line without a colon matches nothing.
    # Built from the last field to the first, so that the first occurrence is kept.
    keys = _FIELD_KEYS
    return {
        keys.get(name) or _field_key(name): value.strip()
        for name, value in reversed(_FIELD.findall(block))
    }


# The names as servers send them ("Message-ID", "Message-Id") -> lower case, stripped.
_FIELD_KEYS: dict[bytes, bytes] = {}


def _field_key(name: bytes) -> bytes:
    key = name.strip().lower()
    if len(_FIELD_KEYS) < 1000:
        _FIELD_KEYS[name] = key
    return key


def format_mailbox(text: str) -> str:
    """``"Doe, Jane" <jane@x>`` -> ``Doe, Jane <jane@x>``; ``<jane@x>`` -> ``jane@x``."""
    if "<" not in text:
        return text
    m = _QUOTED_NAME.match(text)
    if m:
        name = _BACKSLASH.sub(r"\1", m.group(1)).strip()
        return f"{name} {m.group(2)}" if name else m.group(2)[1:-1]
    m = _ANGLE_ONLY.match(text)
    if m:
        return m.group(1)
    return text


def parse_date(text: str) -> int | None:
    """An RFC 5322 date (and the common variants) -> seconds since the epoch, or None."""
    m = _DATE.match(text)
    if m:
        day, mon, year, hh, mm, ss, sign, zh, zm, zone = m.groups()
        month = _MONTHS.get(mon.lower())
        if month is not None:
            y = int(year)
            if y < 100:
                y += 2000 if y < 50 else 1900
            elif y < 1000:
                y += 1900
            if sign:
                offset = (int(zh) * 60 + int(zm)) * (60 if sign == "+" else -60)
            else:
                offset = _ZONES.get((zone or "").lower(), 0) * 3600
            d, h, mi, s = int(day), int(hh), int(mm), int(ss or 0)
            if 1 <= d <= 31 and h < 24 and mi < 60 and s <= 60:
                return days_from_civil(y, month, d) * 86400 + h * 3600 + mi * 60 + s - offset
    try:
        parsed = parsedate_tz(text)
        return mktime_tz(parsed) if parsed else None
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def guess_attachments(content_type: str) -> bool:
    """Whether a message with this top-level Content-Type likely carries attachments.

    multipart/mixed (the container of attachments) and a non-text single part (a PDF
    sent as the whole message) count; the guess is corrected when the body is fetched.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.startswith("multipart/"):
        return kind == "multipart/mixed"
    return kind.split("/", 1)[0] in ("application", "image", "audio", "video")


def needs_structure(content_type: str) -> bool:
    """Whether only the MIME structure can tell if a message has attachments.

    multipart/mixed may hold nothing but text; multipart/signed and /related may hold
    attachments. multipart/alternative and single parts are clear from the header.
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith("multipart/") and kind != "multipart/alternative"


def _text(value: Value) -> str:
    return value.decode("utf-8", "replace").lower() if isinstance(value, bytes) else ""


def _named(params: Value) -> bool:
    if not isinstance(params, list):
        return False
    names = [_text(p) for p in params[::2]]
    return any(n in ("name", "filename") or n.startswith(("name*", "filename*")) for n in names)


def structure_has_attachments(structure: list[Value]) -> bool:
    """The has-attachments rule of has_attachments(), on a BODYSTRUCTURE (RFC 3501 §7.4.2)."""
    if structure and isinstance(structure[0], list):  # multipart: (part)(part)... subtype
        return any(structure_has_attachments(part) for part in structure if isinstance(part, list))
    if len(structure) < 7:
        return False
    kind, subtype = _text(structure[0]), _text(structure[1])
    if kind == "message" and subtype == "rfc822":
        return True
    # Extension data follows the basic fields: text has a line count, message/rfc822
    # an envelope, a body and a line count; then come md5 and the disposition.
    disposition_at = 9 if kind == "text" else 8
    disposition = structure[disposition_at] if len(structure) > disposition_at else None
    shown = ""
    named = _named(structure[2])
    if isinstance(disposition, list) and disposition:
        shown = _text(disposition[0])
        named = named or (len(disposition) > 1 and _named(disposition[1]))
    if shown == "attachment":
        return True
    return named and shown != "inline" and kind != "text"


def has_attachments(raw: bytes) -> bool:
    """Whether a whole message carries attachments: a part marked as one, an attached
    message, or a named non-text part that is not shown inline (an inline image of an HTML
    mail is not one).
    """
    # Imported here: a sync that only fetches headers never parses a whole message, and
    # the parser with its policies is a good part of what it would load.
    from email.parser import BytesParser
    from email.policy import compat32

    try:
        message = BytesParser(policy=compat32).parsebytes(raw)
        for part in message.walk():
            if part.get_content_type() == "message/rfc822":
                return True
            if part.is_multipart():
                continue
            disposition = (part.get_content_disposition() or "").lower()
            if disposition == "attachment":
                return True
            if (
                disposition != "inline"
                and part.get_filename()
                and part.get_content_maintype() != "text"
            ):
                return True
    except Exception:
        log.warning("Could not read the structure of a message", exc_info=True)
    return False


def _ids(raw: bytes) -> str:
    # Most messages have no In-Reply-To and no References.
    return one_line(raw.decode("ascii", "replace")) if raw else ""


# Senders, recipients and content types repeat from message to message (the owner's own
# address, a list's sender, a mailer's charset): decoding each distinct value once saves a
# third of a header sync. header_text is a pure function of the bytes, so a cache is exact.
@functools.lru_cache(maxsize=4096)
def _sender(raw: bytes) -> str:
    return format_mailbox(header_text(raw))


_addresses = functools.lru_cache(maxsize=4096)(header_text)


@functools.lru_cache(maxsize=1024)
def _content_kind(raw: bytes) -> tuple[bool, bool]:
    """(guess_attachments, needs_structure) of a raw Content-Type value."""
    content_type = header_text(raw)
    return guess_attachments(content_type), needs_structure(content_type)


def _date(raw: bytes) -> int | None:
    """parse_date of the header's text; a plain ASCII date skips the decoder."""
    text = raw.decode("ascii", "replace")
    if "=?" in text or not text.isprintable() or "\ufffd" in text:
        text = header_text(raw)
    return parse_date(text)


def summarize_batch(responses: Iterable[FetchResponse]) -> list[NewMessage]:
    """Records for a fetched batch; those whose attachments only the structure shows say
    so (NewMessage.structure_wanted)."""
    return [summarize(response) for response in responses]


def summarize(response: FetchResponse) -> NewMessage:
    """The store's record for one fetched message; never raises for a bad header."""
    uid = response.uid or 0
    flags = response.flags or frozenset()
    size = response.size or 0
    if response.header:
        try:
            get = split_header_block(response.header).get
            date = get(b"date")
            attached, needs = _content_kind(get(b"content-type", b""))
            return NewMessage(
                uid,
                flags,
                size,
                response.internal_date,
                _date(date) if date else None,
                _sender(get(b"from", b"")),
                _addresses(get(b"to", b"")),
                _addresses(get(b"cc", b"")),
                header_text(get(b"subject", b"")),
                _ids(get(b"message-id", b"")),
                _ids(get(b"in-reply-to", b"")),
                _ids(get(b"references", b"")),
                attached,
                needs,
            )
        except Exception:
            # A header no rule foresaw must not stop the sync: keep what the server told.
            log.warning("Could not read the headers of message UID %s", uid, exc_info=True)
    return NewMessage(uid, flags, size, response.internal_date)
