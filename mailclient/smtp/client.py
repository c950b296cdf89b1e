"""SMTP submission connections (RFC 6409) with ``smtplib``.

Implicit TLS (RFC 8314) or STARTTLS (RFC 3207); STARTTLS when chosen is required, never a
plaintext fallback. Certificate verification is always on: the system CAs plus the account's
CA file, or the certificate the user pinned for this server.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
from dataclasses import dataclass

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
class SmtpInfo:
    """What ``account test`` reports about a submission server."""

    host: str
    port: int
    security: Security
    extensions: frozenset[str]
    max_size: int | None


def _where(account: Account) -> str:
    return f"{account.smtp_host}:{account.smtp_port}"


def _reply_text(error: smtplib.SMTPResponseException) -> str:
    message = error.smtp_error
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{error.smtp_code} {text}".strip()


def translate_error(account: Account, error: BaseException) -> Exception:
    """Turn a socket, TLS or smtplib error into one of our readable errors."""
    where = _where(account)
    pinned = account.pinned_pem(account.smtp_host, account.smtp_port)
    if isinstance(error, ssl.SSLCertVerificationError) and pinned:
        return pinned_failure(error, f"SMTP server {where}")
    if isinstance(error, ssl.SSLCertVerificationError):
        return CertificateNotTrusted(
            f"The certificate of the SMTP server {where} is not trusted "
            f"({describe_verify_error(error)}). If this server uses a private CA, give its "
            "certificate as the account's CA file."
        )
    if isinstance(error, ssl.SSLError):
        return TlsError(f"A secure connection to the SMTP server {where} failed: {error.reason}.")
    if isinstance(error, socket.gaierror):
        return CannotConnect(
            f"Cannot find the SMTP server {account.smtp_host}: check the host name and your "
            "network connection."
        )
    if isinstance(error, ConnectionRefusedError):
        return CannotConnect(
            f"Cannot connect to the SMTP server {where}: nothing is listening there "
            "(connection refused). Check the host and port."
        )
    if isinstance(error, TimeoutError | socket.timeout):
        return CannotConnect(f"The SMTP server {where} did not answer in time.")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return AuthenticationFailed(
            f"The SMTP server {account.smtp_host} rejected the password for {account.login} "
            f"({_reply_text(error)})."
        )
    if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
        return CannotConnect(f"The connection to the SMTP server {where} failed: {error}.")
    if isinstance(error, smtplib.SMTPResponseException):
        return ProtocolError(f"The SMTP server {where} answered: {_reply_text(error)}.")
    if isinstance(error, smtplib.SMTPException):
        return ProtocolError(f"The SMTP server {where} failed: {error}.")
    return error if isinstance(error, Exception) else RuntimeError(str(error))


def open_smtp(account: Account, password: str, timeout: float = DEFAULT_TIMEOUT) -> smtplib.SMTP:
    """Connect, secure and authenticate a submission connection."""
    pinned = account.pinned_pem(account.smtp_host, account.smtp_port)
    context = client_context(account.ca_file, pinned)
    smtp: smtplib.SMTP | None = None
    try:
        if account.smtp_security is Security.SSL:
            smtp = smtplib.SMTP_SSL(
                account.smtp_host, account.smtp_port, timeout=timeout, context=context
            )
            smtp.ehlo()
        else:
            smtp = smtplib.SMTP(account.smtp_host, account.smtp_port, timeout=timeout)
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise StartTlsUnavailable(
                    f"The SMTP server {_where(account)} does not offer STARTTLS, so the "
                    "password cannot be sent safely. Choose SSL/TLS (usually port 465) or "
                    "ask the provider to enable STARTTLS."
                )
            smtp.starttls(context=context)
            smtp.ehlo()
        check_pinned(smtp.sock, pinned, f"SMTP server {_where(account)}")
        if not smtp.has_extn("auth"):
            raise ProtocolError(
                f"The SMTP server {_where(account)} does not offer authentication on this "
                "port; a submission port (587 or 465) usually does."
            )
        smtp.login(account.login, password)
    except Exception as error:
        if smtp is not None:
            _close_quietly(smtp)
        if isinstance(error, MailclientError):
            raise
        raise translate_error(account, error) from error
    return smtp


def _close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        smtp.close()


def probe(account: Account, password: str, timeout: float = DEFAULT_TIMEOUT) -> SmtpInfo:
    """Log in and log out: the SMTP half of ``account test``."""
    smtp = open_smtp(account, password, timeout)
    try:
        extensions = frozenset(k.upper() for k in smtp.esmtp_features)
        size_value = smtp.esmtp_features.get("size", "").strip()
        max_size = int(size_value) if size_value.isdigit() and int(size_value) > 0 else None
        smtp.quit()
    except Exception as error:
        _close_quietly(smtp)
        raise translate_error(account, error) from error
    return SmtpInfo(
        account.smtp_host, account.smtp_port, account.smtp_security, extensions, max_size
    )
