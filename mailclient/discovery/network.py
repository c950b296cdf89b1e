"""How discovery reaches the network: the real one by default, loopback servers in tests.

Every connection discovery makes goes through a Network, so a test can route
``autoconfig.example.org:443`` or ``mail.example.org`` to a server on 127.0.0.1 while the
names, TLS server names and certificate checks stay exactly as in production.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.rdatatype
import dns.resolver

from mailclient.accounts.model import Security
from mailclient.core.errors import CannotConnect
from mailclient.core.tls import client_context

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class SrvRecord:
    """One answer to an SRV query (RFC 2782)."""

    priority: int
    weight: int
    port: int
    target: str


Route = Callable[[str, int], tuple[str, int]]
SrvLookup = Callable[[str, float], list[SrvRecord]]


def direct(host: str, port: int) -> tuple[str, int]:
    """Connect where the name says: the system resolver decides."""
    return host, port


def dns_srv(
    name: str, timeout: float, nameserver: tuple[str, int] | None = None
) -> list[SrvRecord]:
    """The SRV records of ``name``; none when the name or the record does not exist."""
    resolver = dns.resolver.Resolver(configure=nameserver is None)
    if nameserver is not None:
        resolver.nameservers = [nameserver[0]]
        resolver.port = nameserver[1]
    try:
        answer = resolver.resolve(name, dns.rdatatype.SRV, lifetime=timeout)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.resolver.NoNameservers, dns.exception.Timeout) as error:
        raise CannotConnect(f"The DNS lookup of {name} failed: {error}") from error
    return [
        SrvRecord(r.priority, r.weight, r.port, r.target.to_text(omit_final_dot=True))
        for r in answer
    ]


@dataclass(frozen=True)
class Network:
    """Where discovery's connections go and what they trust.

    ``route`` maps a (host, port) to the address to connect to; TLS still verifies the
    original host name. ``https_context`` and ``ca_file`` default to the system's CAs.
    The guess port lists say which ports a guessed host is tried on, in order.
    """

    route: Route = direct
    srv_lookup: SrvLookup = dns_srv
    https_context: ssl.SSLContext | None = None
    ca_file: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    imap_guesses: tuple[tuple[int, Security], ...] = ((993, Security.SSL), (143, Security.STARTTLS))
    smtp_guesses: tuple[tuple[int, Security], ...] = (
        (465, Security.SSL),
        (587, Security.STARTTLS),
    )

    def connect(self, host: str, port: int) -> socket.socket:
        return socket.create_connection(self.route(host, port), timeout=self.timeout)

    def tls_context(self) -> ssl.SSLContext:
        """The verifying context for the web: system CAs unless a test supplies its own."""
        return self.https_context or client_context()

    def mail_context(self) -> ssl.SSLContext:
        """The verifying context for mail servers: the CA file if any, else the system CAs."""
        return client_context(self.ca_file)
