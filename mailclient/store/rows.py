"""How the mail cache's rows hold values: flag sets as text, long IN lists in chunks; the
steps of work that takes messages in id order."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# SQLite accepts 32,766 parameters per statement since 3.32; stay well below.
CHUNK = 900


def flags_text(flags: Iterable[str]) -> str:
    """The stored form of a flag set: sorted and space-separated."""
    return " ".join(sorted(flags))


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """``items`` in slices small enough for one statement's parameters."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    """``count`` parameter marks for an IN list."""
    return ",".join("?" * count)


def next_messages(db: sqlite3.Connection, after: int, limit: int = -1) -> tuple[int, int]:
    """The next step of work that takes messages in id order (indexing, threading): how
    many have an id above ``after`` (at most ``limit``; -1: all), and the highest of
    those ids (``after`` if none)."""
    count, last = db.execute(
        "SELECT count(*), max(id) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
        (after, limit),
    ).fetchone()
    return int(count), int(last) if last is not None else after
