"""A TLS proxy in front of the rig's Dovecot or Postfix that cuts (or answers) sign-ins.

The client sees a TLS server with the rig's certificate, as if it were the real one; the
proxy speaks TLS to the real server and reads the client's side line by line, so it knows
when a sign-in starts: an IMAP ``<tag> LOGIN`` or ``AUTHENTICATE``, an SMTP ``AUTH``.
"""

from __future__ import annotations

import re

from tests.rig import CertificateFiles
from tests.rig.relay import Pipe, Relay
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
        super().__init__(upstream, certificates, upstream_tls=True)

    def to_server(self, link: Relay) -> Pipe:
        buffer = b""
        while True:
            buffer += yield
            *lines, buffer = buffer.split(b"\n")
            out: list[bytes] = []
            for line in lines:
                sign_in = _SIGN_IN.match(line)
                if sign_in:
                    with self._lock:
                        self.sign_ins += 1
                        cut = self.cut_sign_ins > 0
                        if cut:
                            self.cut_sign_ins -= 1
                            self.cuts += 1
                    if cut:
                        link.to_server(b"".join(out))
                        return
                    if self.answer is not None:
                        tag = sign_in.group(1) or b""
                        link.to_client(self.answer.replace(b"{tag}", tag))
                        continue
                out.append(line + b"\n")
            link.to_server(b"".join(out))
