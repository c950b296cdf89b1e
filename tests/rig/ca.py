"""A test certificate authority (trustme) and the servers' certificate.

Certificate checks in the tests run for real: the servers present a chain issued by this
CA and clients trust only ``ca.pem``, exactly like a user's system CA store would work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import trustme

SERVER_NAMES = ("localhost", "127.0.0.1", "127.0.0.2")


@dataclass(frozen=True)
class CertificateFiles:
    ca: trustme.CA
    ca_file: Path  # the CA certificate, for clients to trust
    cert_file: Path  # server certificate followed by the chain up to the CA
    key_file: Path  # server private key
    key_and_chain_file: Path  # key + chain in one file, as Postfix' smtpd_tls_chain_files likes


def create_test_ca(directory: Path) -> CertificateFiles:
    """Create a CA and a server certificate for the loopback names, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="mailclient test CA")
    server = ca.issue_cert(*SERVER_NAMES)
    ca_file = directory / "ca.pem"
    cert_file = directory / "server-chain.pem"
    key_file = directory / "server-key.pem"
    key_and_chain_file = directory / "server-key-and-chain.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert_file.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    server.private_key_pem.write_to_path(str(key_file))
    server.private_key_and_cert_chain_pem.write_to_path(str(key_and_chain_file))
    # Servers read their keys as root before dropping privileges; nobody else needs them.
    for secret in (key_file, key_and_chain_file):
        os.chmod(secret, 0o600)
    os.chmod(ca_file, 0o644)
    os.chmod(cert_file, 0o644)
    return CertificateFiles(ca, ca_file, cert_file, key_file, key_and_chain_file)
