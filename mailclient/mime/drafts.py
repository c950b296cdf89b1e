"""Drafts as messages for the account's Drafts folder, and messages from it as drafts.

A saved draft carries ``X-Mailclient-Draft: key=...; kind=...; original=<id>`` so that the
next save can replace it and, once sent, the answered message can be flagged. Drafts
written by other programs open too: their In-Reply-To then says what they answer.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import Message

from mailclient.core.draft import Draft, DraftKind, new_draft_key
from mailclient.core.outgoing import Attachment
from mailclient.mime.compose import build_draft
from mailclient.mime.html_text import html_to_text
from mailclient.mime.parse import attachment_data, header_text, parse_message
from mailclient.mime.reply import first_message_id, message_ids

DRAFT_HEADER = "X-Mailclient-Draft"
_KEY = re.compile(r"^[0-9a-f]{32}$")


def draft_header(draft: Draft) -> str:
    """The value of our header for ``draft``."""
    fields = [f"key={draft.key}", f"kind={draft.kind}"]
    if draft.original:
        fields.append(f"original={draft.original}")
    return "; ".join(fields)


def parse_draft_header(value: str) -> dict[str, str]:
    """The fields of our header (empty when it is missing or not ours)."""
    fields = {}
    for item in value.split(";"):
        name, _, text = item.strip().partition("=")
        if name and text:
            fields[name.strip().lower()] = text.strip()
    return fields


def draft_message(draft: Draft) -> bytes:
    """The bytes to save in the Drafts folder (reads attachment files: not on the GUI thread)."""
    return build_draft(draft.outgoing(flowed=False), headers=[(DRAFT_HEADER, draft_header(draft))])


def draft_from_message(raw: bytes, account: str) -> Draft:
    """A draft to edit from a message of the Drafts folder; it replaces that message."""
    parsed = parse_message(raw)
    headers: Message = email.message_from_bytes(raw, policy=email.policy.default)
    ours = parse_draft_header(header_text(headers, DRAFT_HEADER))
    message_id = first_message_id(header_text(headers, "Message-ID"))
    in_reply_to = first_message_id(header_text(headers, "In-Reply-To"))
    try:
        kind = DraftKind(ours.get("kind", ""))
    except ValueError:
        kind = DraftKind.REPLY if in_reply_to else DraftKind.NEW
    original = ours.get("original", "") or (in_reply_to if kind is not DraftKind.NEW else "")
    key = ours.get("key", "")
    if parsed.plain is not None:
        body = parsed.plain
    elif parsed.html is not None:
        body = html_to_text(parsed.html)
    else:
        body = ""
    attachments = tuple(
        Attachment(
            filename=info.filename or "attachment",
            data=attachment_data(raw, info.part_id),
            content_type=None if info.content_type.startswith("message/") else info.content_type,
        )
        for info in parsed.attachments
    )
    return Draft(
        account=account,
        sender=parsed.sender,
        to=parsed.to,
        cc=parsed.cc,
        bcc=header_text(headers, "Bcc"),
        subject=parsed.subject,
        body=body.replace("\r\n", "\n"),
        html=parsed.html,
        attachments=attachments,
        in_reply_to=in_reply_to,
        references=message_ids(header_text(headers, "References")),
        kind=kind,
        original=first_message_id(original),
        key=key if _KEY.match(key) else new_draft_key(),
        replaces=message_id,
    )
