"""A loopback IMAP proxy that leaves chosen FETCH responses out, as a faulty server would.

It ends the client's TLS with the rig's certificate (so the client's certificate checks run
for real) and speaks plain IMAP to Dovecot's loopback port, so that it can read the
server's answer response by response (a response and its literals whole) and drop the
FETCH responses of chosen UIDs. It also keeps the command lines the client sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.rig.ca import CertificateFiles
from tests.rig.relay import Pipe, Relay
from tests.rig.tls_front import TlsFront

_FETCH_UID = re.compile(rb"\* \d+ FETCH \(.*?\bUID (\d+)", re.IGNORECASE)
_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}\r\n\Z")


class FetchDroppingProxy(TlsFront):
    """Forwards TLS on 127.0.0.1:<port> to plain IMAP at ``upstream``.

    ``drop`` holds the UIDs whose FETCH responses are left out; ``drop_once`` makes each of
    them go missing only the first time. ``on_drop`` runs (on the thread that relays the
    connection, which waits for it) before a response is dropped: the server has sent it,
    the client will never see it. The FETCH responses of the UIDs in ``garble`` reach the
    client without their closing parenthesis.
    """

    def __init__(self, upstream: tuple[str, int], certs: CertificateFiles) -> None:
        self.drop: set[int] = set()
        self.garble: set[int] = set()
        self.drop_once = False
        self.on_drop: Callable[[int], None] | None = None
        self.dropped: list[int] = []
        self.commands: list[bytes] = []
        super().__init__(upstream, certs)

    def commands_since(self, start: int) -> list[bytes]:
        with self._lock:
            return self.commands[start:]

    def to_server(self, link: Relay) -> Pipe:
        pending = b""
        while True:
            data = yield
            pending += data
            *lines, pending = pending.split(b"\r\n")
            with self._lock:
                self.commands += lines
            link.to_server(data)

    def to_client(self, link: Relay) -> Pipe:
        buffer = b""
        while True:
            buffer += yield
            out = []
            while (end := _response_end(buffer)) is not None:
                response, buffer = buffer[:end], buffer[end:]
                if not self._dropped(response):
                    out.append(self._garbled(response))
            link.to_client(b"".join(out))

    def _garbled(self, response: bytes) -> bytes:
        if _fetch_uid(response) in self.garble:
            return response[: -len(b")\r\n")] + b"\r\n"
        return response

    def _dropped(self, response: bytes) -> bool:
        uid = _fetch_uid(response)
        if uid is None:
            return False
        with self._lock:
            if uid not in self.drop:
                return False
            if self.drop_once:
                self.drop.discard(uid)
            self.dropped.append(uid)
        if self.on_drop is not None:
            self.on_drop(uid)
        return True


def _fetch_uid(response: bytes) -> int | None:
    m = _FETCH_UID.match(response)
    return int(m.group(1)) if m else None


def _response_end(buffer: bytes) -> int | None:
    """Where the first whole response (its line, and its literals and lines) ends."""
    start = 0
    while True:
        eol = buffer.find(b"\r\n", start)
        if eol < 0:
            return None
        line_end = eol + 2
        m = _LITERAL_AT_END.search(buffer, start, line_end)
        if m is None:
            return line_end
        start = line_end + int(m.group(1))
        if start > len(buffer):
            return None
