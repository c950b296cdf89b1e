"""Mozilla-style autoconfig: the provider's own description of its servers, over HTTPS.

Tried at ``https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<address>`` and
``https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml``. Only HTTPS with a verified
certificate is used: a document that could be tampered with must not choose where a
password goes. The XML is parsed with defusedxml, which refuses DTDs and entities.

A server announced with ``<authentication>OAuth2</authentication>`` signs in with a token;
Thunderbird's ``<oAuth2>`` element, where the document has one, names the sign-in server's
endpoints and scopes.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urljoin, urlsplit
from xml.etree.ElementTree import Element

import defusedxml.ElementTree
from defusedxml import DefusedXmlException

from mailclient.accounts.model import Security, validate_endpoint, validate_host, validate_port
from mailclient.core.errors import CannotConnect, InvalidInput, ProtocolError
from mailclient.discovery.network import Network

MAX_DOCUMENT_BYTES = 1_000_000
MAX_REDIRECTS = 3
_SOCKET_TYPES = {"SSL": Security.SSL, "STARTTLS": Security.STARTTLS}
# Methods that send the account's password; Kerberos or NTLM alone cannot be used here.
_PASSWORD_AUTH = {"password-cleartext", "password-encrypted", "plain", "secure"}
_OAUTH2_AUTH = "oauth2"


@dataclass(frozen=True)
class AutoconfigServer:
    host: str
    port: int
    security: Security
    username: str
    password: bool = True  # takes the account's password
    oauth2: bool = False  # takes an OAuth2 access token


@dataclass(frozen=True)
class AutoconfigOAuth:
    """Thunderbird's <oAuth2> element: the sign-in server, its endpoints and scopes."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class AutoconfigResult:
    url: str
    imap: AutoconfigServer | None
    smtp: AutoconfigServer | None
    provider_name: str
    oauth: AutoconfigOAuth | None = None


def autoconfig_urls(email: str) -> list[str]:
    domain = email.rsplit("@", 1)[1].lower()
    return [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quote(email, safe='@')}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]


def fetch(url: str, network: Network) -> bytes:
    """GET ``url`` over verified HTTPS, following a few redirects that stay on HTTPS."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ProtocolError(f"{url} is not an HTTPS address; it was not followed.")
        status, location, body = _get(parts, network)
        if status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if status != 200:
            raise ProtocolError(f"{parts.hostname} answered HTTP {status}.")
        return body
    raise ProtocolError(f"Too many redirects from {url}.")


def _get(parts: SplitResult, network: Network) -> tuple[int, str, bytes]:
    host, port = parts.hostname or "", parts.port or 443
    target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
    try:
        raw = network.connect(host, port)
        try:
            secure = network.tls_context().wrap_socket(raw, server_hostname=host)
        except BaseException:
            raw.close()
            raise
        connection = http.client.HTTPConnection(host, port, timeout=network.timeout)
        connection.sock = secure
        try:
            connection.request(
                "GET",
                target,
                headers={
                    "Host": host if port == 443 else f"{host}:{port}",
                    "Accept": "application/xml, text/xml",
                    "User-Agent": "mailclient",
                },
            )
            response = connection.getresponse()
            body = response.read(MAX_DOCUMENT_BYTES + 1)
            location = response.getheader("Location") or ""
            return response.status, location, body
        finally:
            connection.close()
    except ssl.SSLCertVerificationError as error:
        raise CannotConnect(
            f"The certificate of {host} is not trusted ({error.verify_message}); "
            "its configuration file was not used."
        ) from error
    except (OSError, http.client.HTTPException) as error:
        raise CannotConnect(f"{host} could not be reached: {error}.") from error


def parse(document: bytes, email: str, url: str) -> AutoconfigResult:
    """The first usable IMAP and SMTP servers of a config-v1.1 document."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise ProtocolError(f"The configuration file at {url} is too large.")
    try:
        root = defusedxml.ElementTree.fromstring(document, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError) as error:
        raise ProtocolError(f"The configuration file at {url} is not XML: {error}.") from error
    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        raise ProtocolError(f"{url} is not a mail configuration file.")
    imap = _first_server(provider.findall("incomingServer"), "imap", email)
    smtp = _first_server(provider.findall("outgoingServer"), "smtp", email)
    if imap is None and smtp is None:
        raise ProtocolError(f"The configuration file at {url} names no usable IMAP or SMTP server.")
    name = (provider.findtext("displayName") or provider.get("id") or "").strip()
    return AutoconfigResult(url, imap, smtp, name, _oauth(root.find("oAuth2")))


def _oauth(element: Element | None) -> AutoconfigOAuth | None:
    """The <oAuth2> element, or None when it is missing or names no usable endpoints."""
    if element is None:
        return None
    try:
        authorize = validate_endpoint("authURL", (element.findtext("authURL") or "").strip())
        token = validate_endpoint("tokenURL", (element.findtext("tokenURL") or "").strip())
    except InvalidInput:
        return None
    return AutoconfigOAuth(
        (element.findtext("issuer") or "").strip(),
        authorize,
        token,
        tuple((element.findtext("scope") or "").split()),
    )


def _first_server(elements: list[Element], kind: str, email: str) -> AutoconfigServer | None:
    """The first usable server that takes a password, else the first that takes a token:
    the person has typed a password, and a server that takes it needs nothing more."""
    usable = [s for s in (_server(e, kind, email) for e in elements) if s is not None]
    return next((s for s in usable if s.password), usable[0] if usable else None)


def _server(element: Element, kind: str, email: str) -> AutoconfigServer | None:
    if element.get("type") != kind:
        return None
    security = _SOCKET_TYPES.get((element.findtext("socketType") or "").strip().upper())
    if security is None:
        return None  # "plain" would send the password or token unencrypted
    methods = {(m.text or "").strip().lower() for m in element.findall("authentication")}
    password = not methods or bool(methods & _PASSWORD_AUTH)
    oauth2 = _OAUTH2_AUTH in methods
    if not password and not oauth2:
        return None
    try:
        host = validate_host("host", _substitute(element.findtext("hostname") or "", email))
        port = validate_port("port", int((element.findtext("port") or "").strip()))
    except (InvalidInput, ValueError):
        return None
    username = _substitute(element.findtext("username") or "%EMAILADDRESS%", email)
    return AutoconfigServer(host, port, security, username.strip(), password, oauth2)


def _substitute(text: str, email: str) -> str:
    local, domain = email.rsplit("@", 1)
    return (
        text.replace("%EMAILADDRESS%", email)
        .replace("%EMAILLOCALPART%", local)
        .replace("%EMAILDOMAIN%", domain)
    )
