"""A second Dovecot of the rig whose certificate is self-signed, for the certificate tests.

Its certificate can be replaced and reloaded, as a server's administrator (or an
attacker) would. It serves the rig's users and their mail.
"""

from __future__ import annotations

import time
from pathlib import Path

from mailclient.accounts.model import Security
from mailclient.discovery import Endpoint, Network, Protocol, fetch_certificate
from tests.rig import Dovecot, MailServers
from tests.support.loopback import CertKey, self_signed


class SelfSignedDovecot:
    """A second Dovecot of the rig whose certificate is self-signed and can be replaced."""

    def __init__(self, servers: MailServers, directory: Path) -> None:
        self.cert_file = directory / "self-signed.pem"
        self.key_file = directory / "self-signed-key.pem"
        self.current = self._install(self_signed("127.0.0.1"))
        self.dovecot: Dovecot = servers.start_dovecot(
            f"ssl_cert = <{self.cert_file}\nssl_key = <{self.key_file}\n"
        )
        assert self.dovecot.imaps_port is not None
        self.port = self.dovecot.imaps_port

    def _install(self, cert: CertKey) -> CertKey:
        self.cert_file.write_bytes(cert.cert_pem)
        self.key_file.write_bytes(cert.key_pem)
        self.key_file.chmod(0o600)
        return cert

    def renew(self) -> None:
        """A new certificate, in place once the server presents it."""
        self.current = self._install(self_signed("127.0.0.1"))
        self.dovecot.doveadm("reload")
        endpoint = Endpoint(Protocol.IMAP, "127.0.0.1", self.port, Security.SSL)
        wanted = self.current.cert_pem.decode()
        deadline = time.monotonic() + 20
        while fetch_certificate(endpoint, Network(timeout=5)).pem.strip() != wanted.strip():
            assert time.monotonic() < deadline, "Dovecot did not take the new certificate"
            time.sleep(0.1)
