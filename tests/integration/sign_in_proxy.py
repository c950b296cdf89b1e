"""A TLS proxy in front of the rig's Dovecot or Postfix that cuts (or answers) sign-ins.

The client sees a TLS server with the rig's certificate, as if it were the real one; the
proxy speaks TLS to the real server and reads the client's side line by line, so it knows
when a sign-in starts: an IMAP ``<tag> LOGIN`` or ``AUTHENTICATE``, an SMTP ``AUTH``.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import threading

from tests.rig import CertificateFiles

_SIGN_IN = re.compile(rb"^(?:(\S+) (?:LOGIN|AUTHENTICATE)|AUTH) ", re.IGNORECASE)


class SignInProxy:
    """Forwards 127.0.0.1:<port> to the TLS server at ``upstream``.

    While ``cut_sign_ins`` is above zero, each sign-in line counts it down and, instead of
    reaching the server, ends both connections (a network failure in the middle of
    LOGIN); ``cuts`` counts them. With ``answer`` set, a sign-in line gets that reply
    instead ("{tag}" is the IMAP command's tag) and the conversation goes on.
    """

    def __init__(self, upstream: tuple[str, int], certificates: CertificateFiles) -> None:
        self.upstream = upstream
        self.cut_sign_ins = 0
        self.answer: bytes | None = None
        self.cuts = 0
        self.sign_ins = 0
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_context.load_cert_chain(certificates.cert_file, certificates.key_file)
        self._client_context = ssl.create_default_context(cafile=str(certificates.ca_file))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _drop(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, raw_client: socket.socket) -> None:
        try:
            client = self._server_context.wrap_socket(raw_client, server_side=True)
            server = self._client_context.wrap_socket(
                socket.create_connection(self.upstream, timeout=10),
                server_hostname=self.upstream[0],
            )
        except OSError:
            _drop(raw_client)
            return
        server.settimeout(None)
        with self._lock:
            self._sockets += [client, server]
        # Both this thread (answers) and the pump (the server's replies) write to the
        # client. One TLS connection takes one write at a time: a second write while
        # the first waits for the client to read fails (SSL BAD_LENGTH) and drops it.
        writing = threading.Lock()
        threading.Thread(target=self._pump, args=(server, client, writing), daemon=True).start()
        try:
            reader = client.makefile("rb")
            while line := reader.readline():
                sign_in = _SIGN_IN.match(line)
                if sign_in:
                    with self._lock:
                        self.sign_ins += 1
                        cut = self.cut_sign_ins > 0
                        if cut:
                            self.cut_sign_ins -= 1
                            self.cuts += 1
                    if cut:
                        break
                    if self.answer is not None:
                        tag = sign_in.group(1) or b""
                        with writing:
                            client.sendall(self.answer.replace(b"{tag}", tag))
                        continue
                server.sendall(line)
        except OSError:
            pass
        _drop(client)
        _drop(server)

    def _pump(self, source: socket.socket, sink: socket.socket, writing: threading.Lock) -> None:
        try:
            while data := source.recv(65536):
                with writing:
                    sink.sendall(data)
        except OSError:
            pass
        _drop(source)
        _drop(sink)


def _drop(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
