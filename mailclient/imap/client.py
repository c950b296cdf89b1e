"""IMAP connections. The only module that imports ``imapclient``.

Verification is always on (the system CAs plus the account's CA file, or the certificate the
user pinned for this server); STARTTLS, when chosen, is required: a server that does not
offer it is an error (RFC 3501 §6.2.1, RFC 8314).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import imapclient
import imapclient.exceptions

from mailclient.accounts.model import Account, Security
from mailclient.core.errors import (
    AuthenticationFailed,
    CannotConnect,
    CertificateNotTrusted,
    MailclientError,
    ProtocolError,
    StartTlsUnavailable,
    TlsError,
)
from mailclient.core.tls import check_pinned, client_context, describe_verify_error, pinned_failure

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerInfo:
    """What ``account test`` reports about an IMAP server."""

    host: str
    port: int
    security: Security
    capabilities: frozenset[str]
    folder_count: int


def _where(account: Account) -> str:
    return f"{account.imap_host}:{account.imap_port}"


def translate_error(account: Account, error: BaseException) -> Exception:
    """Turn a socket, TLS or imapclient error into one of our readable errors."""
    where = _where(account)
    pinned = account.pinned_pem(account.imap_host, account.imap_port)
    if isinstance(error, ssl.SSLCertVerificationError) and pinned:
        return pinned_failure(error, f"IMAP server {where}")
    if isinstance(error, ssl.SSLCertVerificationError):
        return CertificateNotTrusted(
            f"The certificate of the IMAP server {where} is not trusted "
            f"({describe_verify_error(error)}). If this server uses a private CA, give its "
            "certificate as the account's CA file."
        )
    if isinstance(error, ssl.SSLError):
        return TlsError(f"A secure connection to the IMAP server {where} failed: {error.reason}.")
    if isinstance(error, socket.gaierror):
        return CannotConnect(
            f"Cannot find the IMAP server {account.imap_host}: check the host name and your "
            "network connection."
        )
    if isinstance(error, ConnectionRefusedError):
        return CannotConnect(
            f"Cannot connect to the IMAP server {where}: nothing is listening there "
            "(connection refused). Check the host and port."
        )
    if isinstance(error, TimeoutError | socket.timeout):
        return CannotConnect(f"The IMAP server {where} did not answer in time.")
    if isinstance(error, imapclient.exceptions.LoginError):
        return AuthenticationFailed(
            f"The IMAP server {account.imap_host} rejected the password for {account.login}."
        )
    if isinstance(error, OSError | imapclient.exceptions.IMAPClientAbortError):
        return CannotConnect(f"The connection to the IMAP server {where} failed: {error}.")
    if isinstance(error, imapclient.exceptions.IMAPClientError):
        return ProtocolError(f"The IMAP server {where} answered with an error: {error}.")
    return error if isinstance(error, Exception) else RuntimeError(str(error))


def open_client(
    account: Account, password: str, timeout: float = DEFAULT_TIMEOUT
) -> imapclient.IMAPClient:
    """Connect, secure and log in; the returned client belongs to the calling thread."""
    pinned = account.pinned_pem(account.imap_host, account.imap_port)
    context = client_context(account.ca_file, pinned)
    client: Any = None
    try:
        if account.imap_security is Security.SSL:
            client = imapclient.IMAPClient(
                account.imap_host,
                port=account.imap_port,
                ssl=True,
                ssl_context=context,
                timeout=timeout,
            )
        else:
            client = imapclient.IMAPClient(
                account.imap_host, port=account.imap_port, ssl=False, timeout=timeout
            )
            if not client.has_capability("STARTTLS"):
                raise StartTlsUnavailable(
                    f"The IMAP server {_where(account)} does not offer STARTTLS, so the "
                    "password cannot be sent safely. Choose SSL/TLS (usually port 993) or "
                    "ask the provider to enable STARTTLS."
                )
            client.starttls(context)
        check_pinned(client.socket(), pinned, f"IMAP server {_where(account)}")
        client.login(account.login, password)
    except Exception as error:
        if client is not None:
            _close_quietly(client)
        if isinstance(error, MailclientError):
            raise
        raise translate_error(account, error) from error
    return client


def _close_quietly(client: imapclient.IMAPClient) -> None:
    with contextlib.suppress(Exception):
        client.shutdown()


def probe(account: Account, password: str, timeout: float = DEFAULT_TIMEOUT) -> ServerInfo:
    """Log in, look around and log out: the IMAP half of ``account test``."""
    client = open_client(account, password, timeout)
    try:
        capabilities = frozenset(
            c.decode("ascii", "replace").upper() for c in client.capabilities()
        )
        folder_count = len(client.list_folders())
        client.logout()
    except Exception as error:
        _close_quietly(client)
        raise translate_error(account, error) from error
    return ServerInfo(
        account.imap_host, account.imap_port, account.imap_security, capabilities, folder_count
    )
