"""Opening the mail cache with a check, and starting a new one when it is damaged.

Every opening runs a cheap check: ``PRAGMA quick_check`` of the small tables (folders,
counters, the pending changes), the first and last row of the big ones (messages, bodies),
and that the lowest and highest folder the messages point to exist. It costs 1 to 2 ms warm
(under 20 ms from a cold disk) on a 100,000-message store, where a full quick_check reads
the whole file: about 0.12 to 0.25 s warm and 1.2 s cold for 150 MB. The full check runs when
asked (``thorough``: before the command line's sync), at most once a day; errors met in use
mark the file damaged too (db.store_error).

A damaged cache is set aside, never repaired in place: unsent messages first go to the
outbox file (store/outbox.py, for profiles that still kept them in the cache), changes the
servers have not confirmed yet (of messages and folders, copies and moves to other accounts)
are written to a JSON file, then the file moves into a rescue folder (store/rescue.py) and
a new, empty cache is filled again from the servers. A process that keeps the store open
(the window, after hold_open()) never moves it away under its own feet: there, damage found
later is reported, and set aside at the next start.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailclient.store import rescue
from mailclient.store.db import (
    StoreDamaged,
    connect,
    damage_marker,
    damaged_text,
    mark_damaged,
    store_error,
)

log = logging.getLogger(__name__)

# Checked in full on every opening: small, and what the rest hangs on.
SMALL_TABLES = ("folders", "counters", "pending_changes", "pending_messages")
# Too big to read at every opening: their b-tree is walked to both ends only.
BIG_TABLES = ("messages", "bodies")
# How often a thorough opening checks the whole file.
THOROUGH_INTERVAL_SECONDS = 24 * 3600.0
PENDING_FILE = "pending-changes.json"

# False once this process keeps a connection to the store open for its lifetime.
_may_set_aside = True


def hold_open() -> None:
    """This process keeps the store open from now on (the window): a damaged store found by
    a later opening is marked and reported (StoreDamaged), not set aside."""
    global _may_set_aside
    _may_set_aside = False


@dataclass(frozen=True)
class StoreRescue:
    """A damaged mail cache was set aside into ``folder`` and a new one started."""

    folder: Path
    # Changes not yet on the server (of messages and folders, copies and moves to other
    # accounts), saved in ``folder``/PENDING_FILE.
    changes: int
    unreadable_changes: bool  # the list of changes could not be read (some may be missing)

    def message(self) -> str:
        text = (
            f"The mail store was damaged. It was moved to {self.folder} and a new one was "
            "started: mail is fetched again from the server at the next sync. Unsent "
            "messages are kept apart and were not affected."
        )
        if self.changes:
            text += (
                f" {self.changes} change{'' if self.changes == 1 else 's'} made here that "
                "the server had not confirmed yet (read marks, flags, moves, deletions, "
                "folders created, renamed or deleted, copies and moves to other accounts) "
                f"{'was' if self.changes == 1 else 'were'} saved in "
                f"{self.folder / PENDING_FILE} and not made again."
            )
        if self.unreadable_changes:
            text += " Changes the server had not confirmed yet could not all be read."
        return text + f" Delete {self.folder} once you no longer need it."


def open_checked(
    path: Path, *, thorough: bool = False, clock: Callable[[], float] = time.time
) -> tuple[sqlite3.Connection, StoreRescue | None]:
    """Open the mail cache at ``path``, checked; a damaged one is set aside first.

    Returns the connection and what was set aside (None when all was well). Raises
    StoreError when the store cannot be used.
    """
    rescued: StoreRescue | None = None
    if damage_marker(path).exists():
        if not _may_set_aside:
            raise StoreDamaged(damaged_text(path), path)
        rescued = set_aside(path, clock)
    try:
        return _connect_checked(path, thorough, clock), rescued
    except StoreDamaged:
        if rescued is not None or not _may_set_aside:
            raise  # a new store damaged at once is the disk's doing, not the file's
    rescued = set_aside(path, clock)
    return _connect_checked(path, thorough, clock), rescued


def _connect_checked(path: Path, thorough: bool, clock: Callable[[], float]) -> sqlite3.Connection:
    db = connect(path)
    try:
        problems = _check(db, thorough, clock)
    except sqlite3.Error as error:
        db.close()
        raise store_error(path, error) from error
    except BaseException:
        db.close()
        raise
    if problems:
        db.close()
        log.warning("%s failed its check: %s", path, "; ".join(problems[:5]))
        mark_damaged(path)
        raise StoreDamaged(damaged_text(path), path)
    return db


def _check(db: sqlite3.Connection, thorough: bool, clock: Callable[[], float]) -> list[str]:
    """What is wrong with the store, in SQLite's words; empty when nothing was found."""
    now = clock()
    if thorough:
        row = db.execute("SELECT value FROM counters WHERE name = 'checked'").fetchone()
        thorough = row is None or now - float(row[0]) >= THOROUGH_INTERVAL_SECONDS
    problems = []
    if thorough:
        problems += [str(r[0]) for r in db.execute("PRAGMA quick_check") if r[0] != "ok"]
    else:
        for table in SMALL_TABLES:
            problems += [
                str(r[0]) for r in db.execute(f"PRAGMA quick_check({table})") if r[0] != "ok"
            ]
        for table in BIG_TABLES:
            for order in ("ASC", "DESC"):
                db.execute(f"SELECT * FROM {table} ORDER BY rowid {order} LIMIT 1").fetchall()
    # Every message lies in a folder: a folder list read as empty or short is damage that
    # no page check sees (an empty page over a one-page table is a valid empty table).
    ends = db.execute(
        "SELECT (SELECT folder_id FROM messages ORDER BY folder_id LIMIT 1), "
        "(SELECT folder_id FROM messages ORDER BY folder_id DESC LIMIT 1)"
    ).fetchone()
    for folder_id in {e for e in ends if e is not None}:
        if db.execute("SELECT 1 FROM folders WHERE id = ?", (folder_id,)).fetchone() is None:
            problems.append(f"messages of folder {folder_id}, which is missing")
    if thorough and not problems:
        db.execute(
            "INSERT INTO counters (name, value) VALUES ('checked', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (int(now),),
        )
    return problems


