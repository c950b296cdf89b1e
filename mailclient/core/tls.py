"""TLS contexts with verification always on, certificates pinned by an explicit choice, and
readable errors for what goes wrong on the way to a server (shared by IMAP and SMTP)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from mailclient.core.errors import (
    CannotConnect,
    CertificateChanged,
    CertificateNotTrusted,
    MailclientError,
    StartTlsUnavailable,
    TlsError,
)

# How long a server that is asked for its greeting (STARTTLS, no TLS) may stay silent
# before we check whether it waits for a TLS handshake instead: an implicit-TLS port.
GREETING_WAIT = 3.0
# What OpenSSL says when the server answered a ClientHello with plain text: a port that
# expects STARTTLS or no TLS at all (its greeting is no TLS record).
_PLAIN_TEXT_REPLIES = frozenset(
    {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"}
)
# TLS record types a server answers a ClientHello with: alert (21) and handshake (22).
_TLS_RECORDS = (0x15, 0x16)

# OpenSSL's X509_V_ERR_* codes for a certificate outside its validity dates.
_X509_V_ERR_CERT_NOT_YET_VALID = 9
_X509_V_ERR_CERT_HAS_EXPIRED = 10


def client_context(
    ca_file: Path | str | None = None, pinned_pem: str | None = None
) -> ssl.SSLContext:
    """A verifying client context that trusts only what the account's trust needs.

    Without a pin: the CAs of ``ca_file`` when given (a server with a private CA), else the
    system's CAs; the host name is checked. Loading the system store costs tens of
    milliseconds per connection, which an account with its own CA does not need to pay.
    With ``pinned_pem`` (a certificate the user chose to trust for this server): that
    certificate is the only trust anchor. The chain is still verified (signature, validity
    dates); the host name is not checked because the user trusted this exact certificate,
    whose fingerprint check_pinned() compares after the handshake, before any credentials
    are sent. There is deliberately no switch that turns verification off.
    """
    if pinned_pem:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = False
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=pinned_pem)
        # A self-signed or leaf certificate is itself the anchor, not a CA above it.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context
    # Given a CA file, create_default_context() loads that file instead of the system store.
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def certificate_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint as people compare it: upper-case hex pairs joined by colons."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def pem_to_der(pem: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem)


def der_to_pem(der: bytes) -> str:
    return ssl.DER_cert_to_PEM_cert(der)


def check_pinned(sock: socket.socket | None, pinned_pem: str | None, where: str) -> None:
    """Raise CertificateChanged unless the peer presented exactly the pinned certificate.

    Call after the handshake and before sending credentials. Does nothing without a pin.
    """
    if not pinned_pem:
        return
    presented = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    expected = hashlib.sha256(pem_to_der(pinned_pem)).digest()
    if presented is None or not hmac.compare_digest(hashlib.sha256(presented).digest(), expected):
        raise CertificateChanged(changed_message(where))


def changed_message(where: str) -> str:
    return (
        f"The {where} presented a certificate that is not the one you trusted for "
        "this account, so nothing was sent to it. This happens when the server's certificate "
        "was renewed, or when someone is intercepting the connection: check the new "
        "certificate before trusting it."
    )


def pinned_failure(error: ssl.SSLCertVerificationError, where: str) -> CertificateNotTrusted:
    """The error for a failed handshake with a server whose certificate the user pinned.

    ``where`` names the server, like "IMAP server mail.example.org:993".
    """
    if error.verify_code in (_X509_V_ERR_CERT_NOT_YET_VALID, _X509_V_ERR_CERT_HAS_EXPIRED):
        return CertificateNotTrusted(
            f"The certificate you trusted for the {where} is not valid at this date "
            f"({describe_verify_error(error)}). Ask the server's administrator to renew it."
        )
    return CertificateChanged(changed_message(where))


def describe_verify_error(error: ssl.SSLCertVerificationError) -> str:
    """A short human phrase for why a certificate was not accepted."""
    message = error.verify_message or error.reason or str(error)
    return str(message).rstrip(".")


def connection_error(
    error: BaseException, service: str, host: str, port: int, pinned: bool
) -> MailclientError | None:
    """The readable error for a socket or TLS failure on the way to the ``service`` server
    ("IMAP", "SMTP") at ``host``:``port``; None when ``error`` is neither (the protocol
    client then says what it was). ``pinned``: the user pinned this server's certificate.
    """
    where = f"{host}:{port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        if pinned:
            return pinned_failure(error, f"{service} server {where}")
        return CertificateNotTrusted(
            f"The certificate of the {service} server {where} is not trusted "
            f"({describe_verify_error(error)}). If this server uses a private CA, give its "
            "certificate as the account's CA file."
        )
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError | ssl.SSLSyscallError) or (
        isinstance(error, ssl.SSLError) and (error.reason is None or "EOF" in error.reason)
    ):
        # The TLS layer saw the connection end: a dropped connection, worth retrying.
        return CannotConnect(f"The connection to the {service} server {where} was cut off.")
    if isinstance(error, ssl.SSLError) and error.reason in _PLAIN_TEXT_REPLIES:
        return TlsError(
            f"The {service} server {where} does not use SSL/TLS from the start on this port: "
            "it expects STARTTLS (or no TLS). Choose STARTTLS as the security for this port, "
            "or SSL/TLS with the server's SSL port."
        )
    if isinstance(error, ssl.SSLError):
        return TlsError(
            f"A secure connection to the {service} server {where} failed: {error.reason}."
        )
    if isinstance(error, socket.gaierror):
        return CannotConnect(
            f"Cannot find the {service} server {host}: check the host name and your "
            "network connection."
        )
    if isinstance(error, ConnectionRefusedError):
        return CannotConnect(
            f"Cannot connect to the {service} server {where}: nothing is listening there "
            "(connection refused). Check the host and port."
        )
    if isinstance(error, TimeoutError | socket.timeout):
        return CannotConnect(f"The {service} server {where} did not answer in time.")
    return None


def starttls_unavailable(service: str, where: str, implicit_tls_port: int) -> StartTlsUnavailable:
    """The error for a server that does not offer the STARTTLS we require (RFC 8314)."""
    return StartTlsUnavailable(
        f"The {service} server {where} does not offer STARTTLS, so the password cannot be "
        f"sent safely. Choose SSL/TLS (usually port {implicit_tls_port}) or ask the provider "
        "to enable STARTTLS."
    )


# Makes a connection, and returns it with what to call once it is closed (as
# AbortSwitch.connect does).
Connect = Callable[[str, int, float], tuple[socket.socket, Callable[[], None]]]


def _plain_connect(
    host: str, port: int, timeout: float
) -> tuple[socket.socket, Callable[[], None]]:
    return socket.create_connection((host, port), timeout), _nothing


def _nothing() -> None:
    pass


def expect_greeting(
    sock: socket.socket, service: str, host: str, port: int, connect: Connect = _plain_connect
) -> None:
    """For a connection that expects the server to speak first (STARTTLS or no TLS):
    return once the greeting is there to read, or quickly raise TlsError if the port
    waits for a TLS handshake instead (an SSL/TLS port), rather than time out.

    A server silent for GREETING_WAIT seconds is asked, on a second connection made with
    ``connect`` (an AbortSwitch's, say), to answer a ClientHello; a TLS record back means
    an implicit-TLS port. Anything else: a slow server, whose greeting is then awaited as
    long as the socket's timeout allows.
    """
    timeout = sock.gettimeout()
    wait = GREETING_WAIT if timeout is None else min(GREETING_WAIT, timeout)
    if _readable(sock, wait):
        return
    if _speaks_tls(host, port, wait, connect):
        raise TlsError(
            f"The {service} server {host}:{port} expects SSL/TLS from the start on this port "
            "and does not offer STARTTLS here. Choose SSL/TLS as the security for this port."
        )


def _readable(sock: socket.socket, wait: float) -> bool:
    # A selector, not select(): a busy process may have descriptors above FD_SETSIZE.
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(wait))


def _speaks_tls(host: str, port: int, timeout: float, connect: Connect) -> bool:
    """Whether ``host``:``port`` answers a TLS ClientHello with a TLS record. The handshake
    goes no further than the server's first answer: nothing is sent after the hello."""
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    hello = context.wrap_bio(incoming, outgoing, server_hostname=host)
    with contextlib.suppress(ssl.SSLWantReadError):
        hello.do_handshake()
    deadline = time.monotonic() + timeout
    try:
        probe, release = connect(host, port, timeout)
    except OSError:
        return False
    try:
        probe.sendall(outgoing.read())
        probe.settimeout(max(deadline - time.monotonic(), 0.01))
        reply = probe.recv(3)
    except OSError:
        return False
    finally:
        release()
        probe.close()
    return len(reply) >= 2 and reply[0] in _TLS_RECORDS and reply[1] == 0x03
