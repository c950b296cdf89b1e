"""A loopback TCP proxy that tests can cut: connections that die mid-conversation."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``; can drop connections on demand.

    ``cut_after`` bytes sent from the server to the client on the next connection, the
    proxy closes both sides (as a network failure would); ``cut_upstream_after`` does the
    same counting what the client sends. ``refuse`` makes it close new connections at
    once. ``connections`` counts what it accepted. ``receive_buffer`` shrinks the proxy's
    socket buffer for what clients send, so that a client cannot have much more in flight
    than the proxy has read.
    """

    def __init__(self, upstream: tuple[str, int], *, receive_buffer: int | None = None) -> None:
        self.upstream = upstream
        self.cut_after: int | None = None
        self.cut_upstream_after: int | None = None
        self.refuse = False
        self.connections = 0
        self.cuts = 0
        self._listener = socket.socket()
        if receive_buffer is not None:
            # Set before listen(): accepted sockets inherit it, window scaling included.
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                if self.refuse:
                    client.close()
                    continue
                budget, self.cut_after = self.cut_after, None
                upstream_budget, self.cut_upstream_after = self.cut_upstream_after, None
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(
                target=self._pump, args=(client, server, upstream_budget), daemon=True
            ).start()
            threading.Thread(target=self._pump, args=(server, client, budget), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        try:
            while data := source.recv(65536):
                if budget is not None:
                    if len(data) >= budget:
                        sink.sendall(data[:budget])
                        with self._lock:
                            self.cuts += 1
                        break
                    budget -= len(data)
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut_all(self) -> None:
        """Drop every open connection (new ones are still accepted)."""
        with self._lock:
            self.cuts += 1
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
        self._drop_all()
