"""A TCP server on 127.0.0.1 that accepts connections and never says a word.

What a hung IMAP server looks like to a client: connect() succeeds, then the greeting (or
the TLS handshake) never comes. The server notes every connection and when the client
closed it, so a test can tell that the client cut it rather than waiting for a timeout.
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType


class SilentServer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.accepted = 0
        self.closed_by_client = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(10)
        with self._lock:
            for sock in self._open:
                sock.close()
        self._listener.close()

    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    conn, _ = self._listener.accept()
                    with self._lock:
                        self._open.add(conn)
                        self.accepted += 1
                    selector.register(conn, selectors.EVENT_READ)
                    continue
                try:
                    data = sock.recv(65536)  # a TLS ClientHello, say: never answered
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(sock)
                    sock.close()
                    with self._lock:
                        self._open.discard(sock)
                        self.closed_by_client += 1
        selector.close()
