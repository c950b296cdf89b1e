"""RFC 6186 service records that name a domain's IMAP and submission servers.

Looked up: ``_imaps._tcp``, ``_imap._tcp``, ``_submissions._tcp``, ``_submission._tcp``.
Implicit TLS is preferred over STARTTLS (RFC 8314 §5.1). A target of "." says the service
is deliberately not offered (RFC 6186 §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailclient.accounts.model import Security, validate_host
from mailclient.core.errors import InvalidInput
from mailclient.discovery.network import Network, SrvRecord

IMAP_SERVICES = (("_imaps._tcp", Security.SSL), ("_imap._tcp", Security.STARTTLS))
SMTP_SERVICES = (
    ("_submissions._tcp", Security.SSL),
    ("_submission._tcp", Security.STARTTLS),
)


@dataclass(frozen=True)
class SrvServer:
    host: str
    port: int
    security: Security
    record: str  # the name that was looked up, to tell the user


def lookup(
    domain: str, services: tuple[tuple[str, Security], ...], network: Network
) -> SrvServer | None:
    """The best server announced for the first of ``services`` that has records."""
    for prefix, security in services:
        name = f"{prefix}.{domain}"
        records = network.srv_lookup(name, network.timeout)
        if not records:
            continue
        if len(records) == 1 and records[0].target in ("", "."):
            continue
        best = _best(records)
        if best is None:
            continue
        try:
            host = validate_host("host", best.target)
        except InvalidInput:
            continue
        return SrvServer(host, best.port, security, name)
    return None


def _best(records: list[SrvRecord]) -> SrvRecord | None:
    """The record to try first: lowest priority, then highest weight (RFC 2782).

    A client that tries one server does not need the weighted random choice: the highest
    weight is the most likely pick and is stable, which keeps what we show the user stable.
    """
    usable = [r for r in records if r.target not in ("", ".") and 0 < r.port < 65536]
    if not usable:
        return None
    return min(usable, key=lambda r: (r.priority, -r.weight, r.target))
