"""The queue of changes made here that the server has not confirmed yet.

A user's change (mark read, move, delete; create, rename or delete a folder) shows in the
mail cache at once and waits in this queue, kept across restarts, until the server carried
it out (``finish``) or refused it for good (``revert``). Senders take changes one at a time
and in the order made (``claim``); a sync lays waiting flag changes over what the server
reports (``flag_edits``, ``edited``), so that it never undoes one the server has not heard
of yet.

Every function runs on the caller's connection inside the caller's transaction: MailStore
opens it, bumps its change counter for the folders a function says it touched, and turns
SQLite's errors into StoreError.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mailclient.core.models import SEEN
from mailclient.store.rows import chunks, flags_text, marks

# A sender holds a claimed change this long at most: one that died lets go after it. (A
# transfer's sender renews its claim while it works on it: store/claims.py.)
CLAIM_SECONDS = 120.0


class ChangeKind(StrEnum):
    """What a waiting local change asks of the server."""

    FLAGS = "flags"  # add and remove flags
    MOVE = "move"  # move to the target folder
    EXPUNGE = "expunge"  # delete for good


class FolderChangeKind(StrEnum):
    """What a waiting folder change asks of the server."""

    CREATE = "create"
    RENAME = "rename"
    DELETE = "delete"
    SUBSCRIBE = "subscribe"  # old_name: the folder's name
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class PendingFolderChange:
    """A folder created, renamed or deleted here that the server has not confirmed yet."""

    id: int
    account: str
    kind: FolderChangeKind
    folder_id: int
    old_name: str
    new_name: str


@dataclass(frozen=True)
class FolderChangesMark:
    """Where the folder changes stood when a folder list was asked of the server: the
    highest change number given out so far, and the changes then waiting."""

    last_id: int
    waiting: frozenset[int]


@dataclass(frozen=True)
class PendingMessage:
    """A message a waiting change touches: its UID, and its flags before the change."""

    id: int
    uid: int
    previous_flags: frozenset[str]


@dataclass(frozen=True)
class PendingChange:
    """A change made here that the server has not confirmed yet, on one folder."""

    id: int
    account: str
    kind: ChangeKind
    folder_id: int
    uidvalidity: int | None  # the folder's when the change was made
    target_folder_id: int | None  # where a MOVE goes; None once that folder is gone
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()
    messages: tuple[PendingMessage, ...] = ()  # those still where the change found them

    @property
    def uids(self) -> list[int]:
        return [m.uid for m in self.messages]


# Flags added and removed by one waiting change.
FlagEdit = tuple[frozenset[str], frozenset[str]]


def edited(flags: frozenset[str], edits: Iterable[FlagEdit]) -> frozenset[str]:
    """``flags`` after each (added, removed) pair in turn."""
    for add, remove in edits:
        flags = (flags | add) - remove
    return flags


def _where(account: str, folder_id: int | None) -> tuple[str, tuple[Any, ...]]:
    if folder_id is None:
        return "account = ?", (account,)
    return "account = ? AND folder_id = ?", (account, folder_id)


def _of_account(account: str | None) -> tuple[str, tuple[Any, ...]]:
    return ("WHERE account = ?", (account,)) if account is not None else ("", ())


# -- message changes ------------------------------------------------------------------------


def record(
    db: sqlite3.Connection,
    kind: ChangeKind,
    ids: Sequence[int],
    add: frozenset[str],
    remove: frozenset[str],
    target_folder_id: int | None,
) -> tuple[list[PendingChange], set[int]]:
    """Make a change in the messages table and queue it: the changes, one per folder in
    sending order, and the folders whose rows changed."""
    if (kind is ChangeKind.MOVE) != (target_folder_id is not None):
        raise ValueError("a target folder belongs to a move, and only to a move")
    made: list[PendingChange] = []
    touched: set[int] = set()
    by_folder: dict[int, list[tuple[int, int, str]]] = {}
    for chunk in chunks(ids):
        for id_, folder_id, uid, text in db.execute(
            f"SELECT id, folder_id, uid, flags FROM messages "
            f"WHERE id IN ({marks(len(chunk))}) AND hidden = 0",
            chunk,
        ):
            if folder_id != target_folder_id:
                by_folder.setdefault(folder_id, []).append((id_, uid, text))
    for folder_id, rows in sorted(by_folder.items()):
        account, uidvalidity = db.execute(
            "SELECT account, uidvalidity FROM folders WHERE id = ?", (folder_id,)
        ).fetchone()
        change_id: int = db.execute(
            "INSERT INTO pending_changes (account, kind, folder_id, uidvalidity, "
            "target_folder_id, add_flags, remove_flags) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                account,
                str(kind),
                folder_id,
                uidvalidity,
                target_folder_id,
                flags_text(add),
                flags_text(remove),
            ),
        ).fetchone()[0]
        db.executemany(
            "INSERT INTO pending_messages (change_id, message_id, uid, previous_flags) "
            "VALUES (?, ?, ?, ?)",
            ((change_id, id_, uid, text) for id_, uid, text in rows),
        )
        if kind is ChangeKind.FLAGS:
            updates = [
                (flags_text(new), SEEN in new, id_)
                for id_, _, text in rows
                if (new := (frozenset(text.split()) | add) - remove) != set(text.split())
            ]
            db.executemany("UPDATE messages SET flags = ?, seen = ? WHERE id = ?", updates)
            if updates:
                touched.add(folder_id)
        else:
            for chunk in chunks([r[0] for r in rows]):
                db.execute(
                    f"UPDATE messages SET hidden = 1 WHERE id IN ({marks(len(chunk))})", chunk
                )
            touched.add(folder_id)
        messages = tuple(PendingMessage(i, u, frozenset(t.split())) for i, u, t in rows)
        made.append(
            PendingChange(
                change_id,
                account,
                kind,
                folder_id,
                uidvalidity,
                target_folder_id,
                add,
                remove,
                messages,
            )
        )
    return made, touched


def load(db: sqlite3.Connection, change_id: int) -> PendingChange | None:
    """The waiting change ``change_id``, None when it is gone."""
    row = db.execute(
        "SELECT account, kind, folder_id, uidvalidity, target_folder_id, add_flags, "
        "remove_flags FROM pending_changes WHERE id = ?",
        (change_id,),
    ).fetchone()
    if row is None:
        return None
    account, kind, folder_id, uidvalidity, target, add, remove = row
    # Only the messages still where the change found them: a sync may have removed
    # some (expunged elsewhere), or renumbered the folder (its rows were rebuilt).
    messages = db.execute(
        "SELECT p.message_id, p.uid, p.previous_flags FROM pending_messages p "
        "JOIN messages m ON m.id = p.message_id AND m.folder_id = ? AND m.uid = p.uid "
        "WHERE p.change_id = ? ORDER BY p.uid",
        (folder_id, change_id),
    ).fetchall()
    return PendingChange(
        change_id,
        account,
        ChangeKind(kind),
        folder_id,
        uidvalidity,
        target,
        frozenset(add.split()),
        frozenset(remove.split()),
        tuple(PendingMessage(i, u, frozenset(t.split())) for i, u, t in messages),
    )


def changes(db: sqlite3.Connection, account: str | None) -> list[PendingChange]:
    """The changes waiting (of one account, or all), oldest first."""
    where, params = _of_account(account)
    rows = db.execute(f"SELECT id FROM pending_changes {where} ORDER BY id", params)
    return [c for (id_,) in rows.fetchall() if (c := load(db, id_)) is not None]


def waiting(db: sqlite3.Connection, account: str, folder_id: int | None) -> bool:
    """Whether any change of ``account`` (in ``folder_id``) waits."""
    where, params = _where(account, folder_id)
    return bool(
        db.execute(f"SELECT 1 FROM pending_changes WHERE {where} LIMIT 1", params).fetchone()
    )


def moves_holding(db: sqlite3.Connection, ids: Sequence[int], now: float) -> dict[int, bool]:
    """Waiting moves of any of ``ids``: change id -> whether a sender holds it at ``now``."""
    found: dict[int, bool] = {}
    for chunk in chunks(ids):
        for change_id, claimed_until in db.execute(
            "SELECT DISTINCT c.id, c.claimed_until FROM pending_changes c "
            "JOIN pending_messages p ON p.change_id = c.id "
            f"WHERE c.kind = 'move' AND p.message_id IN ({marks(len(chunk))})",
            chunk,
        ):
            found[change_id] = claimed_until is not None and claimed_until > now
    return found


def claim(
    db: sqlite3.Connection, account: str, folder_id: int | None, now: float
) -> PendingChange | None:
    """The oldest waiting change of ``account`` (in ``folder_id``), held until ``now`` +
    CLAIM_SECONDS; None when none waits or another sender holds one of the account's."""
    busy = db.execute(
        "SELECT 1 FROM pending_changes WHERE account = ? AND claimed_until > ? LIMIT 1",
        (account, now),
    ).fetchone()
    if busy:
        return None
    where, params = _where(account, folder_id)
    row = db.execute(
        f"SELECT id FROM pending_changes WHERE {where} ORDER BY id LIMIT 1", params
    ).fetchone()
    if row is None:
        return None
    db.execute(
        "UPDATE pending_changes SET claimed_until = ? WHERE id = ?",
        (now + CLAIM_SECONDS, row[0]),
    )
    return load(db, row[0])


