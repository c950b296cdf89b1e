"""The draft: everything a compose window holds, as one value that can be saved and reopened."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from mailclient.core.outgoing import Attachment, OutgoingMessage


class DraftKind(StrEnum):
    """What the draft answers; replies and forwards mark the original once sent."""

    NEW = "new"
    REPLY = "reply"
    REPLY_ALL = "reply-all"
    FORWARD = "forward"


def new_draft_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Draft:
    """A message being written.

    ``to``, ``cc`` and ``bcc`` are the address fields as typed (comma-separated, maybe not
    valid yet). In rich-text mode ``html`` holds the formatted text and ``body`` its
    plain-text alternative. ``original`` is the Message-ID of the message answered or
    forwarded (flagged \\Answered or $Forwarded after sending). ``key`` stays the same
    across every save of one draft, locally and in the Drafts folder; ``replaces`` is the
    Message-ID of a copy in the Drafts folder this draft was opened from (written by any
    program), removed once the draft is saved again or sent.
    """

    account: str
    sender: str
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    kind: DraftKind = DraftKind.NEW
    original: str = ""
    key: str = field(default_factory=new_draft_key)
    replaces: str = ""

    def outgoing(self, *, flowed: bool = True) -> OutgoingMessage:
        """The message to build and send (``flowed``: wrap plain text, RFC 3676)."""
        return OutgoingMessage(
            sender=self.sender,
            to=(self.to,) if self.to.strip() else (),
            cc=(self.cc,) if self.cc.strip() else (),
            bcc=(self.bcc,) if self.bcc.strip() else (),
            subject=self.subject,
            body=self.body,
            html=self.html,
            attachments=self.attachments,
            in_reply_to=self.in_reply_to,
            references=self.references,
            flowed=flowed,
        )
