"""Reading Mozilla autoconfig documents: what is taken, what is refused."""

from __future__ import annotations

import pytest

from mailclient.accounts.model import Security
from mailclient.core.errors import ProtocolError
from mailclient.discovery.autoconfig import autoconfig_urls, parse

URL = "https://autoconfig.example.org/mail/config-v1.1.xml"

DOCUMENT = b"""<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>plain.example.org</hostname><port>143</port><socketType>plain</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>oauth.example.org</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>OAuth2</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname><port>587</port><socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def test_takes_first_secure_password_servers_and_fills_placeholders() -> None:
    result = parse(DOCUMENT, "alice@example.org", URL)
    assert result.provider_name == "Example Mail"
    assert result.imap is not None and result.smtp is not None
    assert (result.imap.host, result.imap.port, result.imap.security) == (
        "imap.example.org",
        993,
        Security.SSL,
    )
    assert result.imap.username == "alice"
    assert (result.smtp.host, result.smtp.port, result.smtp.security) == (
        "smtp.example.org",
        587,
        Security.STARTTLS,
    )


def test_document_type_definitions_are_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<clientConfig><emailProvider><incomingServer type="imap"><hostname>&b;</hostname>
</incomingServer></emailProvider></clientConfig>"""
    with pytest.raises(ProtocolError, match="not XML"):
        parse(bomb, "alice@example.org", URL)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html><body>Welcome</body></html>", "not a mail configuration"),
        (b"not xml at all", "not XML"),
        (
            b"<clientConfig><emailProvider><incomingServer type='imap'><hostname>x.org"
            b"</hostname><port>143</port><socketType>plain</socketType></incomingServer>"
            b"</emailProvider></clientConfig>",
            "no usable",
        ),
        (b"<clientConfig>" + b" " * 1_000_001 + b"</clientConfig>", "too large"),
    ],
)
def test_unusable_documents_are_reported(document: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse(document, "alice@example.org", URL)


def test_urls_carry_the_address() -> None:
    assert autoconfig_urls("a+b@Example.org") == [
        "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=a%2Bb@Example.org",
        "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml",
    ]
