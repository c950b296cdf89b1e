"""Reply, reply all and forward: the new draft computed from the original message.

Pure functions. Recipients follow RFC 5322 §3.6.3 (Reply-To, else From; reply all adds
the original To and Cc) without our own addresses; threading headers follow §3.6.4
(In-Reply-To is the original's Message-ID, References its References plus that id).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import Message
from email.utils import getaddresses

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.mime.compose import RFC822
from mailclient.mime.filename import safe_filename
from mailclient.mime.flowed import SIGNATURE_SEPARATOR
from mailclient.mime.html_text import html_to_text
from mailclient.mime.parse import attachment_data, header_text, parse_message

# Reply prefixes of common clients and languages: "Re", German "AW", Swedish "SV",
# Dutch "Antw", optionally numbered ("Re[2]"). Only these are folded into one "Re: ".
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|antw)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"^\s*(?:fwd?|wg|tr)\s*:", re.IGNORECASE)
_MSG_ID = re.compile(r"<[^<>\s]+>")
# A long thread's References would grow without end; keep its root and the latest ids
# (RFC 5322 §3.6.4 allows trimming, and the root matters most for threading).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Original:
    """The message being answered or forwarded, as reply and forward need it.

    Addresses are decoded text ("Ann <ann@example.org>, bob@example.org"); ``text`` is
    the body as plain text; ``attachments`` carry their bytes (for forwarding).
    """

    sender: str = ""
    reply_to: str = ""
    to: str = ""
    cc: str = ""
    subject: str = ""
    date: datetime | None = None
    message_id: str = ""
    references: tuple[str, ...] = ()
    in_reply_to: str = ""
    text: str = ""
    attachments: tuple[Attachment, ...] = ()


def original_from_raw(raw: bytes, *, with_attachments: bool = False) -> Original:
    """Read ``raw`` (a received message) into an Original; never raises on bad input.

    ``with_attachments`` decodes every attachment (only a forward needs them).
    """
    parsed = parse_message(raw)
    headers: Message = email.message_from_bytes(raw, policy=email.policy.default)
    if parsed.plain is not None:
        text = parsed.plain
    elif parsed.html is not None:
        text = html_to_text(parsed.html)
    else:
        text = ""
    attachments: tuple[Attachment, ...] = ()
    if with_attachments:
        attachments = tuple(
            Attachment(
                filename=info.filename or "attachment",
                data=attachment_data(raw, info.part_id),
                # message/* cannot be base64-encoded (RFC 2046 §5.2.1): let the builder
                # pick a type by name instead.
                content_type=None
                if info.content_type.startswith("message/")
                else info.content_type,
            )
            for info in parsed.attachments
        )
    return Original(
        sender=parsed.sender,
        reply_to=parsed.reply_to,
        to=parsed.to,
        cc=parsed.cc,
        subject=parsed.subject,
        date=parsed.date,
        message_id=first_message_id(header_text(headers, "Message-ID")),
        references=message_ids(header_text(headers, "References")),
        in_reply_to=first_message_id(header_text(headers, "In-Reply-To")),
        text=text.replace("\r\n", "\n"),
        attachments=attachments,
    )


def message_ids(text: str) -> tuple[str, ...]:
    """The message ids (with their angle brackets) in a References-like header value."""
    return tuple(_MSG_ID.findall(text))


def first_message_id(text: str) -> str:
    """The first message id in a Message-ID or In-Reply-To value, or ""."""
    found = _MSG_ID.search(text)
    return found.group(0) if found else ""


# -- subject ------------------------------------------------------------------------------


def reply_subject(subject: str) -> str:
    """``Re: <subject>``, with one "Re: " however many the original had."""
    rest = _REPLY_PREFIX.sub("", subject).strip()
    return f"Re: {rest}" if rest else "Re:"


def forward_subject(subject: str) -> str:
    """``Fwd: <subject>``, unless the subject already says it is forwarded."""
    subject = subject.strip()
    if _FORWARD_PREFIX.match(subject):
        return subject
    return f"Fwd: {subject}" if subject else "Fwd:"


# -- recipients ---------------------------------------------------------------------------


def _addresses(*fields: str) -> list[tuple[str, str]]:
    """(name, address) pairs of address-list texts, without empty entries."""
    return [(name, addr) for name, addr in getaddresses(list(fields)) if "@" in addr]


def _format(pairs: Iterable[tuple[str, str]]) -> str:
    texts = []
    for name, addr in pairs:
        try:
            texts.append(str(Address(display_name=name, addr_spec=addr)))
        except (ValueError, IndexError):
            texts.append(addr)
    return ", ".join(texts)


def _without(
    pairs: Iterable[tuple[str, str]], drop: Collection[str], seen: set[str]
) -> list[tuple[str, str]]:
    kept = []
    for name, addr in pairs:
        key = addr.lower()
        if key in drop or key in seen:
            continue
        seen.add(key)
        kept.append((name, addr))
    return kept


def reply_recipients(
    original: Original, own_addresses: Collection[str], *, reply_all: bool
) -> tuple[str, str]:
    """(To, Cc) of a reply: to the Reply-To (else the sender); reply all adds the rest.

    ``own_addresses`` are those of the replying account: they are dropped everywhere, and
    answering a message that account sent goes to its recipients again, not back to it.
    Another account of the same person is just a correspondent here.
    """
    own = {a.lower() for a in own_addresses}
    author = _addresses(original.reply_to) or _addresses(original.sender)
    from_us = bool(author) and all(addr.lower() in own for _, addr in author)
    if from_us:
        author = _addresses(original.to)
    seen: set[str] = set()
    to = _without(author, own, seen)
    if not reply_all:
        return _format(to), ""
    if not from_us:
        to += _without(_addresses(original.to), own, seen)
    cc = _without(_addresses(original.cc), own, seen)
    if not to and cc:
        to, cc = cc, []
    return _format(to), _format(cc)


# -- threading ----------------------------------------------------------------------------


def reply_references(original: Original) -> tuple[str, ...]:
    """The References of a reply: the original's (or its In-Reply-To), then its own id."""
    chain = list(original.references) or ([original.in_reply_to] if original.in_reply_to else [])
    if original.message_id:
        chain.append(original.message_id)
    unique = list(dict.fromkeys(chain))
    if len(unique) > MAX_REFERENCES:
        unique = [unique[0], *unique[-(MAX_REFERENCES - 1) :]]
    return tuple(unique)


