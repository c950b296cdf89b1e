"""Setting a damaged database aside: a folder in the profile keeps it and what was saved.

A database found damaged is never written again. It moves, with its ``-wal`` and ``-shm``
files, into a new folder ``rescued-<date>-<time>`` next to it, together with what could
be read from it in plain files (unsent messages, changes the server has not confirmed);
a new database takes its place. Only the owner may read that folder: it holds mail.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

FOLDER_PREFIX = "rescued-"


def rescue_folder(beside: Path, clock: Callable[[], float] = time.time) -> Path:
    """A new, private folder next to the database ``beside``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock()))
    for number in range(1, 1000):
        folder = beside.parent / f"{FOLDER_PREFIX}{stamp}{'' if number == 1 else f'-{number}'}"
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"Too many rescue folders next to {beside}")


def move_aside(database: Path, folder: Path) -> None:
    """Move ``database`` and its WAL and shared-memory files into ``folder``."""
    for suffix in ("", "-wal", "-shm"):
        source = database.with_name(database.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            source.rename(folder / source.name)


def write_private(path: Path, data: bytes) -> None:
    """Write a new file that only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


@contextlib.contextmanager
def exclusive(database: Path) -> Iterator[None]:
    """One process at a time sets ``database`` aside (an flock the kernel drops on death)."""
    fd = os.open(database.with_name(database.name + ".rescue-lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
