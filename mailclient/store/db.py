"""The SQLite databases of a profile: connections, WAL, schema migrations and their errors.

Two files: the mail cache (``mail.sqlite3``, every account's folders and messages, which can
always be fetched again) and the outbox (``outbox.sqlite3``, what the user wrote and has not
sent yet, which cannot). Every thread opens its own connection with connect(); WAL lets the
window read while workers write. Each schema is versioned in ``PRAGMA user_version``:
migration N takes a database from version N-1 to N.

A database error becomes one of these exceptions:

- StoreDamaged: the file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB). A marker file next
  to it asks the next opener to set the file aside and start a new one (store/repair.py).
- StoreUnavailable: the environment's fault (a full disk, a read-only file or folder, a
  file that cannot be opened, another program holding the lock, a failing disk). The
  message says what to do; nothing is lost.
- StoreClosed: the connection was closed while a late signal still read through it, as
  when the window shuts down; the caller's StoreError handling lets it pass.
- ReadStopped: its reader stopped the read (MailStore.stop_reads_when): nobody waits for
  the answer any more.
- StoreBug: anything else is a mistake of ours; it is logged with its traceback.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from mailclient.core.errors import MailclientError
from mailclient.core.profile import create_private_file
from mailclient.store import schema, search, subjects

log = logging.getLogger(__name__)

# Next to a store found damaged while in use: its next opener sets it aside.
DAMAGED_SUFFIX = ".damaged"


class StoreError(MailclientError):
    """The local store cannot be used now: damaged, unwritable, or of a newer version."""


class StoreDamaged(StoreError):
    """The store file is damaged; ``path`` names it."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class StoreUnavailable(StoreError):
    """The store cannot be read or written because of its surroundings (disk, rights)."""


class StoreClosed(StoreError):
    """The store was used after it was closed (the program is shutting down)."""


class ReadStopped(StoreError):
    """A read was stopped by whoever asked for it: its answer is wanted no more."""


class StoreBug(RuntimeError):
    """A database error that no surroundings explain: a mistake in mailclient."""


def migrations() -> Sequence[str]:
    """Every migration of the mail cache in order, as SQL scripts."""
    return schema.MIGRATIONS


def connect(path: Path, steps: Sequence[str] | None = None) -> sqlite3.Connection:
    """Open (creating or upgrading) the database at ``path`` for the calling thread.

    ``steps`` are its migrations; the mail cache's by default.
    """
    db: sqlite3.Connection | None = None
    try:
        # Made private before SQLite creates it readable by all; its -wal and -shm files
        # take the database's mode.
        create_private_file(path)
    except OSError as error:
        raise StoreUnavailable(
            f"mailclient cannot create {path.name}: {_unwritable(path)} ({error.strerror}). "
            "Make it writable by you and try again; nothing was lost."
        ) from error
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=True)
        _use_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        search.register_functions(db)
        subjects.register_functions(db)
        _migrate(db, path, migrations() if steps is None else steps)
    except sqlite3.Error as error:
        if db is not None:
            db.close()
        raise store_error(path, error) from error
    except BaseException:
        if db is not None:
            db.close()
        raise
    return db


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the database in WAL mode (a lasting property of the file), waiting for others.

    A connection switching a new file to WAL needs its exclusive lock. While another
    connection holds the write lock (the window and the CLI opening a new store at once
    both switch it), SQLite refuses at once instead of waiting, as waiting while holding
    the read lock could deadlock. Then wait for that lock holding none (BEGIN IMMEDIATE
    waits up to the busy timeout) and try again: the file is WAL by then, or free.
    """
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if _primary_code(error) != "SQLITE_BUSY":
                raise
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")


def _migrate(db: sqlite3.Connection, path: Path, steps: Sequence[str]) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(steps):
        raise StoreUnavailable(
            f"{path} was written by a newer mailclient (schema {version}); please upgrade."
        )
    for number in range(version + 1, len(steps) + 1):
        # One transaction per step: a crash or a full disk leaves the previous version.
        # The first statement fails when another connection ran the step while this one
        # waited for the lock: running it again could set the version back below where
        # that connection already is (a step of CREATE ... IF NOT EXISTS would succeed).
        guard = (
            "SELECT json(CASE WHEN (SELECT user_version FROM pragma_user_version) >= "
            f"{number} THEN 'step {number} already ran' ELSE 'null' END)"
        )
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;\n{guard};\n{steps[number - 1]}\n;"
                f"PRAGMA user_version = {number};COMMIT;"
            )
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            # Another process may have run the same step while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            raise


def damage_marker(path: Path) -> Path:
    return path.with_name(path.name + DAMAGED_SUFFIX)


# The primary result codes that are not our mistake (https://sqlite.org/rescode.html).
_CODES = {
    3: "SQLITE_PERM",
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    9: "SQLITE_INTERRUPT",
    8: "SQLITE_READONLY",
    10: "SQLITE_IOERR",
    11: "SQLITE_CORRUPT",
    13: "SQLITE_FULL",
    14: "SQLITE_CANTOPEN",
    26: "SQLITE_NOTADB",
}


def _primary_code(error: sqlite3.Error) -> str:
    """The primary result code's name (SQLITE_READONLY for SQLITE_READONLY_DBMOVED)."""
    code = getattr(error, "sqlite_errorcode", None)
    return "" if code is None else _CODES.get(int(code) & 0xFF, "")


