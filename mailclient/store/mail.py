"""The mail cache: folders, message summaries, flags and bodies of every account.

The window reads only from here; sync workers write here. Every thread opens its own
MailStore (one SQLite connection each; WAL lets readers and one writer work at once).

Reading a big folder, the way the message list should do it::

    store = MailStore.open(profile.store_path)
    folders = store.folders("work")                  # with total and unread counts
    ids = store.message_ids([inbox.id], SortKey.DATE, descending=True, quick_filter="bob")
    page = store.summaries(ids[0:100])               # MessageSummary, in the order of ids

``message_ids`` returns row ids only (tens of milliseconds for 100,000 messages), and
``summaries`` loads the rows a view shows (under a millisecond for a page).

Noticing changes: every write transaction that touches a folder increases one counter.
``change_seq()`` is one indexed read, cheap enough to poll; ``changes_since(seq)`` says which
folders changed (new, removed or re-flagged messages, new counts) and whether the folder
list itself changed. Workers can also pass the seq they committed in their signals.

Changes the user makes (mark read, move, delete) show here at once and wait, kept in the
store across restarts, until the server confirmed them (``record_change``, then
``finish_pending``) or refused them for good (``revert_pending``). Moved and deleted rows
stay, hidden, until then; a sync lays waiting flag changes over what the server reports,
so that it never undoes one the server has not heard of yet. The queue itself lives in
store/pending.py; MailStore runs its steps in its own transactions.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from mailclient.core.models import SEEN, Folder, MessageSummary, SpecialUse, showable_date
from mailclient.core.query import Query, parse_as_typed
from mailclient.store import claims, pending, threads
from mailclient.store import search as fts
from mailclient.store.db import StoreError, store_error
from mailclient.store.pending import (
    ChangeKind,
    FolderChangeKind,
    FolderChangesMark,
    PendingChange,
    PendingFolderChange,
)
from mailclient.store.repair import StoreRescue, open_checked
from mailclient.store.rows import chunks, flags_text, marks

log = logging.getLogger(__name__)


class SortKey(StrEnum):
    """Orders of the message list. Ties break by date, newest first."""

    DATE = "date"
    SENDER = "sender"
    SUBJECT = "subject"
    SIZE = "size"
    FLAGGED = "flagged"
    ATTACHMENTS = "attachments"


_ORDER = {
    SortKey.DATE: "date {d}, id {d}",
    SortKey.SENDER: "sender COLLATE NOCASE {d}, date DESC, id DESC",
    # The expression of the subject index (schema migration 9), so that the sort reads it.
    SortKey.SUBJECT: "mail_subject_key(subject) {d}, date DESC, id DESC",
    SortKey.SIZE: "size {d}, date DESC, id DESC",
    SortKey.FLAGGED: "instr(flags, '\\Flagged') > 0 {d}, date DESC, id DESC",
    SortKey.ATTACHMENTS: "has_attachments {d}, date DESC, id DESC",
}


def _ordered_ids(
    folder_ids: Sequence[int], sort: SortKey, descending: bool
) -> tuple[str, list[Any]]:
    """The statement reading the visible ids of ``folder_ids`` in that order."""
    order = _ORDER[sort].format(d="DESC" if descending else "ASC")
    sql = (
        f"SELECT id FROM messages WHERE folder_id IN ({marks(len(folder_ids))}) AND hidden = 0 "
        f"ORDER BY {order}"
    )
    return sql, list(folder_ids)


@dataclass(frozen=True)
class StoreChanges:
    """What changed after a given change counter value."""

    seq: int  # the counter now: pass it to the next changes_since()
    folder_ids: frozenset[int]  # folders whose messages, flags or counts changed
    folder_list_changed: bool  # a folder was added, renamed or removed


@dataclass(frozen=True)
class FolderSyncState:
    """What the sync engine remembers of one folder (RFC 3501 §2.3.1.1, RFC 7162)."""

    folder_id: int
    uidvalidity: int | None
    uidnext: int | None  # None until one sync completed: some headers may be missing
    highestmodseq: int | None
    count: int  # messages stored, including those hidden by a pending move


@dataclass(frozen=True)
class AppliedChanges:
    """What apply_changes() did."""

    changed: int  # messages whose flags changed
    removed: int  # messages removed
    seq: int  # the change counter after the commit (0 if nothing changed)


@dataclass(frozen=True)
class RemoteFolder:
    """A folder as the server lists it, names already decoded."""

    name: str
    delimiter: str | None = None
    special_use: SpecialUse | None = None
    subscribed: bool = True
    selectable: bool = True


@dataclass(frozen=True)
class MessageLocation:
    """Where a stored message lives on the server."""

    id: int
    folder_id: int
    uid: int


class TransferState(StrEnum):
    """How far a copy or move to another account got."""

    WAITING = "waiting"
    APPENDING = "appending"  # an APPEND was sent: it may have reached the target
    APPENDED = "appended"  # the target has it; a move still deletes the source


@dataclass(frozen=True)
class PendingTransfer:
    """A message being copied or moved to a folder of another account."""

    id: int
    account: str  # the source's
    message_id: int
    folder_id: int
    uid: int
    uidvalidity: int | None
    target_folder_id: int | None  # None once that folder is gone
    copy: bool
    header_id: str
    state: TransferState
    flags: frozenset[str]
    internal_date: int | None


@dataclass(frozen=True)
class InboxState:
    """How far the sync of one inbox got: a first sync or a new UIDVALIDITY brings old mail."""

    folder_id: int
    account: str
    uidvalidity: int | None
    complete: bool  # one sync of the folder finished (its uidnext is known)


class NewMessage(NamedTuple):
    """Headers and flags of one message as fetched, ready for the store."""

    uid: int
    flags: frozenset[str]
    size: int = 0
    internal_date: int | None = None  # seconds since the epoch
    date: int | None = None  # the Date header in seconds since the epoch, if readable
    sender: str = ""
    recipients: str = ""
    cc: str = ""
    subject: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    has_attachments: bool = False
    # has_attachments is the Content-Type's guess: the structure will tell.
    structure_wanted: bool = False


@dataclass
class _Touched:
    folders: set[int] = field(default_factory=set)
    folder_list: bool = False
    seq: int = 0


def keywords_of(flags: Iterable[str]) -> set[str]:
    """The keywords among ``flags``: those without a backslash (RFC 3501 §2.3.2)."""
    return {f for f in flags if f and not f.startswith("\\")}


_SUMMARY_COLUMNS = (
    "m.id, f.account, m.folder_id, m.uid, m.flags, m.size, m.date, m.sender, m.recipients, "
    "m.cc, m.subject, m.message_id, m.in_reply_to, m.refs, m.has_attachments"
)

_UPSERT = """
INSERT INTO messages (folder_id, uid, flags, seen, size, internal_date, date, sender,
                      recipients, cc, subject, message_id, in_reply_to, refs,
                      has_attachments, structure_wanted)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (folder_id, uid) DO UPDATE SET
    flags = excluded.flags, seen = excluded.seen, size = excluded.size,
    internal_date = excluded.internal_date, date = excluded.date, sender = excluded.sender,
    recipients = excluded.recipients, cc = excluded.cc, subject = excluded.subject,
    message_id = excluded.message_id, in_reply_to = excluded.in_reply_to,
    refs = excluded.refs, has_attachments = excluded.has_attachments,
    structure_wanted = excluded.structure_wanted