def release(db: sqlite3.Connection, change_id: int) -> None:
    """Give a claimed change back untouched."""
    db.execute("UPDATE pending_changes SET claimed_until = NULL WHERE id = ?", (change_id,))


def finish(db: sqlite3.Connection, change_id: int, new_uids: Mapping[int, int] | None) -> set[int]:
    """The server carried the change out: forget it and the messages that left (or move
    them to the target, by ``new_uids``); the folders whose rows changed."""
    touched: set[int] = set()
    change = load(db, change_id)
    if change is None:
        return touched
    if change.kind is not ChangeKind.FLAGS:
        touched.add(change.folder_id)
        target = change.target_folder_id
        moved = dict(new_uids or {}) if target is not None else {}
        gone = []
        for message in change.messages:
            uid = moved.get(message.id)
            if (
                uid is None
                or db.execute(
                    "SELECT 1 FROM messages WHERE folder_id = ? AND uid = ?", (target, uid)
                ).fetchone()
            ):
                gone.append(message.id)
                continue
            db.execute(
                "UPDATE messages SET folder_id = ?, uid = ?, hidden = 0 WHERE id = ?",
                (target, uid, message.id),
            )
        if target is not None and len(gone) < len(change.messages):
            touched.add(target)
        for chunk in chunks(gone):
            db.execute(f"DELETE FROM messages WHERE id IN ({marks(len(chunk))})", chunk)
    db.execute("DELETE FROM pending_changes WHERE id = ?", (change_id,))
    return touched