def set_aside(path: Path, clock: Callable[[], float] = time.time) -> StoreRescue | None:
    """Move a damaged cache into a rescue folder, after saving what cannot be fetched again.

    None when another process did it meanwhile (the file is no longer marked).
    """
    with rescue.exclusive(path):
        marker = damage_marker(path)
        if not marker.exists():
            return None
        # An older profile's unsent messages are in the cache: into the outbox file first.
        # (Imported here: every opening of the cache imports this module, and only this
        # rare step needs the outbox.)
        from mailclient.store.outbox import Outbox

        Outbox.open(path, clock).close()
        work, complete = _waiting_work(path)
        saved = sum(len(items) for items in work.values())
        folder = rescue.rescue_folder(path, clock)
        if saved:
            rescue.write_private(
                folder / PENDING_FILE,
                json.dumps(work, indent=2, ensure_ascii=False).encode("utf-8"),
            )
        rescue.move_aside(path, folder)
        marker.unlink()
        found = StoreRescue(folder, saved, not complete)
        log.warning("%s", found.message())
        return found


# What each table of waiting work keeps in the rescue file, read with the names of the
# folders it points to and the subjects of its messages (NULL where their rows cannot be
# read). The folder ids come last, after the columns written out.
_CHANGES = (
    "SELECT c.id, c.account, c.kind, f.name, c.uidvalidity, t.name, c.add_flags, "
    "c.remove_flags, c.folder_id, c.target_folder_id FROM pending_changes c "
    "LEFT JOIN folders f ON f.id = c.folder_id "
    "LEFT JOIN folders t ON t.id = c.target_folder_id ORDER BY c.id"
)
_FOLDER_CHANGES = (
    "SELECT c.account, c.kind, f.name, c.old_name, c.new_name, c.folder_id "
    "FROM pending_folder_changes c LEFT JOIN folders f ON f.id = c.folder_id ORDER BY c.id"
)
_TRANSFERS = (
    "SELECT x.account, CASE WHEN x.copy THEN 'copy' ELSE 'move' END, f.name, x.uid, "
    "x.uidvalidity, t.account, t.name, x.header_id, m.subject, x.state, "
    "x.folder_id, x.target_folder_id FROM pending_transfers x "
    "LEFT JOIN folders f ON f.id = x.folder_id "
    "LEFT JOIN folders t ON t.id = x.target_folder_id "
    "LEFT JOIN messages m ON m.id = x.message_id ORDER BY x.id"
)


