"""Whether the outbox file changed, asked without the outbox's own code (store/outbox.py):
the window watches it from its start, and reads it only later."""

from __future__ import annotations

import sqlite3
from pathlib import Path

OUTBOX_FILE = "outbox.sqlite3"


def outbox_path(store_path: Path) -> Path:
    """The outbox file of the profile whose mail cache is ``store_path``."""
    return store_path.with_name(OUTBOX_FILE)


class OutboxWatch:
    """Tells whether the outbox file changed, by this process or another (``mailclient
    send``), without opening the outbox: no migration, no check, no take-over.

    One read-only connection, opened once the file exists, asks SQLite's data_version,
    which moves with every commit made on any other connection; the file's identity
    catches a damaged file set aside and replaced. Cheap enough to ask every second on
    the GUI thread.
    """

    def __init__(self, store_path: Path) -> None:
        self._path = outbox_path(store_path)
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None
        self._last = self._version()

    def changed(self) -> bool:
        """Whether a change was committed since the last call (or since this was made)."""
        version = self._version()
        if version == self._last:
            return False
        self._last = version
        return True

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _version(self) -> tuple[int, int] | None:
        try:
            inode = self._path.stat().st_ino
        except OSError:
            self.close()
            return None
        try:
            if self._db is None or inode != self._inode:
                self.close()
                uri = f"{self._path.as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=1, check_same_thread=True)
                self._inode = inode
            return inode, int(self._db.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            # Damaged or unreadable: whoever reads the outbox next says so.
            self.close()
            return None
