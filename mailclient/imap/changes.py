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

Folder changes (create, rename, delete) are made in the store and kept there too, and go to
the server before the account's folder list is next read (or at once, with Change.send);
a refusal undoes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mailclient.core.errors import InvalidInput, MailclientError
from mailclient.core.models import Folder, SpecialUse
from mailclient.imap.client import ImapSession
from mailclient.imap.wire import CommandFailed, response_code
from mailclient.store.mail import MailStore
from mailclient.store.pending import (
    ChangeKind,
    FolderChangeKind,
    PendingChange,
    PendingFolderChange,
)

log = logging.getLogger(__name__)


class ChangeRefused(MailclientError):
    """The server refused a local change for good; the store was set back."""

    def __init__(self, change: PendingChange | None, message: str) -> None:
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
    # LIMIT (a quota, too many folders) may lift: the change waits for the next sync.
    if (
        isinstance(error, CommandFailed)
        and not error.transient
        and response_code(error.text) != "LIMIT"
    ):
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


class FolderChangeRefused(ChangeRefused):
    """The server refused a folder change for good; the store was set back."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class Change:
    """A folder change made in the store and kept there until the server confirmed it.

    ``send`` tells the server now (the caller's connection); otherwise the account's
    worker sends it with the other waiting folder changes (send_folder_changes).
    """

    def __init__(self, store: MailStore, pending: PendingFolderChange, description: str) -> None:
        self.pending = pending
        self.description = description
        folder = store.folder(pending.folder_id)
        assert folder is not None
        self.folder = folder

    def send(self, session: ImapSession, store: MailStore) -> None:
        """Tell the server; on any failure put the store back and raise."""
        try:
            _send_folder_change(session, store, self.pending)
        except BaseException as error:
            log.warning("Could not %s: %s", self.description, error)
            _revert_folder_change(store, self.pending)
            raise


def _send_folder_change(
    session: ImapSession, store: MailStore, change: PendingFolderChange
) -> None:
    if change.kind is FolderChangeKind.CREATE:
        session.create_folder(change.new_name)
    elif change.kind is FolderChangeKind.RENAME:
        if session.selected == change.old_name:
            session.selected = None
        session.rename_folder(change.old_name, change.new_name)
    elif change.kind in _SUBSCRIPTIONS:
        session.subscribe_folder(change.old_name, change.kind is FolderChangeKind.SUBSCRIBE)
    else:
        session.delete_folder(change.old_name)
        store.delete_folder(change.folder_id)
    store.finish_folder_change(change.id)


_SUBSCRIPTIONS = (FolderChangeKind.SUBSCRIBE, FolderChangeKind.UNSUBSCRIBE)


def _revert_folder_change(store: MailStore, change: PendingFolderChange) -> None:
    if change.kind is FolderChangeKind.CREATE:
        store.delete_folder(change.folder_id)
    elif change.kind is FolderChangeKind.RENAME:
        store.rename_folder(change.folder_id, change.old_name)
    elif change.kind in _SUBSCRIPTIONS:
        store.set_folder_subscribed(change.folder_id, change.kind is FolderChangeKind.UNSUBSCRIBE)
    else:
        store.set_folder_hidden(change.folder_id, False)
    store.finish_folder_change(change.id)


def _describe_folder_change(change: PendingFolderChange) -> str:
    if change.kind is FolderChangeKind.CREATE:
        return f"Creating the folder {change.new_name}"
    if change.kind is FolderChangeKind.RENAME:
        return f"Renaming the folder {change.old_name} to {change.new_name}"
    if change.kind is FolderChangeKind.SUBSCRIBE:
        return f"Subscribing to the folder {change.old_name}"
    if change.kind is FolderChangeKind.UNSUBSCRIBE:
        return f"Unsubscribing from the folder {change.old_name}"
    return f"Deleting the folder {change.old_name}"


def send_folder_changes(
    session: Callable[[], ImapSession], store: MailStore, account: str
) -> list[FolderChangeRefused]:
    """Send the account's waiting folder changes, oldest first (before the folder list is
    read: a folder renamed here must not look deleted on the server).

    A failure that trying again may cure leaves them waiting and is raised; a refusal
    undoes the change in the store and is returned. Changes another thread or process is
    sending are left to it.
    """
    refused: list[FolderChangeRefused] = []
    if not store.pending_folder_changes(account):
        return refused
    connection = session()
    while (change := store.claim_folder_change(account)) is not None:
        try:
            _send_folder_change(connection, store, change)
        except Exception as error:
            reason = _refusal(error)
            if reason is None:
                store.release_folder_change(change.id)
                raise
            _revert_folder_change(store, change)
            message = f"{_describe_folder_change(change)} was undone: {reason}"
            log.warning("%s: %s", account, message)
            refused.append(FolderChangeRefused(message))
        except BaseException:
            store.release_folder_change(change.id)
            raise
    return refused


def create_folder(store: MailStore, account: str, name: str) -> Change:
    """Create a folder; ``name`` is the full name, levels joined by the account's delimiter."""
    with store.transaction():
        inbox = store.folder_by_use(account, SpecialUse.INBOX)
        if store.folder_by_name(account, name) is not None:
            raise InvalidInput("folder", f"a folder named {name!r} exists already")
        folder = store.add_folder(account, name, inbox.delimiter if inbox else None)
        pending = store.record_folder_change(FolderChangeKind.CREATE, folder.id, "", name)
    return Change(store, pending, f"create the folder {name}")


def rename_folder(store: MailStore, folder_id: int, new_name: str) -> Change:
    """Rename a folder (the full new name); folders below it move along."""
    with store.transaction():
        folder = _folder(store, folder_id)
        if folder.special_use is SpecialUse.INBOX:
            raise InvalidInput("folder", "the INBOX cannot be renamed")
        if store.folder_by_name(folder.account, new_name) is not None:
            raise InvalidInput("folder", f"a folder named {new_name!r} exists already")
        store.rename_folder(folder_id, new_name)
        pending = store.record_folder_change(
            FolderChangeKind.RENAME, folder_id, folder.name, new_name
        )
    return Change(store, pending, f"rename the folder {folder.name} to {new_name}")


def delete_folder(store: MailStore, folder_id: int) -> Change:
    """Delete a folder and the messages in it."""
    with store.transaction():
        folder = _folder(store, folder_id)
        if folder.special_use is SpecialUse.INBOX:
            raise InvalidInput("folder", "the INBOX cannot be deleted")
        store.set_folder_hidden(folder_id, True)
        pending = store.record_folder_change(FolderChangeKind.DELETE, folder_id, folder.name)
    return Change(store, pending, f"delete the folder {folder.name}")


def subscribe_folder(store: MailStore, folder_id: int, subscribed: bool) -> Change:
    """Subscribe to a folder or unsubscribe from it (what other programs and the folder
    list show); the folder and its messages stay either way."""
    kind = FolderChangeKind.SUBSCRIBE if subscribed else FolderChangeKind.UNSUBSCRIBE
    with store.transaction():
        folder = _folder(store, folder_id)
        if folder.special_use is SpecialUse.INBOX:
            raise InvalidInput("folder", "the INBOX is always subscribed")
        store.set_folder_subscribed(folder_id, subscribed)
        pending = store.record_folder_change(kind, folder_id, folder.name)
    verb = "subscribe to" if subscribed else "unsubscribe from"
    return Change(store, pending, f"{verb} the folder {folder.name}")