def _waiting_work(path: Path) -> tuple[dict[str, list[dict[str, Any]]], bool]:
    """The work waiting for the servers, read from a damaged store as far as it goes:
    message changes, folder changes, copies and moves to other accounts; and whether it
    could all be read.

    Folders are named as the store knew them. Where their rows cannot be read, their ids
    stand in their place (meaningless to the next store, but not lost) and the log says
    which.
    """
    try:
        db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}, False
    unmapped: list[str] = []
    work: dict[str, list[dict[str, Any]]] = {}
    complete = True
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    except sqlite3.Error as error:
        log.warning("The changes waiting in %s cannot be read: %s", path, error)
        db.close()
        return {}, False
    for key, table, read in (
        ("changes", "pending_changes", _message_changes),
        ("folder_changes", "pending_folder_changes", _folder_changes),
        ("transfers", "pending_transfers", _transfers),
    ):
        if table not in tables:
            continue  # a store older than the table
        try:
            work[key], whole = read(db, path, unmapped)
        except sqlite3.Error as error:
            log.warning(
                "The %s waiting in %s cannot be read: %s", key.replace("_", " "), path, error
            )
            work[key], whole = [], False
        complete = complete and whole
    db.close()
    if unmapped:
        log.warning(
            "Changes waiting in %s name folders whose rows could not be read; they were "
            "saved with the folders' ids instead: %s",
            path,
            "; ".join(unmapped),
        )
    return work, complete


def _message_changes(
    db: sqlite3.Connection, path: Path, unmapped: list[str]
) -> tuple[list[dict[str, Any]], bool]:
    changes = []
    for row in db.execute(_CHANGES).fetchall():
        change: dict[str, Any] = {
            "account": row[1],
            "kind": row[2],
            "folder": row[3],
            "uidvalidity": row[4],
            "target_folder": row[5],
            "add_flags": row[6].split(),
            "remove_flags": row[7].split(),
            "messages": [],
        }
        lost = _by_id(change, {"folder": row[8], "target_folder": row[9]})
        if lost:
            unmapped.append(f"a {row[2]} change of {row[1]} ({lost})")
        changes.append((row[0], change))
    complete = True
    for change_id, change in changes:
        try:
            change["messages"] = [
                {
                    "uid": row[0],
                    "previous_flags": row[1].split(),
                    "message_id": row[2],
                    "subject": row[3],
                }
                for row in db.execute(
                    "SELECT p.uid, p.previous_flags, m.message_id, m.subject "
                    "FROM pending_messages p LEFT JOIN messages m ON m.id = p.message_id "
                    "WHERE p.change_id = ? ORDER BY p.uid",
                    (change_id,),
                )
            ]
        except sqlite3.Error as error:
            log.warning("Messages of a waiting change in %s cannot be read: %s", path, error)
            complete = False
    return [change for _, change in changes], complete


def _folder_changes(
    db: sqlite3.Connection, path: Path, unmapped: list[str]
) -> tuple[list[dict[str, Any]], bool]:
    changes = []
    for account, kind, name, old_name, new_name, folder_id in db.execute(_FOLDER_CHANGES):
        change = {
            "account": account,
            "kind": kind,
            "folder": name,
            "old_name": old_name,
            "new_name": new_name,
        }
        lost = _by_id(change, {"folder": folder_id})
        if lost:
            unmapped.append(f"a folder {kind} of {account}, {old_name or new_name} ({lost})")
        changes.append(change)
    return changes, True


def _transfers(
    db: sqlite3.Connection, path: Path, unmapped: list[str]
) -> tuple[list[dict[str, Any]], bool]:
    transfers = []
    for row in db.execute(_TRANSFERS):
        transfer = dict(
            zip(
                (
                    "account",
                    "kind",
                    "folder",
                    "uid",
                    "uidvalidity",
                    "target_account",
                    "target_folder",
                    "message_id",
                    "subject",
                    "state",
                ),
                row[:10],
                strict=True,
            )
        )
        # A target folder deleted meanwhile left no id (the transfer waits to be undone).
        lost = _by_id(transfer, {"folder": row[10], "target_folder": row[11]})
        if lost:
            unmapped.append(f"a {row[1]} to another account from {row[0]} ({lost})")
        transfers.append(transfer)
    return transfers, True


def _by_id(item: dict[str, Any], ids: dict[str, int | None]) -> str:
    """Put the id of each folder ``item`` names where its name could not be read (key
    ``<name>_id``); says which, for the log."""
    lost = []
    for key, folder_id in ids.items():
        if item[key] is None and folder_id is not None:
            item[f"{key}_id"] = folder_id
            lost.append(f"{key.replace('_', ' ')} {folder_id}")
    return ", ".join(lost)
