"""Changes the user makes: the store first, the server after, the store set right on refusal.

Message changes (flags, moves, deletes) are made in the store at once, so the window shows
them immediately, and wait there until the server confirmed them: they survive a lost
connection, a server that cannot be reached and a restart. The account's worker sends
them, oldest first, after each new change and before each sync of their folder::

    changes.set_flags(store, ids, add={SEEN})    # the writer thread's store: instant
    engine.send_pending()                        # later, on the account's worker
                                                 # (engine: its AccountSync)

A change the server refuses for good (its target folder is gone, its folder was renumbered,
the server said NO) is undone in the store and reported. One that cannot go now (no
connection, a busy server) waits for the next try; so does the rest of the queue behind it.

Moves use MOVE where offered, else COPY + \\Deleted + UID EXPUNGE (RFC 6851, RFC 4315);
a message deleted outside the Trash moves there, in the Trash it is expunged; without a
Trash nothing is deleted.

Folder changes (create, rename, delete) are Change objects the caller sends at once; if
that fails they are undone.
"""

from __future__ import annotations

import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mailclient.core.errors import InvalidInput, MailclientError
from mailclient.core.models import Folder, SpecialUse
from mailclient.imap.client import ImapSession
from mailclient.imap.wire import CommandFailed
from mailclient.store.mail import ChangeKind, MailStore, PendingChange

log = logging.getLogger(__name__)

# Response codes of a NO that means "not now" rather than "never" (RFC 5530 §3).
_NOT_NOW = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG"})
_RESPONSE_CODE = re.compile(r"\[([A-Za-z-]+)")


class ChangeRefused(MailclientError):
    """The server refused a local change for good; the store was set back."""

    def __init__(self, change: PendingChange, message: str) -> None:
        super().__init__(message)
        self.change = change


class _Refused(Exception):
    """Sending a change cannot succeed, now or later (the reason is a sentence)."""


# -- message changes ------------------------------------------------------------------------


