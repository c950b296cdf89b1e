"""Trusting a certificate by an explicit choice: refused by default, pinned, warned on change.

A small IMAP server over implicit TLS on 127.0.0.1 plays the self-signed server; its
certificate is swapped as a renewal (or an attacker) would. It records every LOGIN, so the
tests can show that no password reaches a server whose certificate was not accepted.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import CertificateChanged, CertificateNotTrusted
from mailclient.core.tls import pem_to_der
from mailclient.discovery import Endpoint, Network, Protocol, fetch_certificate
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from tests.support.loopback import CertKey, TlsImapServer, TlsSmtpServer, self_signed

PASSWORD = "correct horse"


@pytest.fixture
def first_cert() -> CertKey:
    return self_signed("127.0.0.1")


@pytest.fixture
def server(first_cert: CertKey, tmp_path: Path) -> Iterator[TlsImapServer]:
    with TlsImapServer(first_cert.server_context(tmp_path), {"alice": PASSWORD}) as running:
        yield running


def account(port: int, **changes: object) -> Account:
    values: dict[str, object] = {
        "name": "selfhosted",
        "email": "alice@example.org",
        "imap_host": "127.0.0.1",
        "imap_port": port or 993,
        "imap_security": Security.SSL,
        "smtp_host": "127.0.0.1",
        "username": "alice",
    }
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


def test_self_signed_is_refused_before_any_password(server: TlsImapServer) -> None:
    with pytest.raises(CertificateNotTrusted, match=r"self.signed") as info:
        imap_client.probe(account(server.port), FixedPassword(PASSWORD), timeout=5)
    assert not isinstance(info.value, CertificateChanged)
    assert server.logins == []


def test_fetched_certificate_says_who_and_its_fingerprint(
    server: TlsImapServer, first_cert: CertKey
) -> None:
    endpoint = Endpoint(Protocol.IMAP, "127.0.0.1", server.port, Security.SSL)
    certificate = fetch_certificate(endpoint, Network(timeout=5))
    der = pem_to_der(first_cert.cert_pem.decode())
    expected = hashlib.sha256(der).hexdigest().upper()
    assert certificate.fingerprint.replace(":", "") == expected
    assert certificate.der == der
    assert certificate.self_signed
    assert certificate.subject.startswith("127.0.0.1")
    assert certificate.names == ("127.0.0.1",)
    assert certificate.problem is not None and "self" in certificate.problem
    assert certificate.valid_now()
    assert server.logins == []


def test_pinned_certificate_is_accepted_and_a_new_one_is_not(
    server: TlsImapServer, first_cert: CertKey, tmp_path: Path
) -> None:
    pinned = account(server.port).with_pin("127.0.0.1", server.port, first_cert.cert_pem.decode())
    info = imap_client.probe(pinned, FixedPassword(PASSWORD), timeout=5)
    assert info.folder_count == 2
    assert server.logins == ["alice"]

    server.context = self_signed("127.0.0.1").server_context(tmp_path)
    with pytest.raises(CertificateChanged, match="not the one you trusted"):
        imap_client.probe(pinned, FixedPassword(PASSWORD), timeout=5)
    assert server.logins == ["alice"]


def test_pin_is_compared_even_when_the_chain_verifies(tmp_path: Path) -> None:
    # The user pinned a certificate that is also a CA: a different leaf it signed passes
    # chain verification, and only the fingerprint comparison stops it.
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with TlsImapServer(context, {"alice": PASSWORD}) as server:
        pinned = account(server.port).with_pin(
            "127.0.0.1", server.port, ca.cert_pem.bytes().decode()
        )
        with pytest.raises(CertificateChanged):
            imap_client.probe(pinned, FixedPassword(PASSWORD), timeout=5)
        assert server.logins == []


def test_wrong_name_is_refused_then_trusted_when_pinned(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("other.example.org")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TlsImapServer(context, {"alice": PASSWORD}) as server:
        plain = account(server.port, ca_file=str(ca_file))
        with pytest.raises(CertificateNotTrusted, match=r"address mismatch"):
            imap_client.probe(plain, FixedPassword(PASSWORD), timeout=5)
        leaf_pem = leaf.cert_chain_pems[0].bytes().decode()
        imap_client.probe(
            plain.with_pin("127.0.0.1", server.port, leaf_pem), FixedPassword(PASSWORD), timeout=5
        )
        assert server.logins == ["alice"]


def test_expired_pinned_certificate_is_not_called_a_change(tmp_path: Path) -> None:
    expired = self_signed("127.0.0.1", expired=True)
    with TlsImapServer(expired.server_context(tmp_path), {"alice": PASSWORD}) as server:
        pinned = account(server.port).with_pin("127.0.0.1", server.port, expired.cert_pem.decode())
        with pytest.raises(CertificateNotTrusted, match="not valid at this date") as info:
            imap_client.probe(pinned, FixedPassword(PASSWORD), timeout=5)
        assert not isinstance(info.value, CertificateChanged)
        assert server.logins == []


def test_smtp_pin_is_checked_before_authentication(tmp_path: Path) -> None:
    first, second = self_signed("127.0.0.1"), self_signed("127.0.0.1")
    with TlsSmtpServer(first.server_context(tmp_path), {"alice": PASSWORD}) as server:
        plain = account(0, smtp_port=server.port, smtp_security=Security.SSL)
        with pytest.raises(CertificateNotTrusted):
            smtp_client.probe(plain, FixedPassword(PASSWORD), timeout=5)
        pinned = plain.with_pin("127.0.0.1", server.port, first.cert_pem.decode())
        assert smtp_client.probe(pinned, FixedPassword(PASSWORD), timeout=5).max_size == 10_000_000
        assert server.logins == ["alice"]
        server.context = second.server_context(tmp_path)
        with pytest.raises(CertificateChanged, match=r"SMTP server 127\.0\.0\.1"):
            smtp_client.probe(pinned, FixedPassword(PASSWORD), timeout=5)
        assert server.logins == ["alice"]
