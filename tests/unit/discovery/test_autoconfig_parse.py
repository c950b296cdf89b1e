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


OAUTH_DOCUMENT = b"""<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <displayName>Example Company</displayName>
    <incomingServer type="imap">
      <hostname>mail.example.com</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>OAuth2</authentication><username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>mail.example.com</hostname><port>465</port><socketType>SSL</socketType>
      <authentication>OAuth2</authentication>
      <authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
  <oAuth2>
    <issuer>sso.example.com</issuer>
    <scope>openid email offline_access</scope>
    <authURL>https://sso.example.com/realms/staff/protocol/openid-connect/auth</authURL>
    <tokenURL>https://sso.example.com/realms/staff/protocol/openid-connect/token</tokenURL>
  </oAuth2>
</clientConfig>
"""


def test_oauth2_servers_are_taken_with_their_sign_in_server() -> None:
    result = parse(OAUTH_DOCUMENT, "bob@example.com", URL)
    assert result.imap is not None and result.smtp is not None
    assert result.imap.host == "mail.example.com"
    assert (result.imap.password, result.imap.oauth2) == (False, True)
    assert (result.smtp.password, result.smtp.oauth2) == (True, True)
    assert result.oauth is not None
    assert result.oauth.issuer == "sso.example.com"
    assert result.oauth.authorization_endpoint.endswith("/openid-connect/auth")
    assert result.oauth.token_endpoint.endswith("/openid-connect/token")
    assert result.oauth.scopes == ("openid", "email", "offline_access")


def test_a_server_taking_a_password_comes_before_one_taking_only_a_token() -> None:
    result = parse(DOCUMENT, "alice@example.org", URL)
    assert result.imap is not None
    assert result.imap.host == "imap.example.org" and result.imap.password
    assert result.oauth is None


def test_an_oauth2_element_with_plain_http_endpoints_is_not_used() -> None:
    document = OAUTH_DOCUMENT.replace(b"https://sso", b"http://sso")
    result = parse(document, "bob@example.com", URL)
    assert result.imap is not None and result.imap.oauth2
    assert result.oauth is None
