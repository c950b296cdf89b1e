"""A TLS front on loopback for the rig's servers: the base of the test proxies.

It accepts TLS on 127.0.0.1 with the rig's certificate (so a client's certificate checks
run for real) and connects each client to ``upstream``: plain, or over TLS checked against
the test CA. Each connection has two threads, one a direction; a subclass overrides
``to_server`` or ``to_client`` to read, change or cut what passes (by default, the bytes
pass as they are).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

from .ca import CertificateFiles
from .util import LOOPBACK


class TlsFront:
    """TLS on 127.0.0.1:``port`` in front of ``upstream`` (TLS there with ``upstream_tls``)."""

    def __init__(
        self, upstream: tuple[str, int], certs: CertificateFiles, *, upstream_tls: bool = False
    ) -> None:
        self.upstream = upstream
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_context.load_cert_chain(certs.cert_file, certs.key_file)
        self._client_context = (
            ssl.create_default_context(cafile=str(certs.ca_file)) if upstream_tls else None
        )
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        name = type(self).__name__
        threading.Thread(target=self._accept, daemon=True, name=name).start()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        close_all(*sockets)

    def to_server(self, client: socket.socket, server: socket.socket) -> None:
        """Relay what the client sends; returns when either side is gone."""
        pump(client, server)

    def to_client(self, server: socket.socket, client: socket.socket) -> None:
        """Relay what the server sends; returns when either side is gone."""
        pump(server, client)

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            client = self._server_context.wrap_socket(raw, server_side=True)
            server = socket.create_connection(self.upstream, timeout=30)
            if self._client_context is not None:
                server = self._client_context.wrap_socket(server, server_hostname=self.upstream[0])
        except OSError:
            close_all(raw)
            return
        server.settimeout(None)
        with self._lock:
            self._sockets += [client, server]
        threading.Thread(target=self._relay_to_server, args=(client, server), daemon=True).start()
        with contextlib.suppress(OSError):
            self.to_client(server, client)
        close_all(server, client)

    def _relay_to_server(self, client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.to_server(client, server)
        close_all(client, server)


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Pass bytes from ``source`` to ``sink`` until ``source`` ends."""
    while data := source.recv(65536):
        sink.sendall(data)


def close_all(*sockets: socket.socket) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
