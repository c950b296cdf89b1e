"""Discovery over real sockets: autoconfig over HTTPS, SRV over DNS, tested guesses.

Every server runs on 127.0.0.1 with a certificate from a test CA; the Network routes the
names (autoconfig.example.org, mail.example.org) there and nowhere else.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mailclient.accounts.model import Account, AuthMethod, Security
from mailclient.discovery import Method, Network, Step, StepState, discover, dns_srv
from tests.support.loopback import (
    DnsServer,
    HttpsServer,
    Response,
    TlsImapServer,
    loopback_route,
    no_srv_records,
)

AUTOCONFIG = b"""<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.org">
  <incomingServer type="imap">
    <hostname>imap.example.org</hostname><port>993</port><socketType>SSL</socketType>
    <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
  </incomingServer>
  <outgoingServer type="smtp">
    <hostname>smtp.example.org</hostname><port>465</port><socketType>SSL</socketType>
    <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
  </outgoingServer>
</emailProvider></clientConfig>"""
PATH = "/mail/config-v1.1.xml"
WELL_KNOWN = "/.well-known/autoconfig/mail/config-v1.1.xml"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def https_server(
    ca: trustme.CA, names: tuple[str, ...], routes: dict[str, Response]
) -> HttpsServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(context)
    return HttpsServer(context, routes)


@pytest.fixture
def autoconfig_server(ca: trustme.CA) -> Iterator[HttpsServer]:
    with https_server(ca, ("autoconfig.example.org",), {PATH: Response(body=AUTOCONFIG)}) as s:
        yield s


def test_autoconfig_over_https_with_the_address(
    autoconfig_server: HttpsServer, trusting: ssl.SSLContext
) -> None:
    steps: list[Step] = []
    network = Network(
        route=loopback_route({("autoconfig.example.org", 443): autoconfig_server.port}),
        https_context=trusting,
        srv_lookup=no_srv_records,
    )
    found = discover("alice@example.org", network=network, report=steps.append)
    assert found.imap is not None and found.smtp is not None
    assert (found.imap.host, found.imap.port, found.imap.security) == (
        "imap.example.org",
        993,
        Security.SSL,
    )
    assert found.imap.method is Method.AUTOCONFIG
    assert found.imap.source == "https://autoconfig.example.org/mail/config-v1.1.xml"
    assert autoconfig_server.requests == [
        ("autoconfig.example.org", f"{PATH}?emailaddress=alice@example.org")
    ]
    states = {(s.method, s.state) for s in steps}
    assert (Method.PROVIDERS, StepState.NOTHING) in states
    assert (Method.AUTOCONFIG, StepState.FOUND) in states
    assert (Method.SRV, StepState.SKIPPED) in states


def test_well_known_location_on_the_domain(ca: trustme.CA, trusting: ssl.SSLContext) -> None:
    with https_server(ca, ("example.org",), {WELL_KNOWN: Response(body=AUTOCONFIG)}) as server:
        network = Network(
            route=loopback_route({("example.org", 443): server.port}),
            https_context=trusting,
            srv_lookup=no_srv_records,
        )
        found = discover("alice@example.org", network=network)
    assert found.smtp is not None and found.smtp.method is Method.AUTOCONFIG
    assert found.smtp.source == f"https://example.org{WELL_KNOWN}"


OAUTH_AUTOCONFIG = b"""<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.org">
  <incomingServer type="imap">
    <hostname>%s</hostname><port>993</port><socketType>SSL</socketType>
    <authentication>OAuth2</authentication>
  </incomingServer>
  <outgoingServer type="smtp">
    <hostname>%s</hostname><port>587</port><socketType>STARTTLS</socketType>
    <authentication>OAuth2</authentication>
  </outgoingServer>
</emailProvider>%s</clientConfig>"""
OAUTH2_ELEMENT = b"""<oAuth2><issuer>sso.example.org</issuer><scope>openid email</scope>
  <authURL>https://sso.example.org/auth</authURL><tokenURL>https://sso.example.org/token</tokenURL>
