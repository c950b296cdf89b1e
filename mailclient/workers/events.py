"""What workers report, as plain dataclasses carried by Qt signals."""

from __future__ import annotations

from dataclasses import dataclass

from mailclient.core.errors import MailclientError
from mailclient.workers.commands import Command


@dataclass(frozen=True)
class SyncProgress:
    """Headers of ``folder`` being fetched: ``done`` of ``total``; no folder: listing them."""

    account: str
    folder: str
    done: int
    total: int


@dataclass(frozen=True)
class SyncFinished:
    account: str


@dataclass(frozen=True)
class WorkFailed:
    """A command failed; ``message`` is a sentence for the user."""

    account: str
    message: str
    transient: bool = True  # retrying later may help (network) or not (password)
    command: Command | None = None  # what to re-queue on Retry
    error: MailclientError | None = None  # to tell a rejected password from the rest


@dataclass(frozen=True)
class BodyFetched:
    message_id: int


@dataclass(frozen=True)
class BodyFailed:
    message_id: int
    message: str
