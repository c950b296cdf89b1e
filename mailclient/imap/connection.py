"""The IMAP connection: imapclient's IMAPClient, and every use of its private parts.

imapclient (over imaplib) owns the connection (see the package docstring). What it gives no
public way to do is done here and nowhere else: making the socket through an AbortSwitch
(imapclient's _create_IMAP4 and imaplib's _create_socket), LOGIN and AUTHENTICATE with
their tagged answer visible (imaplib's _simple_command, literal, _quote, state), and
handing imaplib's buffered reader to wire.ResponseReader (``_imap.file``, ``_imap.send``).
pyproject.toml pins the imapclient releases these were checked against;
tests/unit/test_imap_connection_seam.py fails, naming the part, when one of them changes.

``Connection`` types the public methods of IMAPClient that this package calls (imapclient
ships no type hints).
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import imapclient
from imapclient import imap4, tls

from mailclient.core.abort import AbortSwitch
from mailclient.core.tls import expect_greeting

# What LIST and LSUB return per folder: flags, delimiter, name.
Listed = tuple[tuple[bytes, ...], bytes | None, str]


class Namespaces(NamedTuple):
    """NAMESPACE (RFC 2342): per kind, (prefix, delimiter) pairs, or None."""

    personal: Sequence[tuple[str | bytes, str | bytes | None]] | None
    other: Sequence[tuple[str | bytes, str | bytes | None]] | None
    shared: Sequence[tuple[str | bytes, str | bytes | None]] | None


class Connection(Protocol):
    """A connected (and, after open_client, logged-in) IMAPClient, as this package uses it."""

    def capabilities(self) -> tuple[bytes, ...]: ...
    def has_capability(self, capability: str) -> bool: ...
    def starttls(self, ssl_context: ssl.SSLContext | None = None) -> bytes: ...
    def socket(self) -> socket.socket: ...
    def namespace(self) -> Namespaces: ...
    def list_folders(self, directory: str = "", pattern: str = "*") -> list[Listed]: ...
    def list_sub_folders(self, directory: str = "", pattern: str = "*") -> list[Listed]: ...
    def create_folder(self, folder: str) -> bytes: ...
    def subscribe_folder(self, folder: str) -> bytes: ...
    def select_folder(self, folder: str, readonly: bool = False) -> Mapping[bytes, Any]: ...
    def search(self, criteria: Sequence[str], charset: str | None = None) -> list[int]: ...
    def append(
        self,
        folder: str,
        msg: bytes,
        flags: Sequence[str] = (),
        msg_time: datetime | None = None,
    ) -> bytes: ...
    def add_flags(
        self, messages: Sequence[int], flags: Sequence[str], silent: bool = False
    ) -> object: ...
    def uid_expunge(self, messages: Sequence[int]) -> object: ...
    def expunge(self) -> object: ...
    def idle(self) -> bytes: ...
    def idle_check(self, timeout: float | None = None) -> list[tuple[Any, ...]]: ...
    def idle_done(self) -> tuple[bytes, list[tuple[Any, ...]]]: ...
    def logout(self) -> bytes: ...
    def shutdown(self) -> None: ...


class _AbortableSocket:
    """For imaplib's IMAP4 classes: the socket comes from an AbortSwitch, which stops
    watching it when the connection is shut down."""

    _abort: AbortSwitch
    _release: Callable[[], None]
    host: str
    port: int

    def _abortable_socket(self, timeout: float | None) -> socket.socket:
        sock, self._release = self._abort.connect(self.host, self.port, timeout)
        return sock

    def shutdown(self) -> None:
        self._release()
        super().shutdown()  # type: ignore[misc]


class _PlainImap(_AbortableSocket, imap4.IMAP4WithTimeout):  # type: ignore[misc]
    def __init__(self, abort: AbortSwitch, host: str, port: int, timeout: float | None) -> None:
        self._abort, self._release = abort, _nothing
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = self._abortable_socket(timeout if timeout is not None else self._timeout)
        try:
            expect_greeting(sock, "IMAP", self.host, self.port, self._abort.connect)
        except BaseException:
            self._release()
            sock.close()
            raise
        return sock


class _TlsImap(_AbortableSocket, tls.IMAP4_TLS):  # type: ignore[misc]
    def __init__(
        self,
        abort: AbortSwitch,
        host: str,
        port: int,
        context: ssl.SSLContext,
        timeout: float | None,
    ) -> None:
        self._abort, self._release = abort, _nothing
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = self._abortable_socket(timeout if timeout is not None else self._timeout)
        try:
            wrapped: socket.socket = tls.wrap_socket(sock, self.ssl_context, self.host)
        except BaseException:
            self._release()
            sock.close()
            raise
        return wrapped


class _Client(imapclient.IMAPClient):  # type: ignore[misc]
    """IMAPClient whose connection an AbortSwitch can cut from another thread.

    imapclient has no hook for the socket but _create_IMAP4, which builds imaplib's
    connection object; ours make their socket through the switch (both of imapclient's
    IMAP4 classes open it with imaplib's _create_socket since imapclient 3.1).
    """

    def __init__(self, abort: AbortSwitch, *args: Any, **kwargs: Any) -> None:
        self._abort = abort
        super().__init__(*args, **kwargs)

    def _create_IMAP4(self) -> Any:
        timeout = self._timeout.connect
        if self.ssl:
            return _TlsImap(self._abort, self.host, self.port, self.ssl_context, timeout)
        return _PlainImap(self._abort, self.host, self.port, timeout)


def _nothing() -> None:
    pass


def connect(
    abort: AbortSwitch,
    host: str,
    port: int,
    context: ssl.SSLContext | None,
    timeout: float,
) -> Connection:
    """Connect and read the greeting: with TLS from the start when ``context`` is given."""
    if context is not None:
        client: Connection = _Client(
            abort, host, port=port, ssl=True, ssl_context=context, timeout=timeout
        )
    else:
        client = _Client(abort, host, port=port, ssl=False, timeout=timeout)
    return client


def wire_io(
    connection: Connection,
) -> tuple[Callable[[int], bytes], Callable[[int], bytes], Callable[[bytes], None]]:
    """``readline``, ``read`` and ``send`` of imaplib's buffered connection, for
    wire.ResponseReader: the seam through which our reader speaks on the same socket."""
    imap = connection._imap  # type: ignore[attr-defined]
    return imap.file.readline, imap.file.read, imap.send


def command(
    connection: Connection, name: str, *args: str, literal: bytes | None = None
) -> tuple[str, list[bytes | tuple[bytes, bytes]]]:
    """Run one command through imaplib; its tagged status ("OK", "NO") and data.

    ``literal`` is sent as a literal after the other arguments (RFC 3501 §4.3), once the
    server asked for it. A tagged BAD raises imaplib.IMAP4.error, a broken connection
    imaplib.IMAP4.abort or OSError.
    """
    imap = connection._imap  # type: ignore[attr-defined]
    if literal is not None:
        imap.literal = literal
    status, data = imap._simple_command(name, *args)
    return status, data


def authenticate(
    connection: Connection, mechanism: str, answer: Callable[[bytes], bytes]
) -> tuple[str, list[bytes | tuple[bytes, bytes]]]:
    """AUTHENTICATE ``mechanism`` (RFC 3501 §6.2.2) through imaplib; ``answer`` gets each
    challenge (decoded) and returns the response (imaplib encodes it)."""
    imap = connection._imap  # type: ignore[attr-defined]
    imap.literal = imaplib._Authenticator(answer).process
    status, data = imap._simple_command("AUTHENTICATE", mechanism)
    return status, data


def quote(connection: Connection, text: str) -> str:
    """``text`` as an IMAP quoted string, as imaplib's own LOGIN quotes the password."""
    quoted: str = connection._imap._quote(text)  # type: ignore[attr-defined]
    return quoted


def signed_in(connection: Connection) -> None:
    """Record the authenticated state, as imaplib's login() does, after our own LOGIN or
    AUTHENTICATE: imaplib refuses commands that its state does not allow."""
    connection._imap.state = "AUTH"  # type: ignore[attr-defined]
