"""The IMAP conversation of the sync's own reader in the log, at DEBUG.

imapclient logs what goes through imaplib (LOGIN and AUTHENTICATE redacted) to its
``imapclient.imaplib`` logger; the bulk commands of a sync bypass imaplib (mailclient.imap
.wire), so their lines are logged here, to ``mailclient.imap.conversation``. Literals (the
headers and bodies of messages) are only counted. At any other level the reader gets the
connection's own functions: logging costs the sync nothing then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def logged_io(
    peer: str,
    readline: Callable[[int], bytes],
    read: Callable[[int], bytes],
    send: Callable[[bytes], None],
) -> tuple[Callable[[int], bytes], Callable[[int], bytes], Callable[[bytes], None]]:
    """``readline``, ``read`` and ``send`` of a connection to ``peer``, logging when DEBUG."""
    if not log.isEnabledFor(logging.DEBUG):
        return readline, read, send

    def logged_readline(limit: int) -> bytes:
        line = readline(limit)
        log.debug("%s < %r", peer, line)
        return line

    def logged_read(size: int) -> bytes:
        data = read(size)
        log.debug("%s < (literal, %d bytes)", peer, len(data))
        return data

    def logged_send(data: bytes) -> None:
        log.debug("%s > %r", peer, data)
        send(data)

    return logged_readline, logged_read, logged_send
