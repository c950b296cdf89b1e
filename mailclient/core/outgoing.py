"""Dataclasses of sending: the message a person writes, its built form, and outbox items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Attachment:
    """A file to attach: its bytes, or a path read when the message is built.

    ``filename`` is what recipients see (default: the path's name); ``content_type``
    ("image/png") is guessed from the file name when not given.
    """

    filename: str = ""
    data: bytes | None = None
    path: Path | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """What the compose window (or ``mailclient send``) fills in; building checks it all.

    Each entry of ``to``, ``cc`` and ``bcc`` holds one address or a comma-separated list, as
    a person types it: ``"Ann <ann@example.org>, bob@example.org"``. ``sender`` is the
    From value (``Account.sender``). ``in_reply_to`` and ``references`` hold message ids
    with their angle brackets, for replies. ``flowed`` sends the plain text wrapped as
    format=flowed (RFC 3676), for text typed into a window rather than read from a file.
    """

    sender: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    flowed: bool = False


@dataclass(frozen=True)
class BuiltMessage:
    """The final bytes of a message and its envelope, ready for the outbox.

    ``recipients`` are the envelope addresses (To, Cc and Bcc, each once); Bcc appears
    nowhere in ``raw``. ``smtputf8`` says an address needs the SMTPUTF8 extension.
    ``sent_headers`` are the header lines (the Bcc field, encoded like the others) that the
    copy for the Sent folder carries on top of ``raw``, so that the sender can see later
    whom it went to in secret; empty without Bcc.
    """

    raw: bytes
    message_id: str
    envelope_from: str
    recipients: tuple[str, ...]
    subject: str
    smtputf8: bool = False
    sent_headers: bytes = b""

    @property
    def sent_copy(self) -> bytes:
        """The bytes for the Sent folder: ``raw`` with the Bcc field."""
        return self.sent_headers + self.raw


class OutboxState(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # a sender has it right now
    SENT = "sent"  # the server accepted it; only its Sent-folder copy may be pending
    FAILED = "failed"  # refused for good: waits for the user to retry or delete it


class SentCopy(StrEnum):
    """Where the copy for the account's Sent folder stands, apart from the delivery."""

    NONE = "none"  # nothing accepted yet, or the server files the copy itself
    PENDING = "pending"  # accepted by the server; the APPEND is still to do
    DONE = "done"


@dataclass(frozen=True)
class Refusal:
    """A recipient the server refused, in the server's own words."""

    recipient: str
    code: int
    reply: str

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.recipient}: {self.code} {self.reply}".rstrip()


@dataclass(frozen=True)
class OutboxItem:
    """One message in the outbox, without its bytes (``Outbox.raw`` reads those)."""

    id: int
    account: str
    message_id: str
    subject: str
    recipients: tuple[str, ...]  # those still to deliver to
    state: OutboxState
    size: int
    created: datetime
    next_attempt: datetime
    attempts: int = 0
    last_error: str = ""
    maybe_sent: bool = False  # a crash or lost connection hid whether the server took it
    sent_copy: SentCopy = SentCopy.NONE
    refused: tuple[Refusal, ...] = field(default_factory=tuple)  # refused for good
    copy_error: str = ""  # why the last attempt to save the Sent-folder copy failed
    # Not sent before this time: the undo delay after Send, or the time chosen with Send
    # Later (``scheduled``). None: as soon as possible.
    send_at: datetime | None = None
    scheduled: bool = False
