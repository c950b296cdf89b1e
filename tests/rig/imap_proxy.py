"""An IMAPS front for a Dovecot that rewrites what the server says: servers Dovecot is not.

RFC 3501 lets a server leave things out that Dovecot always sends (UIDNEXT in SELECT, for
one). The proxy accepts TLS on 127.0.0.1 with the rig's certificate, talks plain IMAP to
the Dovecot behind it (a connection from 127.0.0.1 to 127.0.0.1 counts as secure there,
so LOGIN works without STARTTLS) and passes every line from the server through
``rewrite``: a line comes back changed, or None to drop it. Literals (``{n}`` at the end of
a line) are passed on untouched. What the client sends goes to the server as it is.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading
from collections.abc import Callable

from .ca import CertificateFiles
from .util import LOOPBACK

Rewrite = Callable[[bytes], bytes | None]

_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
_UIDNEXT_CODE = re.compile(rb"^\* OK \[UIDNEXT \d+\]", re.IGNORECASE)
_STATUS_UIDNEXT = re.compile(rb" ?UIDNEXT \d+", re.IGNORECASE)


def without_uidnext(line: bytes) -> bytes | None:
    """A server that never reports UIDNEXT (RFC 3501 §6.3.1 allows it in SELECT/EXAMINE;
    STATUS leaves it out when not asked, and this one never tells)."""
    if _UIDNEXT_CODE.match(line):
        return None
    if line[:9].upper() == b"* STATUS ":
        head, _, items = line.rpartition(b"(")
        return head + b"(" + _STATUS_UIDNEXT.sub(b"", items).lstrip()
    return line


class RewritingProxy:
    """IMAPS on 127.0.0.1:``port`` in front of plain IMAP at ``upstream``."""

    def __init__(
        self, upstream: tuple[str, int], certs: CertificateFiles, rewrite: Rewrite
    ) -> None:
        self.upstream = upstream
        self.rewrite = rewrite
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certs.cert_file, certs.key_file)
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="rewriting-proxy").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, raw_client: socket.socket) -> None:
        try:
            client = self._context.wrap_socket(raw_client, server_side=True)
            server = socket.create_connection(self.upstream)
        except OSError:
            raw_client.close()
            return
        with self._lock:
            self._sockets += [client, server]
        threading.Thread(target=self._to_server, args=(client, server), daemon=True).start()
        self._to_client(server, client)

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                server.sendall(data)
        except OSError:
            pass
        self._close(client, server)

    def _to_client(self, server: socket.socket, client: socket.socket) -> None:
        reader = server.makefile("rb")
        try:
            while line := reader.readline():
                literal = _LITERAL.search(line)
                if literal:
                    client.sendall(line + reader.read(int(literal.group(1))))
                    continue
                changed = self.rewrite(line)
                if changed is not None:
                    client.sendall(changed)
        except OSError:
            pass
        reader.close()
        self._close(client, server)

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        self._close(*sockets)
