"""A loopback IMAP proxy that cuts the connection instead of passing the answer to a
chosen command: the server carried it out, the client never hears so.

It ends the client's TLS with the rig's certificate (so the client's certificate checks run
for real) and speaks plain IMAP to Dovecot's loopback port, so that it can read the command
tags the client sends and the tagged answers the server gives.
"""

from __future__ import annotations

import re

from tests.integration.fetch_dropping_proxy import _response_end
from tests.rig.ca import CertificateFiles
from tests.rig.relay import Pipe, Relay
from tests.rig.tls_front import TlsFront

_COMMAND = re.compile(rb"(\S+) (?:UID )?([A-Za-z]+)")


class AnswerCuttingProxy(TlsFront):
    """Forwards TLS on 127.0.0.1:<port> to plain IMAP at ``upstream``.

    ``cut_at`` names a command (b"APPEND"): the next such command reaches the server, and
    when the server's tagged answer to it comes, the proxy closes both sides instead of
    passing it on. ``cuts`` counts the answers cut off.
    """

    def __init__(self, upstream: tuple[str, int], certs: CertificateFiles) -> None:
        self.cut_at: bytes | None = None
        self.cuts = 0
        self._tags: set[bytes] = set()
        super().__init__(upstream, certs)

    def to_server(self, link: Relay) -> Pipe:
        buffer = b""
        while True:
            data = yield
            buffer += data
            # Whole commands only, their literals (a message being appended) included.
            while (end := _response_end(buffer)) is not None:
                command, buffer = buffer[:end], buffer[end:]
                found = _COMMAND.match(command)
                with self._lock:
                    if found and self.cut_at and found.group(2).upper() == self.cut_at:
                        self.cut_at = None
                        self._tags.add(found.group(1))
            link.to_server(data)

    def to_client(self, link: Relay) -> Pipe:
        buffer = b""
        while True:
            buffer += yield
            out = []
            while (end := _response_end(buffer)) is not None:
                response, buffer = buffer[:end], buffer[end:]
                with self._lock:
                    cut = response.split(b" ", 1)[0] in self._tags
                    if cut:
                        self._tags.clear()
                        self.cuts += 1
                if cut:
                    link.to_client(b"".join(out))
                    return
                out.append(response)
            link.to_client(b"".join(out))
