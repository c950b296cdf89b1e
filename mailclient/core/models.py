"""Dataclasses that cross layer boundaries: folders, message summaries, outbox items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

SEEN = "\\Seen"
FLAGGED = "\\Flagged"
ANSWERED = "\\Answered"
DELETED = "\\Deleted"
DRAFT = "\\Draft"
FORWARDED = "$Forwarded"


# A day inside datetime's range, so that every time zone (-12:00 to +14:00) can show it.
_SHOWN_FROM = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_SHOWN_UNTIL = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def showable_date(value: datetime | None) -> datetime | None:
    """``value``, or None when a time zone could not show it: a Date header of 9999-12-31
    at -14:00 is the year 10000 in UTC, and views show dates in local time."""
    if value is None:
        return None
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return value if _SHOWN_FROM <= utc <= _SHOWN_UNTIL else None


class SpecialUse(StrEnum):
    """RFC 6154 special-use attributes (plus INBOX, which RFC 3501 names)."""

    INBOX = "\\Inbox"
    DRAFTS = "\\Drafts"
    SENT = "\\Sent"
    ARCHIVE = "\\Archive"
    JUNK = "\\Junk"
    TRASH = "\\Trash"
    ALL = "\\All"
    FLAGGED = "\\Flagged"


@dataclass(frozen=True)
class Folder:
    """A mailbox of one account as the store knows it."""

    id: int
    account: str
    name: str  # the decoded name (modified UTF-7 already turned into text)
    delimiter: str | None = None
    special_use: SpecialUse | None = None
    subscribed: bool = True
    total: int = 0
    unread: int = 0

    @property
    def leaf(self) -> str:
        """The last component of the name, for display in a tree."""
        if self.delimiter and self.delimiter in self.name:
            return self.name.rsplit(self.delimiter, 1)[1]
        return self.name


@dataclass(frozen=True)
class MessageSummary:
    """What the message list shows for one message (headers and flags, no body)."""

    id: int  # the store's row id, stable while the message exists
    account: str
    folder_id: int
    uid: int
    flags: frozenset[str] = field(default_factory=frozenset)
    size: int = 0
    date: datetime | None = None  # the Date header, or the internal date when missing
    sender: str = ""  # "Name <address>" as decoded text
    to: str = ""
    cc: str = ""
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    has_attachments: bool = False

    @property
    def seen(self) -> bool:
        return SEEN in self.flags

    @property
    def flagged(self) -> bool:
        return FLAGGED in self.flags

    @property
    def answered(self) -> bool:
        return ANSWERED in self.flags
