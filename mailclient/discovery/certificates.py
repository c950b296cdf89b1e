"""A server's certificate as the user is asked about it, fetched without credentials.

It says whom it names, who vouches for it, when it is valid, and its SHA-256 fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from mailclient.core.errors import CertificateNotTrusted
from mailclient.core.tls import certificate_fingerprint, der_to_pem
from mailclient.discovery.handshake import Endpoint, check, presented_certificate
from mailclient.discovery.network import Network

_NAME_PARTS = (
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
    NameOID.ORGANIZATION_NAME,
    NameOID.LOCALITY_NAME,
    NameOID.STATE_OR_PROVINCE_NAME,
    NameOID.COUNTRY_NAME,
)


@dataclass(frozen=True)
class ServerCertificate:
    endpoint: Endpoint
    der: bytes
    problem: str | None  # why the usual checks refuse it; None when they accept it
    subject: str
    issuer: str
    names: tuple[str, ...]  # the host names and addresses it is valid for
    not_before: datetime
    not_after: datetime
    self_signed: bool

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.der)

    @property
    def pem(self) -> str:
        return der_to_pem(self.der)

    def valid_now(self, now: datetime | None = None) -> bool:
        moment = now or datetime.now(UTC)
        return self.not_before <= moment <= self.not_after


def fetch_certificate(endpoint: Endpoint, network: Network) -> ServerCertificate:
    """What ``endpoint`` presents, and whether the usual checks accept it.

    Connects twice, never sending credentials: once with the usual verification to learn
    why it is refused, once to read the certificate itself.
    """
    problem: str | None = None
    try:
        check(endpoint, network)
    except CertificateNotTrusted as error:
        problem = str(error)
    return describe(endpoint, presented_certificate(endpoint, network), problem)


def describe(endpoint: Endpoint, der: bytes, problem: str | None) -> ServerCertificate:
    certificate = x509.load_der_x509_certificate(der)
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        alternative = extension.value
        names = tuple(alternative.get_values_for_type(x509.DNSName)) + tuple(
            str(a) for a in alternative.get_values_for_type(x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        names = ()
    return ServerCertificate(
        endpoint=endpoint,
        der=der,
        problem=problem,
        subject=_readable(certificate.subject),
        issuer=_readable(certificate.issuer),
        names=names,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        self_signed=certificate.subject == certificate.issuer,
    )


def _readable(name: x509.Name) -> str:
    parts = [
        str(attribute.value)
        for oid in _NAME_PARTS
        for attribute in name.get_attributes_for_oid(oid)
    ]
    return ", ".join(parts) or name.rfc4514_string() or "(no name)"
