"""Cutting a worker's connections from another thread, so that a blocked call ends at once.

A thread blocked in connect(), a TLS handshake or a read of a server that accepted the
connection and went silent waits for its timeout (30 s) however often it is asked to stop.
Its sockets come from an AbortSwitch instead; trip() shuts every one of them down (from
any thread), which ends the blocked call with an error, and refuses new connections.

The switch keeps a duplicate of each socket: a TLS socket takes over the file descriptor
of the TCP socket it wraps, leaving that object detached, while the duplicate still
reaches the connection at every stage (connecting, handshake, STARTTLS, reading).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket


class AbortSwitch:
    """Connections of one worker; trip() cuts them all, now and from then on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[int, socket.socket] = {}
        self._next_key = 0
        self._tripped = False

    @property
    def tripped(self) -> bool:
        return self._tripped

    def trip(self) -> None:
        """Shut down every connection made through this switch and refuse new ones."""
        with self._lock:
            self._tripped = True
            watched = list(self._watched.values())
        if not watched:
            return
        import socket  # with the first connection made, not when the window starts

        for duplicate in watched:
            # Fails harmlessly on a socket that is not connected yet (see connect()).
            with contextlib.suppress(OSError):
                duplicate.shutdown(socket.SHUT_RDWR)

    def connect(
        self, host: str, port: int, timeout: float | None
    ) -> tuple[socket.socket, Callable[[], None]]:
        """socket.create_connection() that trip() can cut short, then and later.

        Returns the connected socket and a function to call once it is closed (it stops
        the watching). Raises ConnectionAbortedError once the switch was tripped.
        """
        import socket

        error: OSError | None = None
        for family, kind, proto, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        ):
            sock = socket.socket(family, kind, proto)
            release = self._watch(sock)
            try:
                sock.settimeout(timeout)
                sock.connect(address)
                # A trip() between _watch() and connect() found nothing to shut down.
                self._check()
            except OSError as failed:
                release()
                sock.close()
                if isinstance(failed, ConnectionAbortedError) or self._tripped:
                    raise ConnectionAbortedError("The connection was cancelled.") from failed
                error = failed
                continue
            return sock, release
        raise error or OSError(f"No address found for {host}.")

    def _check(self) -> None:
        if self._tripped:
            raise ConnectionAbortedError("The connection was cancelled.")

    def _watch(self, sock: socket.socket) -> Callable[[], None]:
        with self._lock:
            self._check()
            key = self._next_key
            self._next_key += 1
            self._watched[key] = sock.dup()

        def release() -> None:
            with self._lock:
                duplicate = self._watched.pop(key, None)
            if duplicate is not None:
                duplicate.close()

        return release
