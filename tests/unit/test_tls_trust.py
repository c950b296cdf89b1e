"""client_context trusts what the account's trust needs, and nothing it does not."""

from __future__ import annotations

from pathlib import Path

import trustme

from mailclient.core.tls import client_context


def test_an_accounts_ca_file_is_its_only_trust_anchor(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = client_context(ca_file)
    # Not the system's CAs as well: loading them is the most of what a connection costs
    # before it reaches the network.
    assert context.cert_store_stats()["x509_ca"] == 1
    assert context.check_hostname


def test_a_pinned_certificate_is_the_only_trust_anchor() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("mail.example.org")
    pinned = leaf.cert_chain_pems[0].bytes().decode("ascii")
    context = client_context(None, pinned)
    assert context.cert_store_stats()["x509"] == 1
    assert not context.check_hostname


def test_without_a_ca_file_or_pin_the_system_store_is_trusted() -> None:
    context = client_context()
    assert context.check_hostname
    assert context.verify_mode.name == "CERT_REQUIRED"
