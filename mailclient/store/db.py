"""The SQLite database of a profile: connections, WAL, and schema migrations.

One file holds the mail cache of every account and the outbox. Every thread opens its own
connection with connect(); WAL lets the window read while workers write. The schema is
versioned in ``PRAGMA user_version``: migration N takes the database from version N-1 to N.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from mailclient.core.errors import MailclientError
from mailclient.core.profile import create_private_file
from mailclient.store import search


class StoreError(MailclientError):
    """The local store cannot be opened or written (disk full, damaged, newer format)."""


def migrations() -> Sequence[str]:
    """Every migration in order, as SQL scripts."""
    from mailclient.store import schema

    return schema.MIGRATIONS


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating or upgrading) the store at ``path`` for the calling thread."""
    try:
        # Made private before SQLite creates it readable by all; its -wal and -shm files
        # take the database's mode.
        create_private_file(path)
    except OSError as error:
        raise StoreError(f"The mail store {path} cannot be created: {error.strerror}.") from error
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=True)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 30000")
        search.register_functions(db)
        _migrate(db, migrations())
    except sqlite3.DatabaseError as error:
        raise StoreError(describe(path, error)) from error
    return db


def _migrate(db: sqlite3.Connection, steps: Sequence[str]) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(steps):
        raise StoreError(
            f"The mail store was written by a newer mailclient (schema {version}); please upgrade."
        )
    for number in range(version + 1, len(steps) + 1):
        # One transaction per step: a crash or a full disk leaves the previous version.
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;\n{steps[number - 1]}\n;PRAGMA user_version = {number};COMMIT;"
            )
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            # Another process may have run the same step while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= number:
                continue
            raise


def describe(path: Path, error: sqlite3.Error) -> str:
    """A sentence a person can act on for a database error."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError) and "disk is full" in text:
        return f"The disk holding {path} is full. Free some space; nothing was lost."
    if isinstance(error, sqlite3.DatabaseError) and "malformed" in text:
        return f"The mail store {path} is damaged. Move it aside and mailclient will resync."
    return f"The mail store {path} cannot be used: {text}."
