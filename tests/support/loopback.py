"""Small servers on 127.0.0.1 for the account-setup tests: HTTPS, DNS and a TLS IMAP endpoint.

Each picks a free port, serves on a daemon thread, and stops when its ``with`` block ends.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailclient.discovery import SrvRecord


@dataclass
class CertKey:
    """A certificate and its key in PEM, as a server loads them."""

    cert_pem: bytes
    key_pem: bytes

    def server_context(self, directory: Path) -> ssl.SSLContext:
        """A server context; ssl reads certificates only from files, so one is written."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.NamedTemporaryFile("wb", dir=directory, suffix=".pem", delete=False) as f:
            f.write(self.cert_pem + self.key_pem)
        context.load_cert_chain(f.name)
        return context


def self_signed(host: str, *, days: int = 30, expired: bool = False) -> CertKey:
    """A self-signed certificate for ``host`` (a name or an IP address)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, host),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Self-signed test server"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=2 * days) if expired else now - dt.timedelta(hours=1)
    end = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=days)
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertKey(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


# -- HTTPS ------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class HttpsServer:
    """Serves fixed responses by path (query string ignored) and records what was asked."""

    def __init__(self, context: ssl.SSLContext, routes: dict[str, Response]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []  # (Host header, path with query)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.headers.get("Host", ""), self.path))
                response = outer.routes.get(self.path.split("?")[0], Response(404, b"not found"))
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]

    def __enter__(self) -> HttpsServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- DNS --------------------------------------------------------------------------------------


class DnsServer:
    """Answers UDP queries from a table of records, like ``{("_imaps._tcp.example.org.",
    "SRV"): ["0 1 993 imap.example.org."]}``; other names get NXDOMAIN."""

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = records
        self.queries: list[str] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                query = dns.message.from_wire(data)
                response = dns.message.make_response(query)
                question = query.question[0]
                name = question.name.to_text()
                rdtype = dns.rdatatype.to_text(question.rdtype)
                outer.queries.append(f"{name} {rdtype}")
                answers = outer.records.get((name, rdtype))
                if answers:
                    response.answer.append(
                        dns.rrset.from_text_list(name, 60, dns.rdataclass.IN, rdtype, answers)
                    )
                elif not any(key[0] == name for key in outer.records):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                sock.sendto(response.to_wire(), self.client_address)

        self._server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.address = ("127.0.0.1", self._server.server_address[1])

    def __enter__(self) -> DnsServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# -- IMAP over TLS ----------------------------------------------------------------------------


class TlsImapServer:
    """Just enough IMAP4rev1 over implicit TLS for a login, CAPABILITY, LIST and LOGOUT.

    The certificate can be swapped while it runs, as a server's is when it is renewed.
    ``logins`` records every LOGIN it received: a test can prove no password was sent.
    """

    def __init__(self, context: ssl.SSLContext, users: dict[str, str]) -> None:
        self.context = context
        self.users = users
        self.logins: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()

    def __enter__(self) -> TlsImapServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls, tls.makefile("rwb") as f:
                f.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] test server ready\r\n")
                f.flush()
                self._commands(f)
        except (OSError, ssl.SSLError):
            return

    def _commands(self, f: BinaryIO) -> None:
        for raw in iter(lambda: f.readline(), b""):
            tag, _, rest = raw.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                f.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE\r\n")
                f.write(f"{tag} OK done\r\n".encode())
            elif command == "LOGIN":
                user, password = (part.strip('"') for part in args.split(" ", 1))
                self.logins.append(user)
                if self.users.get(user) == password:
                    f.write(f"{tag} OK [CAPABILITY IMAP4rev1 IDLE] logged in\r\n".encode())
                else:
                    f.write(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials\r\n".encode())
            elif command == "LIST":
                f.write(b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
                f.write(b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n')
                f.write(f"{tag} OK done\r\n".encode())
            elif command == "LOGOUT":
                f.write(b"* BYE bye\r\n")
                f.write(f"{tag} OK done\r\n".encode())
                f.flush()
                return
            else:
                f.write(f"{tag} BAD unknown command\r\n".encode())
            f.flush()


# -- routing ----------------------------------------------------------------------------------


def loopback_route(
    mapping: dict[str, int | None] | dict[tuple[str, int], int],
) -> Callable[[str, int], tuple[str, int]]:
    """A discovery route that reaches only 127.0.0.1, never the Internet.

    ``mapping`` gives, per host name, the loopback port to use instead of the requested one
    (None: the requested port), or per (host, port) the loopback port. Any other host is
    "not found", as an unknown name would be.
    """

    def route(host: str, port: int) -> tuple[str, int]:
        if (host, port) in mapping:
            return "127.0.0.1", mapping[(host, port)]  # type: ignore[index]
        if host in mapping:
            target = mapping[host]  # type: ignore[index]
            return "127.0.0.1", port if target is None else target
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is not routed in this test")

    return route


def no_srv_records(name: str, timeout: float) -> list[SrvRecord]:
    del name, timeout
    return []


class TlsSmtpServer(TlsImapServer):
    """Just enough ESMTP over implicit TLS (RFC 8314) for EHLO, AUTH PLAIN and QUIT."""

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls, tls.makefile("rwb") as f:
                f.write(b"220 test.example.org ESMTP\r\n")
                f.flush()
                for raw in iter(lambda: f.readline(), b""):
                    line = raw.decode().rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        f.write(b"250-test.example.org\r\n250-SIZE 10000000\r\n250 AUTH PLAIN\r\n")
                    elif verb == "AUTH":
                        _, user, password = base64.b64decode(line.split()[2]).split(b"\0")
                        self.logins.append(user.decode())
                        ok = self.users.get(user.decode()) == password.decode()
                        f.write(b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 bad credentials\r\n")
                    elif verb == "QUIT":
                        f.write(b"221 bye\r\n")
                        f.flush()
                        return
                    else:
                        f.write(b"502 not here\r\n")
                    f.flush()
        except (OSError, ssl.SSLError):
            return