def _unwritable(path: Path) -> str:
    """Which of the file and its folder cannot be written, as a clause."""
    folder = path.parent
    if not folder.is_dir():
        return f"its folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"its folder {folder} is read-only"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    return "the file or its folder is read-only"


def store_error(path: Path, error: sqlite3.Error) -> Exception:
    """The exception to raise for ``error`` met in the database at ``path``.

    A damaged file is also marked, so that whoever opens it next sets it aside. A bug is
    logged here with its traceback (call this inside the ``except`` block).
    """
    code = _primary_code(error)
    name = path.name
    if isinstance(error, sqlite3.ProgrammingError) and "closed database" in str(error):
        return StoreClosed(f"{name} is closed: mailclient is shutting down.")
    if code == "SQLITE_INTERRUPT":
        return ReadStopped(f"A read of {name} was stopped: its answer is wanted no more.")
    if code in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
        mark_damaged(path)
        return StoreDamaged(damaged_text(path), path)
    if code == "SQLITE_FULL":
        return StoreUnavailable(
            f"The disk holding {path} is full. Free some space and try again; nothing was lost."
        )
    if code in ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_CANTOPEN"):
        if path.is_dir():
            return StoreUnavailable(
                f"mailclient cannot open {path}: it is a folder, not a file. Move it away "
                "and try again; nothing was lost."
            )
        return StoreUnavailable(
            f"mailclient cannot write {name}: {_unwritable(path)} ({path}). Make it writable "
            "by you and try again; nothing was lost."
        )
    if code in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StoreUnavailable(
            f"{path} is locked by another program. Try again once it is done; nothing was lost."
        )
    if code == "SQLITE_IOERR":
        return StoreUnavailable(
            f"Reading or writing {path} failed ({error}): the disk may be failing, full or "
            "gone. Nothing was changed."
        )
    if code == "SQLITE_NOMEM":
        return StoreUnavailable(f"Not enough memory to use {path}. Close other programs.")
    log.error("Unexpected database error in %s", path, exc_info=error)
    return StoreBug(f"Unexpected database error in {name}: {error}")


def damaged_text(path: Path) -> str:
    """What to tell a person who met a damaged store in use."""
    return (
        f"The file {path} is damaged. mailclient sets it aside and starts a new one the next "
        "time it opens it (run the command again, or restart the window); what can be "
        "saved from it (unsent messages, changes not yet on the server) is kept."
    )


def mark_damaged(path: Path) -> None:
    """Leave a note for the next opener of ``path``: set the file aside."""
    try:
        damage_marker(path).touch(mode=0o600)
    except OSError as error:
        log.warning("Cannot mark %s as damaged: %s", path, error)
