"""Reading a file a person named: a regular file only, and only up to a size."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mailclient.core.errors import InvalidInput


def read_regular_file(path: Path, limit: int, field: str = "file") -> bytes:
    """The content of ``path``; InvalidInput (naming ``field``) unless it is a regular file
    of at most ``limit`` bytes. Other failures raise OSError.

    Both are checked before a byte is read: a FIFO without a writer would block forever,
    /dev/zero never ends. The open itself cannot block on a FIFO (O_NONBLOCK), nor make a
    terminal ours (O_NOCTTY).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(
                field, f"{path} is not a regular file (a pipe, a device or a folder)"
            )
        if info.st_size > limit:
            raise InvalidInput(field, _too_large(path, info.st_size, limit))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while it was read
        raise InvalidInput(field, _too_large(path, len(data), limit))
    return data


def _too_large(path: Path, size: int, limit: int) -> str:
    return f"{path} is {size / 1e6:,.1f} MB; the limit is {limit / 1e6:,.0f} MB"
