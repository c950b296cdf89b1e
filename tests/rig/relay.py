"""One relayed connection whose two sockets are both used by a single thread.

OpenSSL does not support two threads using one TLS connection at once, and a proxy that
reads a TLS socket on one thread (what the client sends) while another writes to it (what
the server sends) corrupts the connection now and then, under load. A :class:`Relay` moves
both directions on the thread that runs it: its sockets are non-blocking and it waits on
both with a selector, retrying a TLS write that could not finish with the same bytes and
reading on while the TLS connection holds decrypted data.

What one side sends passes through a *pipe* on its way to the other: a generator that is
sent each chunk as it comes and passes on what it likes through the relay (``to_client``,
``to_server``): as it is, rewritten, held back until a whole line or response has come,
left out, or answered in the other direction. When a pipe returns, the connection is cut:
what is queued is written, then both sides are closed at once, as a network failure would
(without TLS close_notify). While a side waits to be written to, the other is not read
from beyond a chunk, so a sender feels the receiver's pace as through a plain proxy.

A side's end reaches the other side once everything it sent before is written: a plain
socket has its sending side shut and may still answer (half-close). A TLS connection
cannot (Python's TLS cannot send its close_notify and go on reading), so the connection
ends then, as it does once both ends have been passed on: what is queued is written and
both sides are closed, TLS with its close_notify. When a side fails, both are closed at
once.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Generator

Pipe = Generator[None, bytes, None]

CHUNK = 65536
# A side is read from only while less than this waits to be written to the other one.
BACKLOG = 65536


def passing(write: Callable[[bytes], None]) -> Pipe:
    """The pipe that passes every chunk on as it is."""
    while True:
        write((yield))


class Relay:
    """Relays between the connected sockets ``client`` and ``server`` while ``run`` runs.

    ``to_server`` and ``to_client`` make the pipes (given this relay) for what the client
    and the server send. Pipes run on the relay's thread, the only one that may call
    ``to_client`` and ``to_server``; ``stop`` may be called from any thread.
    """

    def __init__(
        self,
        client: socket.socket,
        server: socket.socket,
        to_server: Callable[[Relay], Pipe],
        to_client: Callable[[Relay], Pipe],
    ) -> None:
        self._client, self._server = _Side(client), _Side(server)
        self._client.pipe = _started(to_server(self))
        self._server.pipe = _started(to_client(self))
        self._cut = False
        self._thread: int | None = None
        self._done = threading.Event()
        # stop() writes a byte here to wake the relay's selector.
        self._wake_up, self._wake_up_call = socket.socketpair()
        self._waking = threading.Lock()

    def to_client(self, data: bytes) -> None:
        self._client.queue(data)

    def to_server(self, data: bytes) -> None:
        self._server.queue(data)

    def run(self) -> None:
        """Relay on this thread until the connection ends; then both sockets are closed."""
        self._thread = threading.get_ident()
        clean = False
        try:
            clean = self._relay()
        except OSError:
            pass  # a side failed (reset, broken TLS): the connection is over
        finally:
            for side in (self._client, self._server):
                side.close(clean)
            with self._waking:
                self._done.set()
                self._wake_up_call.close()
            self._wake_up.close()

    def stop(self) -> None:
        """Close both sides now, as a network failure would, and wait until they are."""
        with self._waking:
            if self._done.is_set():
                return
            self._wake_up_call.send(b"\0")
        if threading.get_ident() != self._thread:
            self._done.wait()

    def _relay(self) -> bool:
        """Relay until the connection ends; True when it ended cleanly, False if cut."""
        sides = ((self._client, self._server), (self._server, self._client))
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_up, selectors.EVENT_READ)
            watched: dict[_Side, int] = {}
            while True:
                for source, sink in sides:
                    self._read(source, sink)
                for side, _ in sides:
                    side.flush()
                for source, sink in sides:
                    if source.ended and not sink.told and not sink.outgoing and not self._cut:
                        if not sink.tls:
                            sink.sock.shutdown(socket.SHUT_WR)
                        sink.told = True
                if self._over() and not (self._client.outgoing or self._server.outgoing):
                    return not self._cut
                decrypted = False
                for source, sink in sides:
                    reading = self._reading(source, sink)
                    decrypted |= reading and source.decrypted()
                    _watch(selector, watched, source, source.events(reading))
                ready = selector.select(0 if decrypted else None)
                if any(key.fileobj is self._wake_up for key, _ in ready):
                    return False

    def _over(self) -> bool:
        """Whether the connection is to end (once what is queued is written): it was cut,
        or both ends were passed on, or one was passed on to TLS (no half-close there)."""
        told = [side for side in (self._client, self._server) if side.told]
        return self._cut or len(told) == 2 or any(side.tls for side in told)

    @staticmethod
    def _reading(source: _Side, sink: _Side) -> bool:
        return not source.ended and sink.queued < BACKLOG

    def _read(self, source: _Side, sink: _Side) -> None:
        while self._reading(source, sink):
            data = source.receive()
            if data is None:
                return
            pipe = source.pipe
            if not data:
                source.ended = True
                source.pipe = None
                if pipe is not None:
                    pipe.close()
                return
            if pipe is None:
                continue  # cut: what still comes is dropped
            try:
                pipe.send(data)
            except StopIteration:
                self._cut = True
                for side in (self._client, self._server):
                    if side.pipe is not None:
                        side.pipe.close()
                        side.pipe = None


class _Side:
    """One side of the connection: its socket, and what waits to be written to it."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.outgoing: deque[bytes] = deque()
        self.queued = 0
        # Through which what this side sends passes; None once it ended or was cut.
        self.pipe: Pipe | None = None
        self.ended = False  # it sent its end
        self.told = False  # the other side's end was passed on to it
        # A TLS read can need the socket writable, and a write readable.
        self.read_wants_write = False
        self.write_wants_read = False

    def queue(self, data: bytes) -> None:
        if data:
            self.outgoing.append(data)
            self.queued += len(data)

    def receive(self) -> bytes | None:
        """The next chunk this side sent, b"" at its end, None if nothing can be read now."""
        try:
            data = self.sock.recv(CHUNK)
        except ssl.SSLWantWriteError:
            self.read_wants_write = True
            return None
        except (ssl.SSLWantReadError, BlockingIOError):
            self.read_wants_write = False
            return None
        self.read_wants_write = False
        return data

    def flush(self) -> None:
        """Write what waits for this side until the socket takes no more."""
        while self.outgoing:
            chunk = self.outgoing[0]
            try:
                # A TLS write that could not finish takes the same bytes again: OpenSSL
                # has sent part of them in records already.
                sent = self.sock.send(chunk)
            except ssl.SSLWantReadError:
                self.write_wants_read = True
                return
            except (ssl.SSLWantWriteError, BlockingIOError):
                self.write_wants_read = False
                return
            self.write_wants_read = False
            self.queued -= sent
            if sent < len(chunk):
                self.outgoing[0] = chunk[sent:]
            else:
                self.outgoing.popleft()

    def decrypted(self) -> bool:
        """Whether the TLS connection holds data it has read and decrypted already (which
        the selector cannot see)."""
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0

    def events(self, reading: bool) -> int:
        events = 0
        if (reading and not self.read_wants_write) or self.write_wants_read:
            events |= selectors.EVENT_READ
        if (self.outgoing and not self.write_wants_read) or self.read_wants_write:
            events |= selectors.EVENT_WRITE
        return events

    def close(self, clean: bool) -> None:
        """Close the socket; ``clean``: with a TLS close_notify first."""
        if clean and isinstance(self.sock, ssl.SSLSocket):
            with contextlib.suppress(OSError, ValueError):
                self.sock.unwrap()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _started(pipe: Pipe) -> Pipe:
    next(pipe)  # on to its first yield, where it waits for a chunk
    return pipe


def _watch(
    selector: selectors.BaseSelector, watched: dict[_Side, int], side: _Side, events: int
) -> None:
    """Have ``selector`` wait for ``events`` on ``side`` (none: not wait on it)."""
    if watched.get(side, 0) == events:
        return
    if not events:
        selector.unregister(side.sock)
        del watched[side]
    elif side in watched:
        selector.modify(side.sock, events)
        watched[side] = events
    else:
        selector.register(side.sock, events)
        watched[side] = events
