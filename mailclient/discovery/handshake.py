"""Reaching a mail server up to its TLS handshake, without logging in.

Discovery uses this to test a guessed server before offering it, and the certificate
dialog uses it to fetch a certificate the user is asked about. Only the greeting, the
STARTTLS command (RFC 3501 §6.2.1, RFC 3207) and a polite goodbye are sent: never a
user name or a password.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from mailclient.accounts.model import Account, Security
from mailclient.core.errors import (
    CannotConnect,
    CertificateNotTrusted,
    MailclientError,
    ProtocolError,
    StartTlsUnavailable,
    TlsError,
)
from mailclient.core.tls import describe_verify_error
from mailclient.discovery.network import Network

MAX_LINE = 8192


class Protocol(StrEnum):
    IMAP = "imap"
    SMTP = "smtp"


@dataclass(frozen=True)
class Endpoint:
    protocol: Protocol
    host: str
    port: int
    security: Security

    def __str__(self) -> str:
        return f"{self.protocol.upper()} server {self.host}:{self.port}"

    @classmethod
    def of(cls, account: Account, protocol: Protocol) -> Endpoint:
        """The account's server for ``protocol``."""
        if protocol is Protocol.IMAP:
            return cls(protocol, account.imap_host, account.imap_port, account.imap_security)
        return cls(protocol, account.smtp_host, account.smtp_port, account.smtp_security)


def check(endpoint: Endpoint, network: Network) -> None:
    """Raise a readable error unless ``endpoint`` speaks its protocol over verified TLS."""
    with _reach(endpoint, network, network.mail_context()) as tls:
        _goodbye(endpoint, tls)


def presented_certificate(endpoint: Endpoint, network: Network) -> bytes:
    """The DER certificate ``endpoint`` presents, whether or not it would be trusted.

    The connection is closed right after the handshake: nothing is sent over it, so a
    server that is not trusted learns nothing from this.
    """
    with _reach(endpoint, network, _inspection_context()) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise TlsError(f"The {endpoint} presented no certificate.")
    return der


def _inspection_context() -> ssl.SSLContext:
    # Verification is off only to read a certificate that will be shown to the user;
    # presented_certificate() sends nothing over this connection.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@contextlib.contextmanager
def _reach(
    endpoint: Endpoint, network: Network, context: ssl.SSLContext
) -> Iterator[ssl.SSLSocket]:
    raw: socket.socket | None = None
    tls: ssl.SSLSocket | None = None
    try:
        raw = network.connect(endpoint.host, endpoint.port)
        if endpoint.security is Security.SSL:
            tls = context.wrap_socket(raw, server_hostname=endpoint.host)
            with tls.makefile("rb") as reader:
                _greeting(endpoint, reader)
        else:
            with raw.makefile("rb") as reader:
                _greeting(endpoint, reader)
                _starttls(endpoint, raw, reader)
            tls = context.wrap_socket(raw, server_hostname=endpoint.host)
        yield tls
    except MailclientError:
        raise
    except ssl.SSLCertVerificationError as error:
        raise CertificateNotTrusted(
            f"The certificate of the {endpoint} is not trusted ({describe_verify_error(error)})."
        ) from error
    except ssl.SSLError as error:
        raise TlsError(f"A secure connection to the {endpoint} failed: {error.reason}.") from error
    except socket.gaierror as error:
        raise CannotConnect(f"There is no server named {endpoint.host}.") from error
    except ConnectionRefusedError as error:
        raise CannotConnect(f"Nothing answers at {endpoint.host}:{endpoint.port}.") from error
    except TimeoutError as error:
        raise CannotConnect(f"The {endpoint} did not answer in time.") from error
    except OSError as error:
        raise CannotConnect(f"The connection to the {endpoint} failed: {error}.") from error
    finally:
        for sock in (tls, raw):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


def _read_line(endpoint: Endpoint, reader: BinaryIO) -> str:
    line = reader.readline(MAX_LINE)
    if not line:
        raise ProtocolError(f"The {endpoint} closed the connection.")
    return line.decode("utf-8", "replace").rstrip("\r\n")


def _smtp_reply(endpoint: Endpoint, reader: BinaryIO) -> tuple[int, list[str]]:
    lines = []
    while True:
        line = _read_line(endpoint, reader)
        if len(line) < 3 or not line[:3].isdigit():
            raise ProtocolError(f"The {endpoint} does not speak SMTP: it said {line[:80]!r}.")
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines


def _greeting(endpoint: Endpoint, reader: BinaryIO) -> None:
    if endpoint.protocol is Protocol.IMAP:
        line = _read_line(endpoint, reader)
        if not line.upper().startswith(("* OK", "* PREAUTH")):
            raise ProtocolError(f"The {endpoint} does not speak IMAP: it said {line[:80]!r}.")
        return
    code, lines = _smtp_reply(endpoint, reader)
    if code != 220:
        raise ProtocolError(f"The {endpoint} does not accept mail now: {code} {lines[0]}.")


def _starttls(endpoint: Endpoint, raw: socket.socket, reader: BinaryIO) -> None:
    send = raw.sendall
    refused = StartTlsUnavailable(f"The {endpoint} does not offer STARTTLS.")
    if endpoint.protocol is Protocol.IMAP:
        send(b"a1 STARTTLS\r\n")
        while True:
            line = _read_line(endpoint, reader)
            if line.startswith("a1 "):
                if not line[3:].upper().startswith("OK"):
                    raise refused
                return
    send(b"EHLO localhost\r\n")
    code, lines = _smtp_reply(endpoint, reader)
    if code != 250 or not any(line.upper().startswith("STARTTLS") for line in lines):
        raise refused
    send(b"STARTTLS\r\n")
    code, _ = _smtp_reply(endpoint, reader)
    if code != 220:
        raise refused


def _goodbye(endpoint: Endpoint, tls: ssl.SSLSocket) -> None:
    with contextlib.suppress(OSError):
        tls.sendall(b"a2 LOGOUT\r\n" if endpoint.protocol is Protocol.IMAP else b"QUIT\r\n")
