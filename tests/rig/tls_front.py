"""A TLS front on loopback for the rig's servers: the base of the test proxies.

It accepts TLS on 127.0.0.1 with the rig's certificate (so a client's certificate checks
run for real) and connects each client to ``upstream``: plain, or over TLS checked against
the test CA. Each connection is relayed by one thread (tests/rig/relay.py: OpenSSL does
not let two threads use one TLS connection at once); a subclass overrides ``to_server`` or
``to_client`` to read, change or cut what passes (by default, the bytes pass as they are).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

from .ca import CertificateFiles
from .relay import Pipe, Relay, passing
from .util import LOOPBACK

# For the TLS handshakes and the connection to the server, before the relay takes over.
SETUP_TIMEOUT = 30


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
        self._relays: list[Relay] = []
        self._closed = False
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        self._name = type(self).__name__
        threading.Thread(target=self._accept, daemon=True, name=self._name).start()

    def close(self) -> None:
        """Stop accepting and close every connection (as a network failure would)."""
        with self._lock:
            self._closed = True
            relays, self._relays = self._relays, []
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in accept()
        self._listener.close()
        for relay in relays:
            relay.stop()

    def to_server(self, link: Relay) -> Pipe:
        """The pipe for what the client sends (see tests/rig/relay.py)."""
        return passing(link.to_server)

    def to_client(self, link: Relay) -> Pipe:
        """The pipe for what the server sends (see tests/rig/relay.py)."""
        return passing(link.to_client)

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True, name=self._name).start()

    def _serve(self, raw: socket.socket) -> None:
        opened = [raw]
        try:
            raw.settimeout(SETUP_TIMEOUT)
            client = self._server_context.wrap_socket(raw, server_side=True)
            opened.append(client)
            server = socket.create_connection(self.upstream, timeout=SETUP_TIMEOUT)
            opened.append(server)
            if self._client_context is not None:
                server = self._client_context.wrap_socket(server, server_hostname=self.upstream[0])
                opened.append(server)
        except OSError:
            for sock in opened:
                sock.close()
            return
        with self._lock:
            relay = None if self._closed else Relay(client, server, self.to_server, self.to_client)
            if relay is not None:
                self._relays.append(relay)
        if relay is None:
            client.close()
            server.close()
            return
        relay.run()