def set_flags(
    store: MailStore, ids: Sequence[int], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> list[PendingChange]:
    """Add and remove flags (\\Seen, \\Flagged...)."""
    return store.record_change(ChangeKind.FLAGS, ids, add=add, remove=remove)


def move_messages(
    store: MailStore, ids: Sequence[int], target_folder_id: int
) -> list[PendingChange]:
    """Move messages to another folder of the same account."""
    _folder(store, target_folder_id)
    return store.record_change(ChangeKind.MOVE, ids, target_folder_id=target_folder_id)


class NoTrash(MailclientError):
    """Deleting needs a Trash folder, and the account has none: nothing was deleted."""


def delete_messages(store: MailStore, ids: Sequence[int]) -> list[PendingChange]:
    """Move messages to the Trash; those already there are expunged.

    Without a Trash nothing changes and NoTrash is raised: deleting for good is only
    ever what Del does to a message that is already in the Trash.
    """
    locations = store.locations(ids)
    if not locations:
        return []
    first = store.folder(locations[0].folder_id)
    trash = store.folder_by_use(first.account, SpecialUse.TRASH) if first else None
    if trash is None:
        account = first.account if first else "this account"
        raise NoTrash(
            f"Nothing was deleted: the account {account} has no Trash folder, and deleting "
            "without one would remove the messages for good. Create a folder named Trash, "
            "or move the messages to another folder."
        )
    in_trash = [loc.id for loc in locations if loc.folder_id == trash.id]
    elsewhere = [loc.id for loc in locations if loc.folder_id != trash.id]
    made = []
    if elsewhere:
        made += store.record_change(ChangeKind.MOVE, elsewhere, target_folder_id=trash.id)
    if in_trash:
        made += store.record_change(ChangeKind.EXPUNGE, in_trash)
    return made


def expunge_messages(store: MailStore, ids: Sequence[int]) -> list[PendingChange]:
    """Delete messages for good, wherever they are (Shift+Del, after the user confirmed)."""
    return store.record_change(ChangeKind.EXPUNGE, ids)


@dataclass(frozen=True)
class MovedMessage:
    """A message a move (or a delete to the Trash) took away: its row and where it was."""

    id: int
    folder_id: int
    message_id: str  # its Message-ID: found by it if the row was fetched anew in the target


@dataclass(frozen=True)
class FlagEdit:
    """Flags to add to and remove from messages."""

    ids: tuple[int, ...]
    add: frozenset[str]
    remove: frozenset[str]


class StillSending(MailclientError):
    """The change to undo is being sent to the server right now; Undo can be tried again."""


def undo(
    store: MailStore,
    moved: Sequence[MovedMessage] = (),
    target_folder_id: int | None = None,
    flags: Sequence[FlagEdit] = (),
    wait_seconds: float = 30.0,
) -> list[PendingChange]:
    """Take back a move to ``target_folder_id`` and flag changes, through the same path.

    A move the server has not been told about yet is simply reverted in the store; one it
    confirmed is moved back, a new change that uses the messages' UIDs in the target (the
    rows took them from COPYUID; without it they are found by Message-ID once synced).
    A move being sent right now is waited for (``wait_seconds`` at most, else StillSending).
    The flag edits are made after the reverted moves showed their messages again and before
    the moves back hide them.
    """
    ids = [m.id for m in moved]
    deadline = time.monotonic() + wait_seconds
    while True:
        holding = store.pending_moves_holding(ids)
        if not any(holding.values()):
            break
        if time.monotonic() > deadline:
            raise StillSending("The change is still being sent to the server; try Undo again.")
        time.sleep(0.05)
    for change_id in holding:
        store.revert_pending(change_id)
    made: list[PendingChange] = []
    for edit in flags:
        made += store.record_change(ChangeKind.FLAGS, edit.ids, add=edit.add, remove=edit.remove)
    if target_folder_id is None or not moved:
        return made
    where = {loc.id: loc.folder_id for loc in store.locations(ids)}
    back: dict[int, list[int]] = {}
    target = store.folder(target_folder_id)
    for message in moved:
        found = where.get(message.id)
        if found == target_folder_id:
            back.setdefault(message.folder_id, []).append(message.id)
        elif found is None and target is not None and message.message_id:
            again = [
                loc.id
                for loc in store.locations(
                    store.ids_with_message_id(target.account, message.message_id)
                )
                if loc.folder_id == target_folder_id
            ]
            back.setdefault(message.folder_id, []).extend(again[:1])
    for source, source_ids in sorted(back.items()):
        if source_ids and store.folder(source) is not None:
            made += store.record_change(ChangeKind.MOVE, source_ids, target_folder_id=source)
    return made


def send_pending(
    session: Callable[[], ImapSession],
    store: MailStore,
    account: str,
    folder_id: int | None = None,
) -> list[ChangeRefused]:
    """Send the account's waiting changes (only those in ``folder_id``), oldest first.

    ``session`` gives the connection, opening it if need be: a server that cannot be
    reached, like any failure that trying again may cure, leaves the changes waiting and
    is raised for the caller to report. Changes the server refused for good are undone in
    the store and returned. Changes another thread or process is sending are left to it.
    """
    refused: list[ChangeRefused] = []
    if not store.has_pending(account, folder_id):
        return refused
    connection = session()
    while (change := store.claim_pending(account, folder_id)) is not None:
        try:
            _send(connection, store, change)
        except Exception as error:
            reason = _refusal(error)
            if reason is None:
                store.release_pending(change.id)
                raise
            store.revert_pending(change.id)
            message = f"{_describe(store, change)} was undone: {reason}"
            log.warning("%s: %s", account, message)
            refused.append(ChangeRefused(change, message))
        except BaseException:
            store.release_pending(change.id)
            raise
    return refused


def _refusal(error: Exception) -> str | None:
    """Why ``error`` means the change can never go through, or None if it may later."""
    if isinstance(error, _Refused):
        return str(error)
    if isinstance(error, CommandFailed):
        code = _RESPONSE_CODE.match(error.text)
        if code is None or code.group(1).upper() not in _NOT_NOW:
            return str(error)
    return None


def _send(session: ImapSession, store: MailStore, change: PendingChange) -> None:
    folder = _folder(store, change.folder_id)
    renumbered = f"the server renumbered the folder {folder.name} before the change reached it."
    known = store.sync_state(folder.id).uidvalidity
    if change.uidvalidity is not None and known != change.uidvalidity:
        raise _Refused(renumbered)
    if not change.messages:
        # They went meanwhile (expunged by another client and synced): nothing to tell.
        store.finish_pending(change.id)
        return
    target = None
    if change.kind is ChangeKind.MOVE:
        target = store.folder(change.target_folder_id) if change.target_folder_id else None
        if target is None:
            raise _Refused("the folder they were to go to no longer exists.")
    if session.selected != folder.name or not session.writable:
        session.select(folder.name)
    # The UIDs are those of the folder as it was: after a renumbering on the server they
    # would name other messages (in the Trash, an expunge would delete the wrong ones).
    if change.uidvalidity is not None and session.uidvalidity != change.uidvalidity:
        raise _Refused(renumbered)
    if change.kind is ChangeKind.FLAGS:
        session.store_flags(change.uids, change.add, change.remove)
        store.finish_pending(change.id)
    elif change.kind is ChangeKind.EXPUNGE:
        session.expunge(change.uids)
        store.finish_pending(change.id)
    else:
        assert target is not None
        copied = session.move(change.uids, target.name)
        new_uids: dict[int, int] = {}
        # With COPYUID for the target as stored, the rows move along (keeping their
        # bodies); else the target's next sync fetches them.
        if copied is not None and copied.uidvalidity == store.sync_state(target.id).uidvalidity:
            by_uid = {m.uid: m.id for m in change.messages}
            new_uids = {by_uid[old]: new for old, new in copied.uids.items() if old in by_uid}
        store.finish_pending(change.id, new_uids)


def _describe(store: MailStore, change: PendingChange) -> str:
    count = len(change.messages)
    messages = "messages" if count == 0 else f"{count} message" + ("s" if count > 1 else "")
    folder = store.folder(change.folder_id)
    where = folder.name if folder else "a folder"
    if change.kind is ChangeKind.FLAGS:
        return f"Changing the flags of {messages} in {where}"
    if change.kind is ChangeKind.EXPUNGE:
        return f"Deleting {messages} in {where}"
    target = store.folder(change.target_folder_id) if change.target_folder_id else None
    return f"Moving {messages} from {where} to {target.name if target else 'a deleted folder'}"


def _folder(store: MailStore, folder_id: int) -> Folder:
    folder = store.folder(folder_id)
    if folder is None:
        raise MailclientError("This folder is no longer in the mail store.")
    return folder


# -- folder changes -------------------------------------------------------------------------


class Change(ABC):
    """A folder change already made in the store that the server has not been told about."""

    description: str

    def send(self, session: ImapSession, store: MailStore) -> None:
        """Tell the server; on any failure put the store back and raise."""
        try:
            self._send(session, store)
        except BaseException as error:
            log.warning("Could not %s: %s", self.description, error)
            self.revert(store)
            raise

    @abstractmethod
    def _send(self, session: ImapSession, store: MailStore) -> None: ...

    @abstractmethod
    def revert(self, store: MailStore) -> None:
        """Undo the store change (the server refused it)."""


class CreateFolder(Change):
    def __init__(self, store: MailStore, account: str, name: str) -> None:
        self.description = f"create the folder {name}"
        inbox = store.folder_by_use(account, SpecialUse.INBOX)
        if store.folder_by_name(account, name) is not None:
            raise InvalidInput("folder", f"a folder named {name!r} exists already")
        self.folder = store.add_folder(account, name, inbox.delimiter if inbox else None)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        session.create_folder(self.folder.name)

    def revert(self, store: MailStore) -> None:
        store.delete_folder(self.folder.id)


class RenameFolder(Change):
    def __init__(self, store: MailStore, folder_id: int, new_name: str) -> None:
        folder = _folder(store, folder_id)
        if folder.special_use is SpecialUse.INBOX:
            raise InvalidInput("folder", "the INBOX cannot be renamed")
        if store.folder_by_name(folder.account, new_name) is not None:
            raise InvalidInput("folder", f"a folder named {new_name!r} exists already")
        self.description = f"rename the folder {folder.name} to {new_name}"
        self.folder_id, self.old, self.new = folder_id, folder.name, new_name
        store.rename_folder(folder_id, new_name)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        if session.selected == self.old:
            session.selected = None
        session.rename_folder(self.old, self.new)

    def revert(self, store: MailStore) -> None:
        store.rename_folder(self.folder_id, self.old)


class DeleteFolder(Change):
    def __init__(self, store: MailStore, folder_id: int) -> None:
        folder = _folder(store, folder_id)
        if folder.special_use is SpecialUse.INBOX:
            raise InvalidInput("folder", "the INBOX cannot be deleted")
        self.description = f"delete the folder {folder.name}"
        self.folder = folder
        store.set_folder_hidden(folder_id, True)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        session.delete_folder(self.folder.name)
        store.delete_folder(self.folder.id)

    def revert(self, store: MailStore) -> None:
        store.set_folder_hidden(self.folder.id, False)


def create_folder(store: MailStore, account: str, name: str) -> CreateFolder:
    """Create a folder; ``name`` is the full name, levels joined by the account's delimiter."""
    return CreateFolder(store, account, name)


def rename_folder(store: MailStore, folder_id: int, new_name: str) -> RenameFolder:
    """Rename a folder (the full new name); folders below it move along."""
    return RenameFolder(store, folder_id, new_name)


def delete_folder(store: MailStore, folder_id: int) -> DeleteFolder:
    """Delete a folder and the messages in it."""
    return DeleteFolder(store, folder_id)
