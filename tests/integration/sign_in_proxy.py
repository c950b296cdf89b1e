"""A TLS proxy in front of the rig's Dovecot or Postfix that cuts (or answers) sign-ins.

The client sees a TLS server with the rig's certificate, as if it were the real one; the
proxy speaks TLS to the real server and reads the client's side line by line, so it knows
when a sign-in starts: an IMAP ``<tag> LOGIN`` or ``AUTHENTICATE``, an SMTP ``AUTH``.
"""

from __future__ import annotations

import re
import socket
import threading

from tests.rig import CertificateFiles
from tests.rig.tls_front import TlsFront

_SIGN_IN = re.compile(rb"^(?:(\S+) (?:LOGIN|AUTHENTICATE)|AUTH) ", re.IGNORECASE)


class SignInProxy(TlsFront):
    """Forwards 127.0.0.1:<port> to the TLS server at ``upstream``.

    While ``cut_sign_ins`` is above zero, each sign-in line counts it down and, instead of
    reaching the server, ends both connections (a network failure in the middle of
    LOGIN); ``cuts`` counts them. With ``answer`` set, a sign-in line gets that reply
    instead ("{tag}" is the IMAP command's tag) and the conversation goes on.
    """

    def __init__(self, upstream: tuple[str, int], certificates: CertificateFiles) -> None:
        self.cut_sign_ins = 0
        self.answer: bytes | None = None
        self.cuts = 0
        self.sign_ins = 0
        # Per client connection. Both directions write to the client: to_client the
        # server's replies, to_server the answers. One TLS connection takes one write at
        # a time: a second write while the first waits for the client to read fails (SSL
        # BAD_LENGTH), and the client sees its connection closed.
        self._writing: dict[socket.socket, threading.Lock] = {}
        super().__init__(upstream, certificates, upstream_tls=True)

    def _writing_to(self, client: socket.socket) -> threading.Lock:
        with self._lock:
            return self._writing.setdefault(client, threading.Lock())

    def to_client(self, server: socket.socket, client: socket.socket) -> None:
        writing = self._writing_to(client)
        while data := server.recv(65536):
            with writing:
                client.sendall(data)

    def to_server(self, client: socket.socket, server: socket.socket) -> None:
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
                    return
                if self.answer is not None:
                    tag = sign_in.group(1) or b""
                    with self._writing_to(client):
                        client.sendall(self.answer.replace(b"{tag}", tag))
                    continue
            server.sendall(line)
