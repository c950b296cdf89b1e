"""Changes the user makes: the store first, the server after, the store set right on failure.

Each function here changes the store at once (the window shows it immediately) and returns
a Change; the account's worker later calls ``change.send(session, store)`` with its own
connection and store. If the server refuses or the connection fails, send() undoes the
store change and raises the error for the window to report::

    change = changes.set_seen(store, ids)            # the GUI thread's store: instant
    change.send(engine.session, engine.store)        # later, on the account's worker
                                                     # (engine: its AccountSync)

Moves use MOVE where offered, else COPY + \\Deleted + UID EXPUNGE (RFC 6851, RFC 4315);
a message deleted outside the Trash moves there, in the Trash it is expunged.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Sequence

from mailclient.core.errors import InvalidInput, MailclientError
from mailclient.core.models import FLAGGED, SEEN, Folder, SpecialUse
from mailclient.imap.client import ImapSession
from mailclient.store.mail import MailStore, MessageLocation

log = logging.getLogger(__name__)


class Change(ABC):
    """A change already made in the store that the server has not been told about yet."""

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


def _by_folder(locations: Sequence[MessageLocation]) -> dict[int, list[MessageLocation]]:
    groups: dict[int, list[MessageLocation]] = defaultdict(list)
    for location in locations:
        groups[location.folder_id].append(location)
    return groups


def _select(session: ImapSession, store: MailStore, folder_id: int) -> Folder | None:
    folder = store.folder(folder_id)
    if folder is not None and (session.selected != folder.name or not session.writable):
        session.select(folder.name)
    return folder


def _folder(store: MailStore, folder_id: int) -> Folder:
    folder = store.folder(folder_id)
    if folder is None:
        raise MailclientError("This folder is no longer in the mail store.")
    return folder


class FlagChange(Change):
    def __init__(
        self, store: MailStore, ids: Sequence[int], add: frozenset[str], remove: frozenset[str]
    ) -> None:
        self.description = "change the flags of messages"
        self.add, self.remove = add, remove
        self.locations = store.locations(ids)
        self.previous = store.set_flags(ids, add=add, remove=remove)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        for folder_id, locations in _by_folder(self.locations).items():
            if _select(session, store, folder_id) is not None:
                session.store_flags([loc.uid for loc in locations], self.add, self.remove)

    def revert(self, store: MailStore) -> None:
        store.restore_flags(self.previous)


def set_seen(store: MailStore, ids: Sequence[int], seen: bool = True) -> FlagChange:
    """Mark messages read (or unread)."""
    flags = frozenset({SEEN})
    return FlagChange(store, ids, flags if seen else frozenset(), frozenset() if seen else flags)


def set_flagged(store: MailStore, ids: Sequence[int], flagged: bool = True) -> FlagChange:
    """Flag (star) messages, or take the flag away."""
    flags = frozenset({FLAGGED})
    return FlagChange(
        store, ids, flags if flagged else frozenset(), frozenset() if flagged else flags
    )


class MoveChange(Change):
    def __init__(self, store: MailStore, ids: Sequence[int], target_folder_id: int) -> None:
        self.target = _folder(store, target_folder_id)
        self.description = f"move messages to {self.target.name}"
        self.locations = [loc for loc in store.locations(ids) if loc.folder_id != target_folder_id]
        self.ids = [loc.id for loc in self.locations]
        store.hide_messages(self.ids)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        for folder_id, locations in _by_folder(self.locations).items():
            if _select(session, store, folder_id) is None:
                continue
            new_uids = session.move([loc.uid for loc in locations], self.target.name)
            # With COPYUID the rows move along (keeping their bodies); else the target's
            # next sync fetches them.
            moved = {loc.id: new_uids[loc.uid] for loc in locations if loc.uid in new_uids}
            store.move_messages(moved, self.target.id)
            store.remove_messages([loc.id for loc in locations if loc.id not in moved])

    def revert(self, store: MailStore) -> None:
        store.hide_messages(self.ids, hidden=False)


class ExpungeChange(Change):
    def __init__(self, store: MailStore, ids: Sequence[int]) -> None:
        self.description = "delete messages"
        self.locations = store.locations(ids)
        self.ids = [loc.id for loc in self.locations]
        store.hide_messages(self.ids)

    def _send(self, session: ImapSession, store: MailStore) -> None:
        for folder_id, locations in _by_folder(self.locations).items():
            if _select(session, store, folder_id) is not None:
                session.expunge([loc.uid for loc in locations])
                store.remove_messages([loc.id for loc in locations])

    def revert(self, store: MailStore) -> None:
        store.hide_messages(self.ids, hidden=False)


def move_messages(store: MailStore, ids: Sequence[int], target_folder_id: int) -> MoveChange:
    """Move messages to another folder of the same account."""
    return MoveChange(store, ids, target_folder_id)


def delete_messages(store: MailStore, ids: Sequence[int]) -> Change:
    """Move messages to the Trash; those already there (or with no Trash) are expunged."""
    locations = store.locations(ids)
    if not locations:
        return ExpungeChange(store, [])
    first = store.folder(locations[0].folder_id)
    trash = store.folder_by_use(first.account, SpecialUse.TRASH) if first else None
    if trash is None:
        return ExpungeChange(store, ids)
    in_trash = [loc.id for loc in locations if loc.folder_id == trash.id]
    elsewhere = [loc.id for loc in locations if loc.folder_id != trash.id]
    if not elsewhere:
        return ExpungeChange(store, in_trash)
    if not in_trash:
        return MoveChange(store, elsewhere, trash.id)
    return CombinedChange([MoveChange(store, elsewhere, trash.id), ExpungeChange(store, in_trash)])


class CombinedChange(Change):
    """Several changes sent in order; those the server accepted stay when a later one fails."""

    def __init__(self, parts: Sequence[Change]) -> None:
        self.parts = list(parts)
        self.description = ", ".join(p.description for p in self.parts)

    def send(self, session: ImapSession, store: MailStore) -> None:
        for index, part in enumerate(self.parts):
            try:
                part.send(session, store)
            except BaseException:
                for later in self.parts[index + 1 :]:
                    later.revert(store)
                raise

    def _send(self, session: ImapSession, store: MailStore) -> None:
        raise AssertionError("send() sends the parts")

    def revert(self, store: MailStore) -> None:
        for part in self.parts:
            part.revert(store)


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
