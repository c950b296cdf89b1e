"""One reading of socket and TLS failures for IMAP and SMTP (mailclient.core.tls)."""

from __future__ import annotations

import smtplib
import socket
import ssl

import imapclient.exceptions
import pytest

from mailclient.accounts.model import Account, Security
from mailclient.core.errors import (
    AuthenticationFailed,
    CannotConnect,
    CertificateChanged,
    CertificateNotTrusted,
    ProtocolError,
    TlsError,
)
from mailclient.core.tls import connection_error
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client

ACCOUNT = Account(
    name="work",
    email="ann@example.org",
    imap_host="imap.example.org",
    imap_port=993,
    imap_security=Security.SSL,
    smtp_host="smtp.example.org",
    smtp_port=465,
)


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"certificate verify failed: {message}")
    error.verify_code, error.verify_message = code, message
    return error


def ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    error.reason = reason  # as OpenSSL's errors come
    return error


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (verify_error(19, "self-signed certificate"), CertificateNotTrusted, "not trusted"),
        (ssl.SSLEOFError(8, "EOF occurred"), CannotConnect, "was cut off"),
        (ssl_error("WRONG_VERSION_NUMBER"), TlsError, "expects STARTTLS"),
        (ssl_error("UNSUPPORTED_PROTOCOL"), TlsError, "failed: UNSUPPORTED_PROTOCOL"),
        (socket.gaierror(-2, "Name or service not known"), CannotConnect, "Cannot find"),
        (ConnectionRefusedError(111, "refused"), CannotConnect, "connection refused"),
        (TimeoutError(), CannotConnect, "did not answer in time"),
    ],
)
def test_imap_and_smtp_read_a_failure_alike(
    error: BaseException, kind: type[Exception], text: str
) -> None:
    imap = imap_client.translate_error(ACCOUNT, error)
    smtp = smtp_client.translate_error(ACCOUNT, error)
    assert type(imap) is type(smtp) is kind
    assert text in str(imap) and text in str(smtp)
    assert "IMAP server imap.example.org" in str(imap)
    assert "SMTP server smtp.example.org" in str(smtp)


def test_a_pinned_server_with_another_certificate_is_a_changed_certificate() -> None:
    found = connection_error(
        verify_error(19, "self-signed certificate"), "IMAP", "h.test", 993, pinned=True
    )
    assert isinstance(found, CertificateChanged)


def test_protocol_errors_are_left_to_each_client() -> None:
    login = imapclient.exceptions.LoginError("bad")
    assert connection_error(login, "IMAP", "h.test", 993, pinned=False) is None
    # imapclient raises LoginError for a connection cut during LOGIN too: only the
    # server's tagged NO (read by imap.client._login) means a wrong password.
    assert not isinstance(imap_client.translate_error(ACCOUNT, login), AuthenticationFailed)
    refused = smtplib.SMTPAuthenticationError(535, b"5.7.8 no")
    assert connection_error(refused, "SMTP", "h.test", 465, pinned=False) is None
    assert isinstance(smtp_client.translate_error(ACCOUNT, refused), AuthenticationFailed)
    # smtplib's errors are OSErrors: a refusing reply must not read as a lost connection.
    reply = smtplib.SMTPResponseException(454, b"4.7.0 TLS not available")
    translated = smtp_client.translate_error(ACCOUNT, reply)
    assert isinstance(translated, ProtocolError)
    assert "answered: 454 4.7.0 TLS not available" in str(translated)
    later = smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure")
    assert isinstance(smtp_client.translate_error(ACCOUNT, later), CannotConnect)
    lost = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    assert isinstance(smtp_client.translate_error(ACCOUNT, lost), CannotConnect)
