"""SMTP submission connections (RFC 6409) with ``smtplib``.

Implicit TLS (RFC 8314) or STARTTLS (RFC 3207); STARTTLS when chosen is required, never a
plaintext fallback. Certificate verification is always on: the account's CA file, else the
system CAs, or the certificate the user pinned for this server. The steps shared with IMAP
(connect, secure, check the pin, sign in, translate errors) are in core.connect.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

from mailclient.accounts.model import Account, AuthMethod, Security
from mailclient.accounts.signin import (
    Authenticator,
    Mechanism,
    Secret,
    choose_mechanism,
    sasl_error_reply,
    sasl_response,
)
from mailclient.core import connect
from mailclient.core.connect import Endpoint
from mailclient.core.errors import (
    AuthenticationFailed,
    CannotConnect,
    ProtocolError,
    SignInExpired,
)
from mailclient.core.tls import expect_greeting
from mailclient.smtp.conversation import LoggedSmtp, LoggedSmtpSsl

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


def endpoint(account: Account) -> Endpoint:
    """The account's submission server, with what its connection trusts."""
    return Endpoint(
        service="SMTP",
        host=account.smtp_host,
        port=account.smtp_port,
        implicit_tls=account.smtp_security is Security.SSL,
        implicit_tls_port=465,
        ca_file=account.ca_file,
        pinned_pem=account.pinned_pem(account.smtp_host, account.smtp_port),
    )


def translate_error(account: Account, error: BaseException) -> Exception:
    """Turn a socket, TLS or smtplib error into one of our readable errors."""
    return connect.translate_error(endpoint(account), error, lambda e: _smtp_error(account, e))