"""


# The sort indexes of schema migration 4, and the search's narrow index of migration 6. A
# big first fill drops them and builds them once at its end: kept up row by row they cost
# twice the rest of the insert (the narrow one a third of what the header index costs),
# built at once a tenth of that. They only speed up reading: while one is missing, every
# answer is the same.
_SORT_INDEXES = {
    "messages_by_sender": "messages (folder_id, hidden, sender COLLATE NOCASE, date)",
    "messages_by_subject": "messages (folder_id, hidden, mail_subject_key(subject), date)",
    fts.LOOKUP_INDEX: fts.LOOKUP_COLUMNS,
}
# A fill this big, into a store holding no more than it, builds the sort indexes afterwards.
DEFER_INDEXES_FROM = 10_000
# The messages of a first fill are indexed and threaded this many at a time (by id), each
# step a transaction: a million of them do not all sit in memory at once (a step of threads
# holds about 20 MB), and the store's other writers wait for one step at most.
FILL_STEP = 50_000


def _timestamp(value: int | None) -> datetime | None:
    if value is None:
        return None
    try:
        return showable_date(datetime.fromtimestamp(value, UTC))
    except (OverflowError, OSError, ValueError):
        return None


def _transfers(db: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[PendingTransfer]:
    rows = db.execute(
        "SELECT t.id, t.account, t.message_id, t.folder_id, t.uid, t.uidvalidity, "
        "t.target_folder_id, t.copy, t.header_id, t.state, m.flags, m.internal_date "
        f"FROM pending_transfers t JOIN messages m ON m.id = t.message_id {where} "
        "ORDER BY t.id",
        params,
    ).fetchall()
    return [
        PendingTransfer(
            id=r[0],
            account=r[1],
            message_id=r[2],
            folder_id=r[3],
            uid=r[4],
            uidvalidity=r[5],
            target_folder_id=r[6],
            copy=bool(r[7]),
            header_id=r[8],
            state=TransferState(r[9]),
            flags=frozenset(r[10].split()),
            internal_date=r[11],
        )
        for r in rows
    ]


class MailStore:
    """The mail cache of a profile, on one SQLite connection owned by the calling thread."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path
        self.rescue: StoreRescue | None = None
        self._outer: _Touched | None = None  # the transaction() the writes join
        # Names this connection's claims on transfers: only it renews or releases them.
        self._sender = os.urandom(16).hex()

    @classmethod
    def open(cls, path: Path, *, thorough: bool = False) -> MailStore:
        """Open (creating or upgrading) the store file at ``path`` for this thread.

        It is checked first (in full with ``thorough``, at most once a day); a damaged
        store is set aside and a new one started, and ``rescue`` says what was kept
        (store/repair.py). Raises StoreError.
        """
        db, rescued = open_checked(path, thorough=thorough)
        store = cls(db, path)
        store.rescue = rescued
        return store

    @property
    def path(self) -> Path:
        return self._path

    def stop_reads_when(self, stopped: Callable[[], bool]) -> None:
        """Stop any statement of this connection once ``stopped()`` is true, with ReadStopped:
        a long read (a million messages threaded) whose answer nobody waits for any more.
        Asked every few thousand steps of SQLite's machine: a fraction of a millisecond."""
        self._db.set_progress_handler(stopped, 10_000)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> MailStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes as one: another connection sees all of them or none, and between
        them it writes nothing (as a folder list that would undo a folder change not yet
        kept for the server). An exception undoes them all."""
        with self._write() as touched:
            self._outer = touched
            try:
                yield
            finally:
                self._outer = None

    @contextmanager
    def _write(self) -> Iterator[_Touched]:
        """One write transaction; bumps the change counter if it touched a folder.
        Inside transaction(), a part of that one."""
        if self._outer is not None:
            yield self._outer
            return
        touched = _Touched()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            # Read the schema now, under the write lock, should another connection have
            # changed it (the sort indexes a big first fill drops and builds, in another
            # thread or process): a DELETE or an upsert of messages that is the first
            # statement to find the change can fail with "no such table: messages" (seen
            # with SQLite 3.40 on a connection that had not used the search index yet).
            self._db.execute("SELECT 1 FROM sqlite_master LIMIT 0")
            try:
                yield touched
                if touched.folders or touched.folder_list:
                    touched.seq = self._bump(touched)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def _bump(self, touched: _Touched) -> int:
        seq: int = self._db.execute(
            "UPDATE counters SET value = value + 1 WHERE name = 'changes' RETURNING value"
        ).fetchone()[0]
        if touched.folder_list:
            self._db.execute("UPDATE counters SET value = ? WHERE name = 'folder_list'", (seq,))
        ids = sorted(touched.folders)
        for chunk in chunks(ids):
            self._db.execute(
                f"UPDATE folders SET changed_seq = ? WHERE id IN ({marks(len(chunk))})",
                (seq, *chunk),
            )
        return seq

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads whose SQLite errors become StoreError."""
        try:
            yield self._db
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    # -- change signal ----------------------------------------------------------------------

    def change_seq(self) -> int:
        """The change counter: it grows with every committed change to any folder."""
        return int(self._read("SELECT value FROM counters WHERE name = 'changes'")[0][0])

    def changes_since(self, seq: int) -> StoreChanges:
        """Folders changed after counter value ``seq`` (from change_seq() or a worker)."""
        rows = self._read("SELECT name, value FROM counters")
        counters = {name: value for name, value in rows}
        ids = self._read("SELECT id FROM folders WHERE changed_seq > ?", (seq,))
        return StoreChanges(
            seq=counters["changes"],
            folder_ids=frozenset(r[0] for r in ids),
            folder_list_changed=counters["folder_list"] > seq,
        )

    # -- folders ----------------------------------------------------------------------------

    @staticmethod
    def _folder(row: Sequence[Any]) -> Folder:
        special = row[4]
        return Folder(
            id=row[0],
            account=row[1],
            name=row[2],
            delimiter=row[3],
            special_use=SpecialUse(special) if special else None,
            subscribed=bool(row[5]),
            total=row[6],
            unread=row[7],
        )

    _FOLDER_COLUMNS = "id, account, name, delimiter, special_use, subscribed, total, unread"

    def folders(self, account: str | None = None) -> list[Folder]:
        """Folders of one account (or all), INBOX first, then by name; hidden ones left out."""
        where, params = ("AND account = ?", (account,)) if account is not None else ("", ())
        rows = self._read(
            f"SELECT {self._FOLDER_COLUMNS} FROM folders WHERE hidden = 0 {where} "
            "ORDER BY account, upper(name) = 'INBOX' DESC, name",
            params,
        )
        return [self._folder(r) for r in rows]

    def folder(self, folder_id: int) -> Folder | None:
        rows = self._read(f"SELECT {self._FOLDER_COLUMNS} FROM folders WHERE id = ?", (folder_id,))
        return self._folder(rows[0]) if rows else None

    def folder_by_name(self, account: str, name: str) -> Folder | None:
        rows = self._read(
            f"SELECT {self._FOLDER_COLUMNS} FROM folders WHERE account = ? AND name = ?",
            (account, name),
        )
        return self._folder(rows[0]) if rows else None

    def folder_by_use(self, account: str, use: SpecialUse) -> Folder | None:
        """The account's folder with special use ``use`` (INBOX, Trash, Sent...), if known."""
        rows = self._read(
            f"SELECT {self._FOLDER_COLUMNS} FROM folders "
            "WHERE account = ? AND special_use = ? AND hidden = 0 ORDER BY id LIMIT 1",
            (account, str(use)),
        )
        return self._folder(rows[0]) if rows else None

    def selectable_folders(self, account: str) -> list[Folder]:
        """The folders of ``account`` that hold messages (no \\Noselect), INBOX first."""
        rows = self._read(
            f"SELECT {self._FOLDER_COLUMNS} FROM folders "
            "WHERE account = ? AND selectable = 1 AND hidden = 0 "
            "ORDER BY upper(name) = 'INBOX' DESC, name",
            (account,),
        )
        return [self._folder(r) for r in rows]

    def accounts(self) -> list[str]:
        """Names of the accounts that have anything in the store."""
        return [r[0] for r in self._read("SELECT DISTINCT account FROM folders ORDER BY 1")]

    def add_folder(
        self,
        account: str,
        name: str,
        delimiter: str | None = None,
        special_use: SpecialUse | None = None,
    ) -> Folder:
        """Add a folder (a local create before the server is told); returns it."""
        with self._write() as touched:
            self._db.execute(
                "INSERT INTO folders (account, name, delimiter, special_use) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account, name) DO UPDATE SET hidden = 0",
                (account, name, delimiter, str(special_use) if special_use else None),
            )
            touched.folder_list = True
        folder = self.folder_by_name(account, name)
        assert folder is not None
        return folder

    def rename_folder(self, folder_id: int, new_name: str) -> None:
        """Rename a folder and the folders below it (their names start with its name)."""
        rows = self._read("SELECT account, name, delimiter FROM folders WHERE id = ?", (folder_id,))
        if not rows:
            return
        account, old_name, delimiter = rows[0]
        with self._write() as touched:
            self._db.execute("UPDATE folders SET name = ? WHERE id = ?", (new_name, folder_id))
            if delimiter:
                prefix = old_name + delimiter
                self._db.execute(
                    "UPDATE folders SET name = ? || substr(name, ?) "
                    "WHERE account = ? AND substr(name, 1, ?) = ?",
                    (new_name + delimiter, len(prefix) + 1, account, len(prefix), prefix),
                )
            touched.folder_list = True

    def set_folder_subscribed(self, folder_id: int, subscribed: bool) -> None:
        """Mark a folder subscribed or not (before the server is told, or as it says)."""
        with self._write() as touched:
            self._db.execute(
                "UPDATE folders SET subscribed = ? WHERE id = ?", (int(subscribed), folder_id)
            )
            touched.folder_list = True

    def set_folder_hidden(self, folder_id: int, hidden: bool) -> None:
        """Hide a folder while its deletion waits for the server (or show it again)."""
        with self._write() as touched:
            self._db.execute("UPDATE folders SET hidden = ? WHERE id = ?", (int(hidden), folder_id))
            touched.folder_list = True

    def delete_folder(self, folder_id: int) -> None:
        """Remove a folder with its messages and bodies."""
        with self._write() as touched:
            self._db.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
            touched.folder_list = True

    def _folder_changes_waiting(self, account: str) -> list[PendingFolderChange]:
        """The account's folder changes not yet sent, inside the caller's transaction."""
        return pending.folder_changes(self._db, account)

    def folder_changes_mark(self) -> FolderChangesMark:
        """The folder changes given out and waiting now: taken before a folder list is
        asked of the server, it lets sync_folder_list tell whether the list is outdated."""
        with self._reading() as db:
            return pending.folder_changes_mark(db)

    def sync_folder_list(
        self,
        account: str,
        remote: Sequence[RemoteFolder],
        listed_after: FolderChangesMark | None = None,
    ) -> list[Folder] | None:
        """Make the account's folders those the server listed; returns the folders now kept.

        Folders the server no longer lists are removed with their messages. The folder
        changes still waiting are laid over the list. ``listed_after``: the mark taken
        before the list was asked for. A folder change sent since (by another connection:
        the window's interactive lane, the CLI) may be missing from the list while it no
        longer waits, so the list would undo it (a renamed folder would vanish and come
        back): then nothing is written and None is returned; ask for the list again.
        Any account's change counts, which at worst costs one more list.
        """
        with self._write() as touched:
            if listed_after is not None and pending.folder_changes_done_since(
                self._db, listed_after
            ):
                return None
            before = {
                r[0]: tuple(r[1:])
                for r in self._db.execute(
                    "SELECT name, delimiter, special_use, subscribed, selectable, hidden "
                    "FROM folders WHERE account = ?",
                    (account,),
                )
            }
            wanted = {}
            for f in remote:
                wanted[f.name] = (
                    f.delimiter,
                    str(f.special_use) if f.special_use else None,
                    int(f.subscribed),
                    int(f.selectable),
                    0,
                )
            # Folder changes made here that the server has not seen yet: the server still
            # lists the old names and not the new ones; neither is taken from it.
            waiting = self._folder_changes_waiting(account)
            delimiters = {v[0] for v in before.values() if v[0]}

            def below(name: str, top: str) -> bool:
                return name == top or any(name.startswith(top + d) for d in delimiters)

            # A subscription changed here stays as it was made until the server has it.
            subscriptions = (FolderChangeKind.SUBSCRIBE, FolderChangeKind.UNSUBSCRIBE)
            for change in waiting:
                if change.kind in subscriptions and change.old_name in wanted:
                    subscribed = int(change.kind is FolderChangeKind.SUBSCRIBE)
                    values = wanted[change.old_name]
                    wanted[change.old_name] = (*values[:2], subscribed, *values[3:])
            moves = [c for c in waiting if c.kind not in subscriptions]
            local_only = [
                c.new_name for c in moves if c.kind is not FolderChangeKind.DELETE and c.new_name
            ]
            remote_stale = [
                c.old_name for c in moves if c.kind is not FolderChangeKind.CREATE and c.old_name
            ]
            for name in [n for n in wanted if any(below(n, old) for old in remote_stale)]:
                del wanted[name]
            gone = [
                name
                for name in before
                if name not in wanted
                and not any(below(name, new) for new in local_only)
                and not any(below(name, old) for old in remote_stale)
            ]
            for chunk in chunks(gone):
                self._db.execute(
                    f"DELETE FROM folders WHERE account = ? AND name IN ({marks(len(chunk))})",
                    (account, *chunk),
                )
            changed = [
                (account, name, *values)
                for name, values in wanted.items()
                if before.get(name) != values
            ]
            self._db.executemany(
                "INSERT INTO folders (account, name, delimiter, special_use, subscribed, "
                "selectable, hidden) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account, name) DO UPDATE SET delimiter = excluded.delimiter, "
                "special_use = excluded.special_use, subscribed = excluded.subscribed, "
                "selectable = excluded.selectable, hidden = 0",
                changed,
            )
            touched.folder_list = bool(gone or changed)
        return self.folders(account)

    def add_keywords(self, account: str, keywords: Iterable[str]) -> None:
        """Remember keywords the account's server allows or uses (from SELECT's FLAGS)."""
        found = keywords_of(keywords)
        if found:
            with self._write():
                self._remember_keywords(account, found)

    def _remember_keywords(self, account: str, keywords: Iterable[str]) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO keywords (account, keyword) VALUES (?, ?)",
            ((account, k) for k in sorted(keywords)),
        )

    def _remember_message_keywords(
        self, folder_id: int, flag_sets: Iterable[frozenset[str]]
    ) -> None:
        """In the caller's transaction: the keywords on stored messages of ``folder_id``."""
        found = keywords_of(frozenset().union(*flag_sets))
        if found:
            row = self._db.execute("SELECT account FROM folders WHERE id = ?", (folder_id,))
            account = row.fetchone()
            if account is not None:
                self._remember_keywords(account[0], found)

    def keywords(self, account: str) -> list[str]:
        """The keywords known of ``account``'s folders and messages, sorted."""
        rows = self._read(
            "SELECT keyword FROM keywords WHERE account = ? ORDER BY keyword COLLATE NOCASE",
            (account,),
        )
        return [r[0] for r in rows]

    def rename_account(self, old: str, new: str) -> None:
        """Let the folders, messages, conversations and waiting changes of account ``old``
        belong to ``new`` (an account renamed), in one transaction. Row ids stay."""
        with self._write() as touched:
            # thread_nodes follow the folders by trigger (threads.SCHEMA).
            self._db.execute("UPDATE folders SET account = ? WHERE account = ?", (new, old))
            for table in (
                "pending_changes",
                "pending_folder_changes",
                "keywords",
                "pending_transfers",
            ):
                self._db.execute(f"UPDATE {table} SET account = ? WHERE account = ?", (new, old))
            touched.folder_list = True

    def forget_account(self, account: str) -> None:
        """Drop everything stored for ``account`` (when the account is removed)."""
        with self._write() as touched:
            self._db.execute("DELETE FROM folders WHERE account = ?", (account,))
            self._db.execute("DELETE FROM keywords WHERE account = ?", (account,))
            touched.folder_list = True

    # -- messages: reading ------------------------------------------------------------------

    def message_ids(
        self,
        folder_ids: int | Sequence[int],
        sort: SortKey = SortKey.DATE,
        descending: bool = True,
        quick_filter: str = "",
        limit: int | None = None,
    ) -> list[int]:
        """Row ids of the visible messages of one or several folders, in the given order.

        ``quick_filter`` keeps the messages matching it as a query in the search language
        (mailclient.core.query), bodies included; an unfinished term searches as words.
        ``limit``: only the first this many.
        """
        ids = [folder_ids] if isinstance(folder_ids, int) else list(folder_ids)
        if not ids:
            return []
        sql, params = _ordered_ids(ids, sort, descending)
        if quick_filter.strip():
            hits = self.matching(ids, quick_filter)
            found = [r[0] for r in self._read(sql, params) if r[0] in hits]
            return found if limit is None else found[:limit]
        return list(self.message_id_array(ids, sort, descending, limit))

    def message_id_array(
        self,
        folder_ids: Sequence[int],
        sort: SortKey = SortKey.DATE,
        descending: bool = True,
        limit: int | None = None,
    ) -> array[int]:
        """message_ids() without a filter, as an array: 8 bytes an id, where a list of
        Python ints takes 36 (100,000 ids: 0.8 MB instead of 3.6; a million: 8 instead of
        36). Read row by row, not fetchall(): no list of row tuples at all."""
        if not folder_ids:
            return array("q")
        sql, params = _ordered_ids(folder_ids, sort, descending)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        try:
            return array("q", (r[0] for r in self._db.execute(sql, params)))
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def matching(self, folder_ids: Sequence[int], quick_filter: str) -> set[int]:
        """Ids of the messages matching ``quick_filter`` (as message_ids() filters), in no
        order: every match in ``folder_ids`` and perhaps others. For filtering a list of
        those folders' messages already read, without reading it again."""
        try:
            return fts.matching(self._db, parse_as_typed(quick_filter)[0], folder_ids)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def summaries(self, ids: Sequence[int]) -> list[MessageSummary]:
        """The summaries of messages ``ids``, in that order; ids no longer stored are left out."""
        found: dict[int, MessageSummary] = {}
        for chunk in chunks(ids):
            rows = self._read(
                f"SELECT {_SUMMARY_COLUMNS} FROM messages m JOIN folders f ON f.id = m.folder_id "
                f"WHERE m.id IN ({marks(len(chunk))})",
                chunk,
            )
            for r in rows:
                found[r[0]] = MessageSummary(
                    id=r[0],
                    account=r[1],
                    folder_id=r[2],
                    uid=r[3],
                    flags=frozenset(r[4].split()),
                    size=r[5],
                    date=_timestamp(r[6]),
                    sender=r[7],
                    to=r[8],
                    cc=r[9],
                    subject=r[10],
                    message_id=r[11],
                    in_reply_to=r[12],
                    references=r[13],
                    has_attachments=bool(r[14]),
                )
        return [found[i] for i in ids if i in found]

    def summary(self, message_id: int) -> MessageSummary | None:
        found = self.summaries([message_id])
        return found[0] if found else None

    def ids_with_message_id(self, account: str, message_id: str) -> list[int]:
        """Stored messages of ``account`` with this Message-ID (a reply's original, say)."""
        rows = self._read(
            "SELECT m.id FROM messages m JOIN folders f ON f.id = m.folder_id "
            "WHERE f.account = ? AND m.message_id = ? AND m.hidden = 0",
            (account, message_id),
        )
        return [r[0] for r in rows]

    # -- arrivals (for new-mail notifications) ---------------------------------------------

    def last_message_id(self) -> int:
        """The highest message id given so far: every message stored later has a higher one."""
        rows = self._read("SELECT seq FROM sqlite_sequence WHERE name = 'messages'")
        return int(rows[0][0]) if rows else 0

    def inbox_states(self) -> dict[int, InboxState]:
        """The sync state of every account's inbox, by folder id."""
        rows = self._read(
            "SELECT id, account, uidvalidity, uidnext FROM folders "
            "WHERE hidden = 0 AND (upper(name) = 'INBOX' OR special_use = ?)",
            (SpecialUse.INBOX.value,),
        )
        return {r[0]: InboxState(r[0], r[1], r[2], r[3] is not None) for r in rows}

    def unseen_arrivals(
        self, folder_ids: Sequence[int], after_id: int, up_to_id: int, limit: int
    ) -> tuple[int, list[MessageSummary]]:
        """Unread, visible messages of ``folder_ids`` stored with ids in (after_id, up_to_id]:
        how many, and the newest ``limit`` of them (newest first)."""
        if not folder_ids or up_to_id <= after_id:
            return 0, []
        where = (
            f"folder_id IN ({marks(len(folder_ids))}) AND id > ? AND id <= ? "
            "AND seen = 0 AND hidden = 0"
        )
        params = (*folder_ids, after_id, up_to_id)
        count = int(self._read(f"SELECT count(*) FROM messages WHERE {where}", params)[0][0])
        if not count:
            return 0, []
        rows = self._read(
            f"SELECT id FROM messages WHERE {where} ORDER BY date DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return count, self.summaries([r[0] for r in rows])

    def unseen_ids(self, folder_ids: Sequence[int]) -> list[int]:
        """The visible unread messages of ``folder_ids`` (Mark Folder Read)."""
        if not folder_ids:
            return []
        rows = self._read(
            f"SELECT id FROM messages WHERE folder_id IN ({marks(len(folder_ids))}) "
            "AND seen = 0 AND hidden = 0",
            folder_ids,
        )
        return [r[0] for r in rows]

    def locations(self, ids: Sequence[int]) -> list[MessageLocation]:
        """Folder and UID of each stored message in ``ids`` (for telling the server)."""
        result = []
        for chunk in chunks(ids):
            rows = self._read(
                f"SELECT id, folder_id, uid FROM messages WHERE id IN ({marks(len(chunk))})",
                chunk,
            )
            result += [MessageLocation(*r) for r in rows]
        return result

    def body(self, message_id: int) -> bytes | None:
        """The full raw message, if it was fetched before."""
        rows = self._read("SELECT raw FROM bodies WHERE message_id = ?", (message_id,))
        return bytes(rows[0][0]) if rows else None

    def save_body(self, message_id: int, raw: bytes, has_attachments: bool | None = None) -> None:
        """Keep the full raw message; ``has_attachments`` corrects the header-based guess
        (and the structure is wanted no more)."""
        with self._write() as touched:
            self._db.execute(
                "INSERT OR REPLACE INTO bodies (message_id, raw) VALUES (?, ?)", (message_id, raw)
            )
            if has_attachments is not None:
                row = self._db.execute(
                    "UPDATE messages SET has_attachments = ? WHERE id = ? "
                    "AND has_attachments != ? RETURNING folder_id",
                    (int(has_attachments), message_id, int(has_attachments)),
                ).fetchone()
                if row:
                    touched.folders.add(row[0])
                self._db.execute(
                    "UPDATE messages SET structure_wanted = 0 "
                    "WHERE id = ? AND structure_wanted = 1",
                    (message_id,),
                )

    # -- search (the SQL lives in mailclient.store.search) ----------------------------------

    def search(
        self,
        query: Query,
        folder_ids: Sequence[int] | None = None,
        limit: int | None = None,
        server_hits: Mapping[int, Sequence[int]] | None = None,
    ) -> list[int]:
        """Ids of the visible messages matching ``query``, newest first (see store.search)."""
        try:
            return fts.find(self._db, query, folder_ids, limit, server_hits)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def folders_not_all_local(self, folder_ids: Sequence[int]) -> list[int]:
        """Those of ``folder_ids`` with a message whose body is not stored here."""
        try:
            return fts.folders_not_all_local(self._db, folder_ids)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def queued_bodies(self) -> int:
        """How many stored bodies wait for index_queued_bodies()."""
        return int(self._read("SELECT count(*) FROM body_index_queue")[0][0])

    def index_queued_bodies(
        self, to_text: Callable[[bytes], fts.BodyText], limit: int = 200
    ) -> int:
        """Index up to ``limit`` stored bodies, newest first; returns how many were done.

        ``to_text`` turns a raw message into its index text (mailclient.mime.search_text).
        """
        try:
            queued = fts.take_queued(self._db, limit)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error
        texts = [(message_id, to_text(raw)) for message_id, raw in queued]
        with self._write():
            fts.store_texts(self._db, texts)
        return len(texts)

    def bodies_wanted(
        self, account: str, since: int | None, max_size: int, limit: int
    ) -> list[MessageLocation]:
        """Messages of ``account`` dated ``since`` or later, at most ``max_size`` bytes,
        whose bodies are not stored: newest first, at most ``limit``."""
        try:
            rows = fts.bodies_wanted(self._db, account, since, max_size, limit)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error
        return [MessageLocation(*r) for r in rows]

    def bodies_waiting(self, account: str, since: int | None, max_size: int) -> int:
        """How many messages bodies_wanted() would give without a limit."""
        try:
            return fts.bodies_waiting(self._db, account, since, max_size)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def threaded(
        self, folder_ids: Sequence[int], first_threads: int | None = None
    ) -> threads.ThreadedList:
        """The visible messages of ``folder_ids`` grouped in threads (see store.threads);
        ``first_threads``: only the newest this many threads. Only reads: messages not
        linked yet (see link_unthreaded) are listed alone."""
        try:
            return threads.threaded(self._db, folder_ids, first_threads)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def has_unthreaded(self) -> bool:
        """Whether messages wait for link_unthreaded() (a quick look-up)."""
        try:
            return threads.has_unthreaded(self._db)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def link_unthreaded(self) -> int:
        """Link into threads the messages stored before threads existed (after an upgrade);
        returns how many. Once, but then a write over every message: a second at 100,000,
        never on the GUI thread's connection. Not during a first fill: that is threaded
        when it ends (see _filling)."""
        if not self.has_unthreaded() or self._filling():
            return 0
        with self._write():
            return threads.thread_new_messages(self._db)

    def conversation(self, message_id: int) -> list[int]:
        """The messages of ``message_id``'s thread over the folders of its account (your
        replies in Sent too; Junk and Trash only if it is there), oldest first, one of
        each Message-ID (see store.threads.conversation)."""
        try:
            return threads.conversation(self._db, message_id)
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    # -- local changes waiting for the server (store/pending.py) ----------------------------

    def record_change(
        self,
        kind: ChangeKind,
        ids: Sequence[int],
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        target_folder_id: int | None = None,
    ) -> list[PendingChange]:
        """Make a change here at once and keep it for the server, in one transaction.

        FLAGS adds and removes flags; MOVE and EXPUNGE hide the messages until the server
        confirmed (a MOVE leaves out messages already in the target). Messages hidden by an
        earlier change are left out. One change per folder, returned in sending order.
        """
        with self._write() as touched:
            made, folders = pending.record(
                self._db, kind, ids, frozenset(add), frozenset(remove), target_folder_id
            )
            touched.folders |= folders
        return made

    def record_folder_change(
        self, kind: FolderChangeKind, folder_id: int, old_name: str, new_name: str = ""
    ) -> PendingFolderChange:
        """Keep a folder change (already made in the folders table) for the server."""
        folder = self.folder(folder_id)
        if folder is None:
            raise ValueError(f"no folder {folder_id}")
        with self._write():
            return pending.record_folder(
                self._db, folder.account, kind, folder_id, old_name, new_name
            )

    # -- copies and moves to another account -----------------------------------------------

    def record_transfer(self, ids: Sequence[int], target_folder_id: int, copy: bool) -> int:
        """Copy or move messages to a folder of another account: kept until both servers
        have done their part; a moved message is hidden here at once. Returns how many."""
        target = self.folder(target_folder_id)
        if target is None:
            raise StoreError(f"Folder {target_folder_id} is not in the mail store.")
        made = 0
        with self._write() as touched:
            for chunk in chunks(ids):
                rows = self._db.execute(
                    "SELECT m.id, m.folder_id, m.uid, f.uidvalidity, f.account, m.message_id "
                    "FROM messages m JOIN folders f ON f.id = m.folder_id "
                    f"WHERE m.id IN ({marks(len(chunk))}) AND m.hidden = 0",
                    chunk,
                ).fetchall()
                for id_, folder_id, uid, uidvalidity, account, header_id in rows:
                    if account == target.account:
                        raise ValueError("a transfer goes to another account")
                    self._db.execute(
                        "INSERT INTO pending_transfers (account, message_id, folder_id, uid, "
                        "uidvalidity, target_folder_id, copy, header_id) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            account,
                            id_,
                            folder_id,
                            uid,
                            uidvalidity,
                            target_folder_id,
                            copy,
                            header_id,
                        ),
                    )
                    if not copy:
                        self._db.execute("UPDATE messages SET hidden = 1 WHERE id = ?", (id_,))
                        touched.folders.add(folder_id)
                    made += 1
        return made

    def pending_transfers(self, account: str | None = None) -> list[PendingTransfer]:
        """The copies and moves to other accounts waiting (from ``account``), oldest first."""
        where, params = ("WHERE t.account = ?", (account,)) if account is not None else ("", ())
        with self._reading() as db:
            return _transfers(db, where, params)

    def claim_transfer(self, transfer_id: int, now: float | None = None) -> PendingTransfer | None:
        """Take a transfer to send it: as it stands now (another sender may have carried it
        further since it was listed); None when another sender holds it or it is done.

        The claim lasts CLAIM_SECONDS; hold it with holding_transfer() while sending, end it
        with finish_transfer(), revert_transfer() or release_transfer().
        """
        now = time.time() if now is None else now
        with self._write():
            claimed = self._db.execute(
                "UPDATE pending_transfers SET claimed_until = ?, claimed_by = ? WHERE id = ? "
                "AND (claimed_until IS NULL OR claimed_until < ?)",
                (now + pending.CLAIM_SECONDS, self._sender, transfer_id, now),
            ).rowcount
            found = _transfers(self._db, "WHERE t.id = ?", (transfer_id,)) if claimed else []
        return found[0] if found else None

    def holding_transfer(self, transfer_id: int) -> AbstractContextManager[None]:
        """Keep this connection's claim on ``transfer_id`` for as long as the ``with`` runs
        (an APPEND of 25 MB on a slow line outlasts CLAIM_SECONDS): see store/claims.py."""
        sender = self._sender

        def renew(db: sqlite3.Connection, now: float) -> bool:
            return bool(
                db.execute(
                    "UPDATE pending_transfers SET claimed_until = ? "
                    "WHERE id = ? AND claimed_by = ?",
                    (now + pending.CLAIM_SECONDS, transfer_id, sender),
                ).rowcount
            )

        return claims.renewing(self._path, renew, f"transfer {transfer_id}")

    def release_transfer(self, transfer_id: int) -> None:
        """Give a transfer claimed here back: it could not be sent now, it waits."""
        with self._write():
            self._db.execute(
                "UPDATE pending_transfers SET claimed_until = NULL, claimed_by = NULL "
                "WHERE id = ? AND claimed_by = ?",
                (transfer_id, self._sender),
            )

    def set_transfer_state(self, transfer_id: int, state: TransferState) -> None:
        """Record how far a transfer got (committed before the next step starts)."""
        with self._write():
            self._db.execute(
                "UPDATE pending_transfers SET state = ? WHERE id = ?", (str(state), transfer_id)
            )

    def finish_transfer(self, transfer: PendingTransfer) -> None:
        """Both servers did their part: forget it, and a moved message's source row."""
        with self._write() as touched:
            self._db.execute("DELETE FROM pending_transfers WHERE id = ?", (transfer.id,))
            if not transfer.copy:
                self._db.execute("DELETE FROM messages WHERE id = ?", (transfer.message_id,))
                touched.folders.add(transfer.folder_id)

    def revert_transfer(self, transfer: PendingTransfer) -> None:
        """It cannot be done (the target folder is gone, say): show the message again."""
        with self._write() as touched:
            self._db.execute("DELETE FROM pending_transfers WHERE id = ?", (transfer.id,))
            if not transfer.copy:
                self._db.execute(
                    "UPDATE messages SET hidden = 0 WHERE id = ?", (transfer.message_id,)
                )
                touched.folders.add(transfer.folder_id)

    def pending_folder_changes(self, account: str | None = None) -> list[PendingFolderChange]:
        """The folder changes waiting for the server (of one account, or all), oldest first."""
        with self._reading() as db:
            return pending.folder_changes(db, account)

    def claim_folder_change(
        self, account: str, now: float | None = None
    ) -> PendingFolderChange | None:
        """The oldest waiting folder change of ``account``, now held by the caller.

        The caller ends the claim with finish_folder_change() or release_folder_change();
        a caller that died lets go after CLAIM_SECONDS. None when none waits, or when
        another sender (a thread or process) holds one: they go to the server one at a
        time, in the order made, and never twice.
        """
        with self._write():
            return pending.claim_folder(self._db, account, time.time() if now is None else now)

    def release_folder_change(self, change_id: int) -> None:
        """Give a claimed folder change back untouched: it could not be sent now, it waits."""
        with self._write():
            pending.release_folder(self._db, change_id)

    def finish_folder_change(self, change_id: int) -> None:
        """The server carried the folder change out (or it was undone here): forget it."""
        with self._write():
            pending.forget_folder_change(self._db, change_id)

    def pending_changes(self, account: str | None = None) -> list[PendingChange]:
        """The changes waiting for the server (of one account, or all), oldest first."""
        with self._reading() as db:
            return pending.changes(db, account)

    def has_pending(self, account: str, folder_id: int | None = None) -> bool:
        """Whether any change of ``account`` (in ``folder_id``) waits for the server."""
        with self._reading() as db:
            return pending.waiting(db, account, folder_id)

    def pending_moves_holding(
        self, ids: Sequence[int], now: float | None = None
    ) -> dict[int, bool]:
        """Waiting moves (and deletes to the Trash) of any of ``ids``: change id -> whether a
        sender holds it now (it is being sent, and may finish or fail any moment)."""
        with self._reading() as db:
            return pending.moves_holding(db, ids, time.time() if now is None else now)

    def claim_pending(
        self, account: str, folder_id: int | None = None, now: float | None = None
    ) -> PendingChange | None:
        """The oldest waiting change of ``account`` (in ``folder_id``), now held by the caller.

        The caller ends the claim with finish_pending(), revert_pending() or
        release_pending(); a caller that died lets go after CLAIM_SECONDS. None when no
        change waits, or when another sender (a thread or process) holds one of the
        account's changes: they go to the server one at a time, in the order made.
        """
        with self._write():
            return pending.claim(self._db, account, folder_id, time.time() if now is None else now)

    def release_pending(self, change_id: int) -> None:
        """Give a claimed change back untouched: it could not be sent now, it waits."""
        with self._write():
            pending.release(self._db, change_id)

    def finish_pending(self, change_id: int, new_uids: Mapping[int, int] | None = None) -> None:
        """The server carried the change out: forget it, and the messages that left.

        After a MOVE, ``new_uids`` (message id -> UID in the target, from COPYUID) moves
        those rows to the target, keeping their bodies; the others are removed and the
        target's next sync fetches them. Rows the target already holds (a sync was
        quicker) replace the moving ones.
        """
        with self._write() as touched:
            touched.folders |= pending.finish(self._db, change_id, new_uids)

    def revert_pending(self, change_id: int) -> None:
        """The server refused the change for good: undo it here and forget it.

        Hidden messages are shown again; flags are taken back as far as this change set
        them, so that a later change to the same messages still shows.
        """
        with self._write() as touched:
            touched.folders |= pending.revert(self._db, change_id)

    def remove_messages(self, ids: Sequence[int]) -> None:
        """Forget messages (with their bodies): the server expunged or moved them."""
        with self._write() as touched:
            for chunk in chunks(ids):
                rows = self._db.execute(
                    f"DELETE FROM messages WHERE id IN ({marks(len(chunk))}) RETURNING folder_id",
                    chunk,
                ).fetchall()
                touched.folders.update(r[0] for r in rows)

    # -- sync -------------------------------------------------------------------------------

    def sync_state(self, folder_id: int) -> FolderSyncState:
        # total counts visible messages (kept by triggers); add the few hidden ones rather
        # than count a big folder.
        rows = self._read(
            "SELECT uidvalidity, uidnext, highestmodseq, total + "
            "(SELECT count(*) FROM messages WHERE folder_id = folders.id AND hidden = 1) "
            "FROM folders WHERE id = ?",
            (folder_id,),
        )
        if not rows:
            raise StoreError(f"Folder {folder_id} is not in the mail store.")
        return FolderSyncState(folder_id, *rows[0])

    def reset_folder(
        self, folder_id: int, uidvalidity: int, highestmodseq: int | None = None
    ) -> bool:
        """Discard a folder's messages: a first sync, or UIDVALIDITY changed (RFC 3501 §2.3.1.1).

        ``highestmodseq`` is the server's value before any header is fetched: every message
        stored afterwards is at least that fresh, so an interrupted fill resumes with
        CHANGEDSINCE.

        A folder that has this UIDVALIDITY already is left as it is, and False returned:
        another sync of it (in another thread or process) reset it since the caller read
        its state, and the messages it stored since are this UIDVALIDITY's.
        """
        with self._write() as touched:
            current = self._db.execute(
                "SELECT uidvalidity FROM folders WHERE id = ?", (folder_id,)
            ).fetchone()
            if current is not None and current[0] == uidvalidity:
                return False
            self._db.execute("DELETE FROM messages WHERE folder_id = ?", (folder_id,))
            self._db.execute("DELETE FROM unfetched WHERE folder_id = ?", (folder_id,))
            self._db.execute(
                "UPDATE folders SET uidvalidity = ?, uidnext = NULL, highestmodseq = ? "
                "WHERE id = ?",
                (uidvalidity, highestmodseq, folder_id),
            )
            touched.folders.add(folder_id)
        return True

    def ids_of_uids(self, folder_id: int, uids: Sequence[int]) -> list[int]:
        """Row ids of the stored messages of ``folder_id`` with these UIDs."""
        found: list[int] = []
        for chunk in chunks(uids):
            sql = f"SELECT id FROM messages WHERE folder_id = ? AND uid IN ({marks(len(chunk))})"
            found += [r[0] for r in self._read(sql, (folder_id, *chunk))]
        return found

    def highest_uid(self, folder_id: int) -> tuple[int | None, int]:
        """The folder's UIDVALIDITY as stored, and the highest UID stored under it (0:
        none), read together."""
        [(uidvalidity, highest)] = self._read(
            "SELECT uidvalidity, (SELECT coalesce(max(uid), 0) FROM messages WHERE folder_id = ?) "
            "FROM folders WHERE id = ?",
            (folder_id, folder_id),
        ) or [(None, 0)]
        return uidvalidity, highest

    def stored_uids(self, folder_id: int, from_uid: int = 1, below: int | None = None) -> list[int]:
        """UIDs stored for the folder, at or above ``from_uid`` (and below ``below``),
        ascending."""
        rows = self._read(
            "SELECT uid FROM messages WHERE folder_id = ? AND uid >= ? AND uid < ? ORDER BY uid",
            (folder_id, from_uid, 2**63 - 1 if below is None else below),
        )
        return [r[0] for r in rows]

    def unfetched_uids(self, folder_id: int) -> list[int]:
        """UIDs the server would not return at the last sync, although they exist."""
        rows = self._read(
            "SELECT uid FROM unfetched WHERE folder_id = ? ORDER BY uid", (folder_id,)
        )
        return [r[0] for r in rows]

    def set_unfetched(self, folder_id: int, uids: Iterable[int]) -> None:
        """Record the UIDs the server would not return (replacing what was recorded)."""
        with self._write():
            self._db.execute("DELETE FROM unfetched WHERE folder_id = ?", (folder_id,))
            self._db.executemany(
                "INSERT OR IGNORE INTO unfetched (folder_id, uid) VALUES (?, ?)",
                ((folder_id, uid) for uid in uids),
            )

    def stored_flags(self, folder_id: int) -> dict[int, str]:
        """UID -> stored flag text (as flags_text() writes it) for the whole folder."""
        rows = self._read("SELECT uid, flags FROM messages WHERE folder_id = ?", (folder_id,))
        return dict(rows)

    def add_messages(self, folder_id: int, messages: Sequence[NewMessage]) -> int:
        """Store one fetched batch in one transaction; returns the change counter after it.

        Flag changes still waiting for the server are laid over the fetched flags.
        """
        with self._write() as touched:
            edits = pending.flag_edits(self._db, folder_id)
            if edits:
                messages = [
                    m._replace(flags=pending.edited(m.flags, edits[m.uid])) if m.uid in edits else m
                    for m in messages
                ]
            self._db.executemany(
                _UPSERT,
                (
                    (
                        folder_id,
                        m.uid,
                        flags_text(m.flags),
                        SEEN in m.flags,
                        m.size,
                        m.internal_date,
                        m.date if m.date is not None else m.internal_date,
                        m.sender,
                        m.recipients,
                        m.cc,
                        m.subject,
                        m.message_id,
                        m.in_reply_to,
                        m.references,
                        m.has_attachments,
                        m.structure_wanted,
                    )
                    for m in messages
                ),
            )
            if messages:
                touched.folders.add(folder_id)
                self._remember_message_keywords(folder_id, [m.flags for m in messages])
            if not self._filling():
                fts.index_new_messages(self._db)
                threads.thread_new_messages(self._db)
        return touched.seq

    def _filling(self) -> bool:
        """Whether a first fill is under way: defer_sort_indexes() dropped the sort indexes.

        Its messages are indexed for search and threaded when it ends
        (restore_sort_indexes()), not batch by batch: the list shows them at once, each on
        its own until then. Done batch by batch on the store writer's thread, the index's
        SQL function and the linking held the GIL against the parsing of the next batch.
        """
        present = self._db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
            f"({marks(len(_SORT_INDEXES))})",
            tuple(_SORT_INDEXES),
        ).fetchone()[0]
        return bool(present < len(_SORT_INDEXES))

    def defer_sort_indexes(self, incoming: int) -> bool:
        """Before storing ``incoming`` new messages: drop the sort indexes if that is cheaper
        than keeping them up (a first sync); restore_sort_indexes() builds them again.

        Returns whether they were dropped; until they are back, stored messages wait to be
        threaded (see _filling()). A crash in between loses no data: the next
        restore_sort_indexes() (every sync starts with one) builds them and threads those.
        """
        if incoming < DEFER_INDEXES_FROM:
            return False
        try:
            stored = self._db.execute("SELECT coalesce(sum(total), 0) FROM folders").fetchone()[0]
            if stored > incoming:
                return False
            self._db.execute("BEGIN IMMEDIATE")
            for name in _SORT_INDEXES:
                self._db.execute(f"DROP INDEX IF EXISTS {name}")
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise store_error(self._path, error) from error
        return True

    def restore_sort_indexes(self) -> None:
        """Build the sort indexes that defer_sort_indexes() dropped, and index and thread
        the messages stored meanwhile (a no-op if all indexes exist).

        In steps, each a transaction of its own: at a million messages the whole takes
        half a minute, and the other writers of the store (the window's, another sync's)
        would wait that long, near their busy timeout. While a sort index is missing
        nobody else indexes or threads new messages (_filling()), so the messages are
        indexed and threaded first, FILL_STEP at a time, then the indexes are built one
        a transaction; the last one also takes what was stored meanwhile. A crash between
        two steps loses nothing: the next call (every sync starts with one) goes on.
        """
        try:
            present = {
                row[0]
                for row in self._db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages'"
                )
            }
            missing = [name for name in _SORT_INDEXES if name not in present]
            if not missing:
                return
            (unthreaded_from,) = self._db.execute(
                "SELECT threaded_up_to FROM thread_state"
            ).fetchone()
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error
        began = time.perf_counter()
        while self._in_step(fts.index_new_messages):
            pass
        indexed = time.perf_counter()
        threaded = 0
        while step := self._in_step(threads.thread_new_messages):
            threaded += step
        linked = time.perf_counter()
        for name in missing:
            with self._write() as touched:
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {_SORT_INDEXES[name]}")
                if name == missing[-1]:
                    fts.index_new_messages(self._db)
                    threads.thread_new_messages(self._db)
                    # The folders whose messages got threads (those stored meanwhile
                    # too), for the views to read them again.
                    touched.folders.update(
                        row[0]
                        for row in self._db.execute(
                            "SELECT DISTINCT folder_id FROM messages WHERE id > ?",
                            (unthreaded_from,),
                        )
                    )
        log.debug(
            "headers indexed in %.2f s, %d messages threaded in %.2f s, "
            "sort indexes built in %.2f s",
            indexed - began,
            threaded,
            linked - indexed,
            time.perf_counter() - linked,
        )

    def _in_step(self, step: Callable[[sqlite3.Connection, int], int]) -> int:
        """``step(connection, FILL_STEP)`` in a transaction of its own; what it returns."""
        with self._write():
            return step(self._db, FILL_STEP)

    def structures_wanted(self, folder_id: int) -> list[int]:
        """UIDs whose structure is still to be asked for (see NewMessage), newest first."""
        rows = self._read(
            "SELECT uid FROM messages INDEXED BY messages_wanting_structure "
            "WHERE folder_id = ? AND structure_wanted = 1 ORDER BY uid DESC",
            (folder_id,),
        )
        return [r[0] for r in rows]

    def wants_structures(self, folder_id: int) -> bool:
        """Whether structures_wanted() would name any message."""
        return bool(
            self._read(
                "SELECT 1 FROM messages INDEXED BY messages_wanting_structure "
                "WHERE folder_id = ? AND structure_wanted = 1 LIMIT 1",
                (folder_id,),
            )
        )

    def set_attachments(self, folder_id: int, found: Mapping[int, bool | None]) -> int:
        """Correct has-attachments by UID from the message structure, and want it no more;
        None: asked for, but the server sent none (the guess stays). Returns the seq."""
        with self._write() as touched:
            cursor = self._db.executemany(
                "UPDATE messages SET has_attachments = ? "
                "WHERE folder_id = ? AND uid = ? AND has_attachments != ?",
                ((has, folder_id, uid, has) for uid, has in found.items() if has is not None),
            )
            if cursor.rowcount:
                touched.folders.add(folder_id)
            # Not a change anyone sees.
            self._db.executemany(
                "UPDATE messages SET structure_wanted = 0 "
                "WHERE folder_id = ? AND uid = ? AND structure_wanted = 1",
                ((folder_id, uid) for uid in found),
            )
        return touched.seq

    def apply_changes(
        self,
        folder_id: int,
        flags: Mapping[int, frozenset[str]] | None = None,
        vanished: Iterable[tuple[int, int]] = (),
        uidnext: int | None = None,
        highestmodseq: int | None = None,
    ) -> AppliedChanges:
        """Apply flag changes and expunges seen on the server, in one transaction.

        ``vanished`` holds inclusive UID ranges. With ``uidnext`` (and ``highestmodseq``)
        the sync also records that the folder is complete up to that state. Flag changes
        still waiting for the server are laid over ``flags``: the server has not heard of
        them yet, so what it reports must not undo them.
        """
        changed = removed = 0
        with self._write() as touched:
            if flags:
                edits = pending.flag_edits(self._db, folder_id)
                if edits:
                    flags = {
                        u: pending.edited(f, edits[u]) if u in edits else f
                        for u, f in flags.items()
                    }
                cursor = self._db.executemany(
                    "UPDATE messages SET flags = ?, seen = ? "
                    "WHERE folder_id = ? AND uid = ? AND flags != ?",
                    (
                        (text, SEEN in f, folder_id, uid, text)
                        for uid, f in flags.items()
                        for text in (flags_text(f),)
                    ),
                )
                changed = max(cursor.rowcount, 0)
                if changed:
                    self._remember_message_keywords(folder_id, flags.values())
            ranges = list(vanished)
            if ranges:
                cursor = self._db.executemany(
                    "DELETE FROM messages WHERE folder_id = ? AND uid BETWEEN ? AND ?",
                    ((folder_id, low, high) for low, high in ranges),
                )
                removed = max(cursor.rowcount, 0)
            if changed or removed:
                touched.folders.add(folder_id)
            if uidnext is not None:
                self._db.execute(
                    "UPDATE folders SET uidnext = ?, highestmodseq = ? WHERE id = ?",
                    (uidnext, highestmodseq, folder_id),
                )
        return AppliedChanges(changed, removed, touched.seq)