def revert(db: sqlite3.Connection, change_id: int) -> set[int]:
    """The server refused the change for good: undo it and forget it; the folders whose
    rows changed. Flags are taken back as far as this change set them."""
    touched: set[int] = set()
    change = load(db, change_id)
    if change is None:
        return touched
    ids = [m.id for m in change.messages]
    if change.kind is ChangeKind.FLAGS:
        later = flag_edits(db, change.folder_id, after=change_id)
        updates = []
        for message in change.messages:
            row = db.execute("SELECT flags FROM messages WHERE id = ?", (message.id,)).fetchone()
            added = change.add - message.previous_flags
            removed = change.remove & message.previous_flags
            flags = (frozenset(row[0].split()) - added) | removed
            flags = edited(flags, later.get(message.uid, ()))
            updates.append((flags_text(flags), SEEN in flags, message.id))
        db.executemany("UPDATE messages SET flags = ?, seen = ? WHERE id = ?", updates)
    else:
        for chunk in chunks(ids):
            db.execute(f"UPDATE messages SET hidden = 0 WHERE id IN ({marks(len(chunk))})", chunk)
    if ids:
        touched.add(change.folder_id)
    db.execute("DELETE FROM pending_changes WHERE id = ?", (change_id,))
    return touched


def flag_edits(db: sqlite3.Connection, folder_id: int, after: int = 0) -> dict[int, list[FlagEdit]]:
    """UID -> (added, removed) flags of the folder's waiting flag changes, in order."""
    found: dict[int, list[FlagEdit]] = {}
    for uid, add, remove in db.execute(
        "SELECT p.uid, c.add_flags, c.remove_flags FROM pending_changes c "
        "JOIN pending_messages p ON p.change_id = c.id "
        "WHERE c.folder_id = ? AND c.kind = 'flags' AND c.id > ? ORDER BY c.id",
        (folder_id, after),
    ):
        found.setdefault(uid, []).append((frozenset(add.split()), frozenset(remove.split())))
    return found


