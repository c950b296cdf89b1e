"""What the window asks of the mail workers, as one closed union of frozen dataclasses.

Each thread takes its part of the union (a lane: ``LaneCommand``; the store writer:
``LocalChange``) and dispatches with ``match`` ending in ``assert_never``, so that mypy
names the thread that does not handle a new command. ``WorkFailed.command`` carries the
command back for the error bar's Retry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SyncAccount:
    """Sync the folder list and ``folders`` (None: every folder, INBOX first)."""

    folders: tuple[str, ...] | None = None


@dataclass(frozen=True)
class FetchBody:
    message_id: int


@dataclass(frozen=True)
class SetFlags:
    ids: tuple[int, ...]
    add: frozenset[str]
    remove: frozenset[str]


@dataclass(frozen=True)
class MoveMessages:
    ids: tuple[int, ...]
    target_folder_id: int


@dataclass(frozen=True)
class TransferMessages:
    """Copy or move messages to a folder of another account (APPEND there, then delete)."""

    ids: tuple[int, ...]
    target_folder_id: int
    copy: bool = False


@dataclass(frozen=True)
class DeleteMessages:
    """To the Trash; messages already in the Trash are expunged."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class ExpungeMessages:
    """Delete for good, wherever they are."""

    ids: tuple[int, ...]


@dataclass(frozen=True)
class ChangeFolder:
    """Create a folder (``name``, the full name), rename one (to ``name``), delete one, or
    subscribe to one or unsubscribe from it."""

    account: str
    kind: str  # "create", "rename", "delete", "subscribe" or "unsubscribe"
    folder_id: int | None
    name: str = ""


@dataclass(frozen=True)
class UndoChanges:
    """Take back a move, delete, archive or junk (``moved``: id, old folder, Message-ID)
    and flag changes (``flags``: the inverse SetFlags)."""

    account: str
    moved: tuple[tuple[int, int, str], ...]
    target_folder_id: int | None
    flags: tuple[SetFlags, ...]


@dataclass(frozen=True)
class SendPending:
    """Send the account's local changes that wait in the store to the server."""


# Written into the store by the writer thread, then sent by the interactive lane.
LocalChange = (
    SetFlags
    | MoveMessages
    | TransferMessages
    | DeleteMessages
    | ExpungeMessages
    | UndoChanges
    | ChangeFolder
)
# Run by an account's lane on its IMAP connection.
LaneCommand = SyncAccount | FetchBody | SendPending
Command = LocalChange | LaneCommand
