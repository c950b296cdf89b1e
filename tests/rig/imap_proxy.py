"""An IMAPS front for a Dovecot that rewrites what the server says: servers Dovecot is not.

RFC 3501 lets a server leave things out that Dovecot always sends (UIDNEXT in SELECT, for
one). The proxy accepts TLS on 127.0.0.1 with the rig's certificate, talks plain IMAP to
the Dovecot behind it (a connection from 127.0.0.1 to 127.0.0.1 counts as secure there,
so LOGIN works without STARTTLS) and passes every line from the server through
``rewrite``: a line comes back changed, or None to drop it. Literals (``{n}`` at the end of
a line) are passed on untouched. What the client sends goes to the server as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .ca import CertificateFiles
from .relay import Pipe, Relay
from .tls_front import TlsFront

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


class RewritingProxy(TlsFront):
    """IMAPS on 127.0.0.1:``port`` in front of plain IMAP at ``upstream``."""

    def __init__(
        self, upstream: tuple[str, int], certs: CertificateFiles, rewrite: Rewrite
    ) -> None:
        self.rewrite = rewrite
        super().__init__(upstream, certs)

    def to_client(self, link: Relay) -> Pipe:
        buffer = b""
        literal = 0  # bytes of a literal still to pass on untouched
        while True:
            buffer += yield
            out = []
            while buffer:
                if literal:
                    part, buffer = buffer[:literal], buffer[literal:]
                    out.append(part)
                    literal -= len(part)
                    continue
                end = buffer.find(b"\n") + 1
                if not end:
                    break
                line, buffer = buffer[:end], buffer[end:]
                found = _LITERAL.search(line)
                if found:
                    out.append(line)
                    literal = int(found.group(1))
                    continue
                changed = self.rewrite(line)
                if changed is not None:
                    out.append(changed)
            link.to_client(b"".join(out))