def _smtp_error(account: Account, error: BaseException) -> Exception | None:
    where = _where(account)
    if isinstance(error, smtplib.SMTPAuthenticationError) and 400 <= error.smtp_code < 500:
        # 454 (RFC 4954 §6): the server cannot check passwords just now; try again later.
        return CannotConnect(
            f"The SMTP server {where} cannot check passwords at the moment ({_reply_text(error)})."
        )
    if isinstance(error, smtplib.SMTPAuthenticationError) and account.auth is AuthMethod.OAUTH2:
        return SignInExpired(
            account.name,
            f"the SMTP server {account.smtp_host} did not accept the token: {_reply_text(error)}",
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # 535 (credentials invalid) and the other 5xx refusals of AUTH, such as 534 "use
        # an application password": the user has to give another password.
        return AuthenticationFailed(
            f"The SMTP server {account.smtp_host} rejected the password for {account.login} "
            f"({_reply_text(error)})."
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return CannotConnect(f"The connection to the SMTP server {where} failed: {error}.")
    # Before OSError: smtplib's errors are OSErrors too, but a reply is no lost connection.
    if isinstance(error, smtplib.SMTPResponseException):
        return ProtocolError(f"The SMTP server {where} answered: {_reply_text(error)}.")
    if isinstance(error, smtplib.SMTPException):
        return ProtocolError(f"The SMTP server {where} failed: {error}.")
    return None


class _PlainSmtp(LoggedSmtp):
    """SMTP that tells an implicit-TLS port quickly instead of waiting for a greeting."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        # As smtplib does it, with the greeting check after the connect.
        sock = socket.create_connection((host, port), timeout, self.source_address)
        try:
            expect_greeting(sock, "SMTP", host, port)
        except BaseException:
            sock.close()
            raise
        return sock


def max_message_size(smtp: smtplib.SMTP) -> int | None:
    """The SIZE the server announced in its EHLO reply (RFC 1870), or None."""
    value = smtp.esmtp_features.get("size", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def open_smtp(
    account: Account, auth: Authenticator, timeout: float = DEFAULT_TIMEOUT
) -> smtplib.SMTP:
    """Connect, secure and authenticate a submission connection."""
    # Asked first: without a password or sign-in there is nothing to connect for.
    secret = auth.secret("smtp")
    return connect.open_connection(endpoint(account), _SmtpSteps(account, auth, secret, timeout))


@dataclass
class _SmtpSteps:
    """Opening a submission connection with smtplib (see connect.Steps)."""

    account: Account
    auth: Authenticator
    secret: Secret
    timeout: float

    def connect_tls(self, context: ssl.SSLContext) -> smtplib.SMTP:
        account = self.account
        smtp = LoggedSmtpSsl(
            account.smtp_host, account.smtp_port, timeout=self.timeout, context=context
        )
        self._ehlo(smtp)
        return smtp

    def connect_plain(self) -> smtplib.SMTP:
        smtp = _PlainSmtp(self.account.smtp_host, self.account.smtp_port, timeout=self.timeout)
        self._ehlo(smtp)
        return smtp

    def _ehlo(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.ehlo()
        except BaseException:
            _close_quietly(smtp)
            raise

    def offers_starttls(self, connection: smtplib.SMTP) -> bool:
        return connection.has_extn("starttls")

    def starttls(self, connection: smtplib.SMTP, context: ssl.SSLContext) -> None:
        connection.starttls(context=context)
        connection.ehlo()

    def socket(self, connection: smtplib.SMTP) -> socket.socket | None:
        return connection.sock

    def sign_in(self, connection: smtplib.SMTP) -> None:
        if not connection.has_extn("auth"):
            raise ProtocolError(
                f"The SMTP server {_where(self.account)} does not offer authentication on "
                "this port; a submission port (587 or 465) usually does."
            )
        _sign_in(connection, self.account, self.auth, self.secret)

    def close(self, connection: smtplib.SMTP) -> None:
        _close_quietly(connection)

    def translate(self, error: BaseException) -> Exception:
        return translate_error(self.account, error)


def _sign_in(smtp: smtplib.SMTP, account: Account, auth: Authenticator, secret: Secret) -> None:
    """AUTH (RFC 4954): smtplib's PLAIN/LOGIN/CRAM-MD5 choice for a password; XOAUTH2 or
    OAUTHBEARER for a token, once more with a fresh token when the server refuses ``secret``."""
    if auth.method is AuthMethod.PASSWORD:
        if secret.value.isascii():
            smtp.login(account.login, secret.value)
        else:
            _auth_plain_utf8(smtp, account, secret.value)
        return
    offered = smtp.esmtp_features.get("auth", "").split()
    mechanism = choose_mechanism(offered, auth.mechanism, f"SMTP server {_where(account)}")
    for attempt in range(2):
        if attempt:
            secret = auth.secret("smtp")
        response = sasl_response(mechanism, secret, account.smtp_host, account.smtp_port)
        try:
            smtp.auth(mechanism.value, _answers(response, mechanism), initial_response_ok=True)
            return
        except smtplib.SMTPAuthenticationError as error:
            if not 500 <= error.smtp_code < 600 or attempt:
                raise
            if not auth.rejected("smtp", secret):
                raise


def _auth_plain_utf8(smtp: smtplib.SMTP, account: Account, password: str) -> None:
    """AUTH PLAIN with the password in UTF-8 (RFC 4616 §2), for a password that is not
    ASCII: smtplib encodes every AUTH response as ASCII and would fail before sending."""
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" not in offered:
        raise ProtocolError(
            f"The SMTP server {_where(account)} offers no AUTH PLAIN, the only way this "
            "program sends a password with characters beyond ASCII "
            f"(it offers {', '.join(offered) or 'nothing'})."
        )
    message = b"\0" + account.login.encode("utf-8") + b"\0" + password.encode("utf-8")
    code, reply = smtp.docmd("AUTH", "PLAIN " + base64.b64encode(message).decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _answers(response: bytes, mechanism: Mechanism) -> Callable[..., str]:
    """smtplib's authobject: the initial response first; asked again only with the
    server's error details (a 334), answered so that its final refusal follows."""
    answers = iter([response.decode("utf-8")])

    def answer(challenge: bytes | None = None) -> str:
        return next(answers, sasl_error_reply(mechanism).decode("ascii"))

    return answer


def _close_quietly(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        smtp.close()


def probe(account: Account, auth: Authenticator, timeout: float = DEFAULT_TIMEOUT) -> SmtpInfo:
    """Log in and log out: the SMTP half of ``account test``."""
    smtp = open_smtp(account, auth, timeout)
    try:
        extensions = frozenset(k.upper() for k in smtp.esmtp_features)
        max_size = max_message_size(smtp)
        smtp.quit()
    except Exception as error:
        _close_quietly(smtp)
        raise translate_error(account, error) from error
    return SmtpInfo(
        account.smtp_host, account.smtp_port, account.smtp_security, extensions, max_size
    )
