"""The reader's input as a socket delivers it: in chunks of any size, and never forever."""

from __future__ import annotations

import contextlib
import io
import signal
from collections.abc import Iterator, Sequence
from types import FrameType

from mailclient.imap.wire import FetchResponse, ResponseReader, Untagged

# A response that takes longer than this to read means the reader hangs (or backtracks
# without end): the test fails instead of waiting forever.
HANG_SECONDS = 10


@contextlib.contextmanager
def no_hang() -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the reader took more than {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


class ChunkedStream(io.RawIOBase):
    """A socket's view of ``data``: each read returns at most the next chunk size."""

    def __init__(self, data: bytes, sizes: Sequence[int]) -> None:
        self._data = memoryview(data)
        self._sizes = list(sizes) or [len(data) or 1]
        self._pos = 0
        self._turn = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = self._sizes[self._turn % len(self._sizes)]
        self._turn += 1
        chunk = self._data[self._pos : self._pos + min(size, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def read_all(data: bytes, sizes: Sequence[int] = ()) -> list[FetchResponse | Untagged]:
    stream = io.BufferedReader(ChunkedStream(data, sizes), 4096)
    reader = ResponseReader(stream.readline, stream.read, lambda _: None)
    with no_hang():
        return list(reader.responses(b"MC1", "FETCH"))
