"""SMTP connections that log their conversation at DEBUG, credentials and message data left out.

smtplib's own debug output goes to stderr and shows everything, AUTH included. Here each
command and reply goes to the ``mailclient.smtp.conversation`` logger instead: what follows
an AUTH command until the server's final answer to it (RFC 4954 §4: the initial response
and every answer to a 334 challenge) is replaced by a placeholder, and the message data
after a 354 only counted.
"""

from __future__ import annotations

import logging
import smtplib
from typing import TYPE_CHECKING

from mailclient.core.diagnostics import REDACTED

if TYPE_CHECKING:
    from typing_extensions import Buffer

log = logging.getLogger(__name__)


class LoggedSmtp(smtplib.SMTP):
    """smtplib.SMTP, with its conversation in the log when that logs DEBUG."""

    _in_auth = False  # the next lines we send answer the server's AUTH challenges
    _in_data = False  # the next lines we send are the message (after 354)

    def send(self, s: Buffer | str) -> None:
        if log.isEnabledFor(logging.DEBUG):
            self._log_sent(s.encode("utf-8", "replace") if isinstance(s, str) else bytes(s))
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        code, text = super().getreply()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s < %d %r", self._peer(), code, text)
        self._in_data = code == 354
        if code != 334:
            self._in_auth = False
        return code, text

    def _log_sent(self, data: bytes) -> None:
        peer = self._peer()
        if self._in_auth:
            log.debug("%s > %s", peer, REDACTED)
            return
        if self._in_data:
            log.debug("%s > (message data, %d bytes)", peer, len(data))
            return
        for line in data.splitlines():
            words = line.split(b" ", 2)
            if words[0].upper() == b"AUTH":
                self._in_auth = True
                mechanism = words[1].decode("ascii", "replace") if len(words) > 1 else ""
                initial = f" {REDACTED}" if len(words) > 2 else ""
                log.debug("%s > AUTH %s%s", peer, mechanism, initial)
            else:
                log.debug("%s > %r", peer, line)

    def _peer(self) -> str:
        return str(getattr(self, "_host", "?"))


class LoggedSmtpSsl(LoggedSmtp, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL (implicit TLS), with its conversation in the log like LoggedSmtp."""