# -- folder changes -------------------------------------------------------------------------


def record_folder(
    db: sqlite3.Connection,
    account: str,
    kind: FolderChangeKind,
    folder_id: int,
    old_name: str,
    new_name: str,
) -> PendingFolderChange:
    """Queue a folder change already made in the folders table."""
    change_id: int = db.execute(
        "INSERT INTO pending_folder_changes (account, kind, folder_id, old_name, "
        "new_name) VALUES (?, ?, ?, ?, ?) RETURNING id",
        (account, str(kind), folder_id, old_name, new_name),
    ).fetchone()[0]
    return PendingFolderChange(change_id, account, kind, folder_id, old_name, new_name)


def folder_changes(db: sqlite3.Connection, account: str | None) -> list[PendingFolderChange]:
    """The folder changes waiting (of one account, or all), oldest first."""
    where, params = _of_account(account)
    rows = db.execute(
        "SELECT id, account, kind, folder_id, old_name, new_name "
        f"FROM pending_folder_changes {where} ORDER BY id",
        params,
    ).fetchall()
    return [PendingFolderChange(i, a, FolderChangeKind(k), f, o, n) for i, a, k, f, o, n in rows]


def claim_folder(db: sqlite3.Connection, account: str, now: float) -> PendingFolderChange | None:
    """The oldest waiting folder change of ``account``, held until ``now`` + CLAIM_SECONDS;
    None when none waits or another sender holds one of the account's."""
    busy = db.execute(
        "SELECT 1 FROM pending_folder_changes WHERE account = ? AND claimed_until > ? LIMIT 1",
        (account, now),
    ).fetchone()
    if busy:
        return None
    row = db.execute(
        "SELECT id, account, kind, folder_id, old_name, new_name "
        "FROM pending_folder_changes WHERE account = ? ORDER BY id LIMIT 1",
        (account,),
    ).fetchone()
    if row is None:
        return None
    db.execute(
        "UPDATE pending_folder_changes SET claimed_until = ? WHERE id = ?",
        (now + CLAIM_SECONDS, row[0]),
    )
    i, a, k, f, o, n = row
    return PendingFolderChange(i, a, FolderChangeKind(k), f, o, n)


def release_folder(db: sqlite3.Connection, change_id: int) -> None:
    """Give a claimed folder change back untouched."""
    db.execute("UPDATE pending_folder_changes SET claimed_until = NULL WHERE id = ?", (change_id,))


def _last_folder_change_id(db: sqlite3.Connection) -> int:
    row = db.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'pending_folder_changes'"
    ).fetchone()
    return row[0] if row else 0


def folder_changes_mark(db: sqlite3.Connection) -> FolderChangesMark:
    """The folder changes given out and waiting now (of every account)."""
    last_id = _last_folder_change_id(db)
    waiting = db.execute("SELECT id FROM pending_folder_changes").fetchall()
    return FolderChangesMark(last_id, frozenset(r[0] for r in waiting))


def folder_changes_done_since(db: sqlite3.Connection, mark: FolderChangesMark) -> bool:
    """Whether a folder change was sent (or undone) after ``mark`` was taken: one that
    waited then and waits no more, or one given out since that waits no more."""
    waiting = {r[0] for r in db.execute("SELECT id FROM pending_folder_changes")}
    if mark.waiting - waiting:
        return True
    given_since = _last_folder_change_id(db) - mark.last_id
    return given_since > sum(1 for i in waiting if i > mark.last_id)


def forget_folder_change(db: sqlite3.Connection, change_id: int) -> None:
    """The server carried the folder change out (or it was undone here)."""
    db.execute("DELETE FROM pending_folder_changes WHERE id = ?", (change_id,))
