"""The way into a mail server, shared by IMAP and SMTP: connect, secure the connection
(implicit TLS or a required STARTTLS, RFC 8314), check a pinned certificate, sign in, and
turn whatever failed on the way into one of our readable errors.

The protocol clients (mailclient.imap.client, mailclient.smtp.client) supply the steps
that speak their protocol as a ``Steps``; the order, the cleanup and the translation of
socket and TLS failures are here, once.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from mailclient.core.errors import CannotConnect, MailclientError
from mailclient.core.tls import (
    check_pinned,
    client_context,
    connection_error,
    starttls_unavailable,
)

C = TypeVar("C")


@dataclass(frozen=True)
class Endpoint:
    """One server of an account, with what its connection needs to trust."""

    service: str  # "IMAP", "SMTP": how messages name the server
    host: str
    port: int
    implicit_tls: bool  # SSL/TLS from the start; else STARTTLS, required
    implicit_tls_port: int  # the usual SSL/TLS port, named when STARTTLS is missing
    ca_file: str | None = None
    pinned_pem: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def server(self) -> str:
        """Like "IMAP server mail.example.org:993"."""
        return f"{self.service} server {self.where}"


class Steps(Protocol[C]):
    """What one protocol does at each step of opening a connection ``C``."""

    def connect_tls(self, context: ssl.SSLContext) -> C:
        """Connect with TLS from the start and read the greeting."""

    def connect_plain(self) -> C:
        """Connect without TLS and read the greeting (STARTTLS follows)."""

    def offers_starttls(self, connection: C) -> bool: ...

    def starttls(self, connection: C, context: ssl.SSLContext) -> None: ...

    def socket(self, connection: C) -> socket.socket | None:
        """The TLS socket under the connection, for the pin check."""

    def sign_in(self, connection: C) -> None:
        """Authenticate; raise our errors for a refusal."""

    def close(self, connection: C) -> None:
        """Drop a connection that failed half-way, never raising."""

    def translate(self, error: BaseException) -> Exception:
        """The readable error for ``error`` (see translate_error)."""


def open_connection(endpoint: Endpoint, steps: Steps[C]) -> C:
    """Connect, secure, check the pin, sign in: a connection ready for commands.

    Verification is always on (core.tls.client_context); the pin is compared after the
    handshake and before any credentials are sent. On failure the connection is closed
    and the error raised is one of ours.
    """
    context = client_context(endpoint.ca_file, endpoint.pinned_pem)
    connection: C | None = None
    try:
        if endpoint.implicit_tls:
            connection = steps.connect_tls(context)
        else:
            connection = steps.connect_plain()
            if not steps.offers_starttls(connection):
                raise starttls_unavailable(
                    endpoint.service, endpoint.where, endpoint.implicit_tls_port
                )
            steps.starttls(connection, context)
        check_pinned(steps.socket(connection), endpoint.pinned_pem, endpoint.server)
        steps.sign_in(connection)
    except Exception as error:
        if connection is not None:
            steps.close(connection)
        if isinstance(error, MailclientError):
            raise
        raise steps.translate(error) from error
    return connection


def translate_error(
    endpoint: Endpoint,
    error: BaseException,
    protocol_error: Callable[[BaseException], Exception | None],
) -> Exception:
    """Turn a socket, TLS or protocol library error into one of our readable errors.

    Socket and TLS failures first (core.tls.connection_error), then what
    ``protocol_error`` makes of the library's own errors; any other OSError is a lost
    connection; anything else is passed on as it is (a bug, not the network).
    """
    found = connection_error(
        error, endpoint.service, endpoint.host, endpoint.port, endpoint.pinned_pem is not None
    )
    if found is not None:
        return found
    translated = protocol_error(error)
    if translated is not None:
        return translated
    if isinstance(error, OSError):
        return CannotConnect(f"The connection to the {endpoint.server} failed: {error}.")
    return error if isinstance(error, Exception) else RuntimeError(str(error))