</oAuth2>"""


def _discover_with(ca: trustme.CA, trusting: ssl.SSLContext, document: bytes) -> Account:
    with https_server(ca, ("autoconfig.example.org",), {PATH: Response(body=document)}) as s:
        network = Network(
            route=loopback_route({("autoconfig.example.org", 443): s.port}),
            https_context=trusting,
            srv_lookup=no_srv_records,
        )
        found = discover("alice@example.org", network=network)
    assert found.complete
    assert "sign in" in found.sign_in_summary()
    draft = Account(name="a", email="alice@example.org", imap_host="", smtp_host="")
    return found.apply(draft)


def test_an_autoconfig_file_announcing_oauth2_makes_an_oauth2_account(
    ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    document = OAUTH_AUTOCONFIG % (b"mail.example.org", b"mail.example.org", OAUTH2_ELEMENT)
    account = _discover_with(ca, trusting, document)
    assert account.auth is AuthMethod.OAUTH2
    assert account.imap_host == "mail.example.org"
    assert account.oauth_provider == ""
    assert account.oauth_authorization_endpoint == "https://sso.example.org/auth"
    assert account.oauth_token_endpoint == "https://sso.example.org/token"
    assert account.oauth_scopes == ("openid", "email")


def test_an_autoconfig_file_on_a_known_providers_servers_signs_in_with_that_provider(
    ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    # A company's own domain on Microsoft 365: the file names Microsoft's servers only.
    document = OAUTH_AUTOCONFIG % (b"outlook.office365.com", b"smtp.office365.com", b"")
    account = _discover_with(ca, trusting, document)
    assert account.auth is AuthMethod.OAUTH2
    assert account.oauth_provider == "microsoft-work"
    assert account.oauth_token_endpoint.startswith("https://login.microsoftonline.com/")
    assert "offline_access" in account.oauth_scopes


def test_an_oauth2_only_autoconfig_file_without_endpoints_leaves_them_to_fill_in(
    ca: trustme.CA, trusting: ssl.SSLContext
) -> None:
    document = OAUTH_AUTOCONFIG % (b"mail.example.org", b"mail.example.org", b"")
    account = _discover_with(ca, trusting, document)
    assert account.auth is AuthMethod.OAUTH2
    assert account.oauth_authorization_endpoint == ""


def test_untrusted_https_certificate_is_not_used(trusting: ssl.SSLContext) -> None:
    stranger = trustme.CA()
    with https_server(
        stranger, ("autoconfig.example.org",), {PATH: Response(body=AUTOCONFIG)}
    ) as server:
        steps: list[Step] = []
        network = Network(
            route=loopback_route({("autoconfig.example.org", 443): server.port}),
            https_context=trusting,
            srv_lookup=no_srv_records,
            imap_guesses=(),
            smtp_guesses=(),
        )
        found = discover("alice@example.org", network=network, report=steps.append)
    assert found.imap is None
    nothing = [s for s in steps if s.method is Method.AUTOCONFIG and s.state is StepState.NOTHING]
    assert "certificate of autoconfig.example.org is not trusted" in nothing[0].text


def test_redirects_are_followed_on_https_only(ca: trustme.CA, trusting: ssl.SSLContext) -> None:
    routes = {
        PATH: Response(302, headers={"Location": "/moved.xml"}),
        "/moved.xml": Response(body=AUTOCONFIG),
        WELL_KNOWN: Response(301, headers={"Location": "http://example.org/plain.xml"}),
    }
    with https_server(ca, ("autoconfig.example.org", "example.org"), routes) as server:
        network = Network(
            route=loopback_route(
                {("autoconfig.example.org", 443): server.port, ("example.org", 443): server.port}
            ),
            https_context=trusting,
            srv_lookup=no_srv_records,
        )
        found = discover("alice@example.org", network=network)
        assert found.imap is not None and found.imap.method is Method.AUTOCONFIG
        server.routes[PATH] = Response(404)
        steps: list[Step] = []
        found = discover(
            "alice@example.org",
            network=Network(
                route=network.route,
                https_context=trusting,
                srv_lookup=no_srv_records,
                imap_guesses=(),
                smtp_guesses=(),
            ),
            report=steps.append,
        )
    assert found.imap is None
    assert any("not an HTTPS address" in s.text for s in steps)


def test_srv_records_from_a_dns_server() -> None:
    records = {
        ("_imaps._tcp.example.org.", "SRV"): ["10 5 1993 imaps.example.org."],
        ("_imap._tcp.example.org.", "SRV"): ["0 0 143 imap.example.org."],
        ("_submissions._tcp.example.org.", "SRV"): ["0 0 0 ."],
        ("_submission._tcp.example.org.", "SRV"): ["5 0 1587 submit.example.org."],
    }
    with DnsServer(records) as dns_server:
        network = Network(
            route=loopback_route({}),
            srv_lookup=functools.partial(dns_srv, nameserver=dns_server.address),
        )
        found = discover("alice@example.org", network=network)
    assert found.imap is not None and found.smtp is not None
    assert (found.imap.host, found.imap.port, found.imap.security) == (
        "imaps.example.org",
        1993,
        Security.SSL,
    )
    assert (found.smtp.host, found.smtp.port, found.smtp.security) == (
        "submit.example.org",
        1587,
        Security.STARTTLS,
    )
    assert found.imap.method is Method.SRV
    assert found.smtp.source == "_submission._tcp.example.org"
    assert "_imaps._tcp.example.org. SRV" in dns_server.queries


def test_guess_is_offered_only_once_a_server_answered(ca: trustme.CA, tmp_path: Path) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("mail.example.org").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with TlsImapServer(context, {}) as imap:
        steps: list[Step] = []
        network = Network(
            # imap.example.org does not exist; mail.example.org is the loopback server.
            route=loopback_route({"mail.example.org": None}),
            srv_lookup=no_srv_records,
            ca_file=str(ca_file),
            imap_guesses=((imap.port, Security.SSL),),
            smtp_guesses=(),
            timeout=5,
        )
        found = discover("alice@example.org", network=network, report=steps.append)
    assert found.imap is not None
    assert (found.imap.host, found.imap.port, found.imap.method) == (
        "mail.example.org",
        imap.port,
        Method.GUESS,
    )
    assert found.smtp is None
    assert imap.logins == []  # a guess is tested without credentials
    assert any(s.method is Method.GUESS and s.state is StepState.FOUND for s in steps)
