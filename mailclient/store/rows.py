"""How the mail cache's rows hold values: flag sets as text, long IN lists in chunks."""

from __future__ import annotations

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