# -- body ---------------------------------------------------------------------------------


def without_signature(text: str) -> str:
    """The text above its signature (the last "-- " line), trailing blank lines removed."""
    lines = text.replace("\r\n", "\n").split("\n")
    if SIGNATURE_SEPARATOR in lines:
        last = len(lines) - 1 - lines[::-1].index(SIGNATURE_SEPARATOR)
        lines = lines[:last]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def quote(text: str) -> str:
    """Every line marked as quoted: ``> line``, or ``>> line`` for one quoted already."""
    out = []
    for line in text.split("\n"):
        if line.startswith(">"):
            out.append(">" + line)
        elif line.strip():
            out.append("> " + line)
        else:
            out.append(">")
    return "\n".join(out)


def _when(date: datetime) -> str:
    local = date.astimezone() if date.tzinfo else date
    return local.strftime("%a, %d %b %Y at %H:%M")


def attribution(original: Original) -> str:
    """The line above a quote: "On <date>, <sender> wrote:"."""
    who = original.sender or "someone"
    if original.date is None:
        return f"{who} wrote:"
    return f"On {_when(original.date)}, {who} wrote:"


def signature_block(signature: str) -> str:
    """A signature with its separator (RFC 3676 §4.3), or "" when there is none."""
    text = signature.strip("\n")
    if not text.strip():
        return ""
    if text.startswith(SIGNATURE_SEPARATOR.rstrip() + "\n"):
        text = text.split("\n", 1)[1]
    return f"{SIGNATURE_SEPARATOR}\n{text}"


def new_body(signature: str) -> str:
    """The body of a new message: room to write, then the signature."""
    block = signature_block(signature)
    return f"\n\n{block}" if block else ""


def _above(signature: str, rest: str) -> str:
    block = signature_block(signature)
    head = f"\n\n{block}\n\n" if block else "\n\n"
    return head + rest


def make_reply(
    original: Original,
    *,
    account: str,
    sender: str,
    own_addresses: Collection[str],
    reply_all: bool = False,
    signature: str = "",
) -> Draft:
    """A reply draft: recipients, "Re:" subject, threading headers, the quoted text.

    The writer's text goes above the quote, the signature between the two.
    """
    to, cc = reply_recipients(original, own_addresses, reply_all=reply_all)
    quoted = quote(without_signature(original.text))
    return Draft(
        account=account,
        sender=sender,
        to=to,
        cc=cc,
        subject=reply_subject(original.subject),
        body=_above(signature, f"{attribution(original)}\n{quoted}\n"),
        in_reply_to=original.message_id,
        references=reply_references(original),
        kind=DraftKind.REPLY_ALL if reply_all else DraftKind.REPLY,
        original=original.message_id,
    )


def forward_header(original: Original) -> str:
    """The block that introduces a forwarded message's text."""
    lines = ["-------- Forwarded Message --------", f"Subject: {original.subject}"]
    if original.date is not None:
        lines.append(f"Date: {_when(original.date)}")
    lines.append(f"From: {original.sender}")
    if original.to:
        lines.append(f"To: {original.to}")
    if original.cc:
        lines.append(f"Cc: {original.cc}")
    return "\n".join(lines)


def make_forward(original: Original, *, account: str, sender: str, signature: str = "") -> Draft:
    """An inline forward: "Fwd:" subject, the original's text and its attachments."""
    body = _above(signature, f"{forward_header(original)}\n\n{original.text.rstrip()}\n")
    return Draft(
        account=account,
        sender=sender,
        subject=forward_subject(original.subject),
        body=body,
        attachments=original.attachments,
        kind=DraftKind.FORWARD,
        original=original.message_id,
    )


def make_forward_as_attachment(
    original: Original, raw: bytes, *, account: str, sender: str, signature: str = ""
) -> Draft:
    """A forward that attaches the whole message (message/rfc822), as it was received."""
    name = safe_filename(f"{original.subject.strip() or 'message'}.eml", "message.eml")
    return Draft(
        account=account,
        sender=sender,
        subject=forward_subject(original.subject),
        body=new_body(signature),
        attachments=(Attachment(filename=name, data=raw, content_type=RFC822),),
        kind=DraftKind.FORWARD,
        original=original.message_id,
    )
