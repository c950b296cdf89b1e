"""The Account dataclass and the validation of what a user types into it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mailclient.core.errors import InvalidInput


class Security(StrEnum):
    SSL = "ssl"  # implicit TLS (RFC 8314), preferred
    STARTTLS = "starttls"  # upgrade required: never a plaintext fallback


class AuthMethod(StrEnum):
    PASSWORD = "password"
    OAUTH2 = "oauth2"  # authorization code + PKCE in the browser, tokens over SASL


DEFAULT_IMAP_PORT = {Security.SSL: 993, Security.STARTTLS: 143}
DEFAULT_SMTP_PORT = {Security.SSL: 465, Security.STARTTLS: 587}
# "Keep messages on this computer": bodies downloaded in the background (imap.bodies).
DEFAULT_KEEP_DAYS = 365
DEFAULT_KEEP_MAX_MB = 20  # bigger messages are fetched when opened
MAX_KEEP_DAYS = 100 * 365
MAX_KEEP_MAX_MB = 1024

_NAME_MAX = 64
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# Deliberately simple: a local part without spaces or brackets, "@", a host name.
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PinnedCertificate:
    """A certificate the user chose to trust for one server (host and port) of an account."""

    host: str
    port: int
    pem: str

    @property
    def fingerprint(self) -> str:
        from mailclient.core.tls import certificate_fingerprint, pem_to_der

        return certificate_fingerprint(pem_to_der(self.pem))


@dataclass(frozen=True)
class Account:
    """One mail account. Its password lives in the credential store, never here."""

    name: str
    email: str
    imap_host: str
    smtp_host: str
    display_name: str = ""
    imap_port: int = 993
    imap_security: Security = Security.SSL
    smtp_port: int = 587
    smtp_security: Security = Security.STARTTLS
    username: str = ""
    ca_file: str | None = None
    signature: str = ""
    identities: tuple[str, ...] = field(default_factory=tuple)
    server_saves_sent: bool = False
    pinned_certificates: tuple[PinnedCertificate, ...] = field(default_factory=tuple)
    # How the account signs in; the rest only for OAuth2: the provider's id in
    # resources/providers.json (or "" for a server of one's own), its endpoints and
    # scopes as found when the account was added, a client ID that overrides the
    # provider's, and the SASL mechanism the provider prefers.
    auth: AuthMethod = AuthMethod.PASSWORD
    oauth_provider: str = ""
    oauth_authorization_endpoint: str = ""
    oauth_token_endpoint: str = ""
    oauth_scopes: tuple[str, ...] = field(default_factory=tuple)
    oauth_client_id: str = ""
    oauth_mechanism: str = ""
    # Keep messages on this computer: bodies of the last keep_days days (None: all), each
    # of at most keep_max_mb megabytes, downloaded in the background for offline reading
    # and search.
    keep_messages: bool = True
    keep_days: int | None = DEFAULT_KEEP_DAYS
    keep_max_mb: int = DEFAULT_KEEP_MAX_MB

    @property
    def login(self) -> str:
        return self.username or self.email

    @property
    def sender(self) -> str:
        """The From value: "Display Name <address>" or just the address.

        A name with a comma or other specials is quoted ("Smith, Ann" <ann@example.org>),
        so that the value parses back as one address.
        """
        # Imported here: the email header parser is not needed to show the window.
        from email.headerregistry import Address

        username, _, domain = self.email.rpartition("@")
        return str(Address(self.display_name, username, domain))

    def pinned_pem(self, host: str, port: int) -> str | None:
        """The certificate pinned for ``host``:``port``, or None to verify as usual."""
        host = host.strip().rstrip(".").lower()
        for pin in self.pinned_certificates:
            if pin.host == host and pin.port == port:
                return pin.pem
        return None

    def with_pin(self, host: str, port: int, pem: str | None) -> Account:
        """A copy that trusts ``pem`` for ``host``:``port`` (or, with None, no longer pins it)."""
        host = host.strip().rstrip(".").lower()
        kept = tuple(p for p in self.pinned_certificates if (p.host, p.port) != (host, port))
        added = (PinnedCertificate(host, port, pem),) if pem else ()
        return replace(self, pinned_certificates=kept + added)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["imap_security"] = str(self.imap_security)
        data["smtp_security"] = str(self.smtp_security)
        data["identities"] = list(self.identities)
        data["pinned_certificates"] = [asdict(p) for p in self.pinned_certificates]
        if self.auth is AuthMethod.PASSWORD:
            # A password account's entry stays as older versions wrote and read it.
            for name in _OAUTH_FIELDS:
                del data[name]
        else:
            data["auth"] = str(self.auth)
            data["oauth_scopes"] = list(self.oauth_scopes)
        return data

    @classmethod
    def from_dict(cls, data: object) -> Account:
        """The account a config file holds; InvalidInput names the first field that is
        missing or of the wrong kind (a hand-edited file)."""
        if not isinstance(data, dict):
            raise InvalidInput("account", f"{_json_kind(data)} is not an account (an object)")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in _REQUIRED:
            if name not in values:
                raise InvalidInput(name, "is missing")
        for name, value in values.items():
            kind = _FIELD_KINDS.get(name)
            if kind is not None and not _is_kind(value, kind):
                raise InvalidInput(name, f"{_json_kind(value)} is not {_KIND_NAMES[kind]}")
        for name in ("imap_port", "smtp_port"):
            if name in values:
                validate_port(name, values[name])
        values["identities"] = tuple(_strings("identities", values.get("identities") or []))
        values["pinned_certificates"] = tuple(
            _pin(p) for p in _list("pinned_certificates", values.get("pinned_certificates") or [])
        )
        values["oauth_scopes"] = tuple(_strings("oauth_scopes", values.get("oauth_scopes") or []))
        values["auth"] = parse_auth(values.get("auth", "password"))
        values["imap_security"] = parse_security(
            "imap security", values.get("imap_security", "ssl")
        )
        values["smtp_security"] = parse_security(
            "smtp security", values.get("smtp_security", "starttls")
        )
        return cls(**values)

    def validated(self) -> Account:
        """Return a normalised copy, or raise InvalidInput naming the first bad field."""
        name = self.name.strip()
        if not name:
            raise InvalidInput("name", "an account needs a name")
        if len(name) > _NAME_MAX or _CONTROL.search(name):
            raise InvalidInput("name", f"use up to {_NAME_MAX} printable characters")
        email = validate_email("email", self.email)
        display_name = self.display_name.strip()
        if _CONTROL.search(display_name):
            raise InvalidInput("display name", "must not contain line breaks or control characters")
        imap_host = validate_host("IMAP host", self.imap_host)
        smtp_host = validate_host("SMTP host", self.smtp_host or imap_host)
        validate_port("IMAP port", self.imap_port)
        validate_port("SMTP port", self.smtp_port)
        username = self.username.strip()
        if _CONTROL.search(username):
            raise InvalidInput("username", "must not contain control characters")
        ca_file = self.ca_file
        if ca_file:
            path = Path(ca_file).expanduser()
            if not path.is_file():
                raise InvalidInput("CA file", f"{ca_file} is not a readable file")
            ca_file = str(path.resolve())
        identities = tuple(validate_email("identity", i) for i in self.identities)
        if self.keep_days is not None and not 1 <= self.keep_days <= MAX_KEEP_DAYS:
            raise InvalidInput("days to keep", f"use 1 to {MAX_KEEP_DAYS:,} days, or all")
        if not 1 <= self.keep_max_mb <= MAX_KEEP_MAX_MB:
            raise InvalidInput("largest message to keep", f"use 1 to {MAX_KEEP_MAX_MB} MB")
        if self.auth is AuthMethod.OAUTH2:
            validate_endpoint("authorization endpoint", self.oauth_authorization_endpoint)
            validate_endpoint("token endpoint", self.oauth_token_endpoint)
        # A pin belongs to one server: once the account points elsewhere it must not linger.
        servers = {(imap_host, self.imap_port), (smtp_host, self.smtp_port)}
        pins = tuple(
            validate_pin(p) for p in self.pinned_certificates if (p.host, p.port) in servers
        )
        return replace(
            self,
            name=name,
            email=email,
            display_name=display_name,
            imap_host=imap_host,
            smtp_host=smtp_host,
            username=username,
            ca_file=ca_file or None,
            identities=identities,
            pinned_certificates=pins,
        )


_REQUIRED = ("name", "email", "imap_host", "smtp_host")
_OAUTH_FIELDS = (
    "auth",
    "oauth_provider",
    "oauth_authorization_endpoint",
    "oauth_token_endpoint",
    "oauth_scopes",
    "oauth_client_id",
    "oauth_mechanism",
)
_NULL = type(None)
# What each field must be in the config file; a type, or a pair for "this or null".
_FIELD_KINDS: dict[str, type | tuple[type, type]] = {
    "name": str,
    "email": str,
    "imap_host": str,
    "smtp_host": str,
    "display_name": str,
    "imap_port": int,
    "smtp_port": int,
    "imap_security": str,
    "smtp_security": str,
    "username": str,
    "ca_file": (str, _NULL),
    "signature": str,
    "identities": list,
    "server_saves_sent": bool,
    "pinned_certificates": list,
    "auth": str,
    "oauth_provider": str,
    "oauth_authorization_endpoint": str,
    "oauth_token_endpoint": str,
    "oauth_scopes": list,
    "oauth_client_id": str,
    "oauth_mechanism": str,
    "keep_messages": bool,
    "keep_days": (int, _NULL),
    "keep_max_mb": int,
}
_KIND_NAMES: dict[type | tuple[type, type], str] = {
    str: "text",
    int: "a number",
    bool: "true or false",
    list: "a list",
    (str, _NULL): "text or null",
    (int, _NULL): "a number or null",
}


def _is_kind(value: object, kind: type | tuple[type, type]) -> bool:
    if isinstance(value, bool) and kind is not bool:
        return False  # JSON's true is no port number
    return isinstance(value, kind)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "a list" if isinstance(value, list) else "an object"


def _list(field_name: str, value: object) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(field_name, f"{_json_kind(value)} is not a list")
    return value


def _strings(field_name: str, value: object) -> list[str]:
    items = _list(field_name, value)
    for item in items:
        if not isinstance(item, str):
            raise InvalidInput(field_name, f"{_json_kind(item)} is not text")
    return items


def _pin(value: object) -> PinnedCertificate:
    if not isinstance(value, dict):
        raise InvalidInput("pinned_certificates", f"{_json_kind(value)} is not an object")
    host, port, pem = value.get("host"), value.get("port"), value.get("pem")
    if not isinstance(host, str) or not isinstance(pem, str):
        raise InvalidInput("pinned_certificates", "an entry lacks its host or certificate")
    return PinnedCertificate(host, validate_port("pinned_certificates port", port), pem)


def validate_pin(pin: PinnedCertificate) -> PinnedCertificate:
    # Imported here: ssl and OpenSSL (5 MiB) wait for the first connection, or a pin.
    from mailclient.core.tls import pem_to_der

    try:
        pem_to_der(pin.pem)
    except ValueError:
        raise InvalidInput(
            "trusted certificate", f"the one kept for {pin.host}:{pin.port} is damaged"
        ) from None
    return pin


def parse_security(field_name: str, value: object) -> Security:
    try:
        return Security(str(value).lower())
    except ValueError:
        raise InvalidInput(field_name, "must be 'ssl' or 'starttls'") from None


def validate_endpoint(field_name: str, url: str) -> str:
    """An OAuth2 endpoint: HTTPS, or plain HTTP to this computer only (a test server)."""
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise InvalidInput(field_name, f"{url!r} is not an https:// address")
    return url


def parse_auth(value: object) -> AuthMethod:
    try:
        return AuthMethod(str(value).lower())
    except ValueError:
        raise InvalidInput("authentication", "must be 'password' or 'oauth2'") from None


def validate_email(field_name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(field_name, "an address is required")
    if _CONTROL.search(value) or not _EMAIL.match(value):
        raise InvalidInput(field_name, f"{value!r} is not an email address like name@example.org")
    domain = value.rsplit("@", 1)[1]
    validate_host(field_name, domain)
    return value


def validate_host(field_name: str, value: str) -> str:
    host = value.strip().rstrip(".").lower()
    if not host:
        raise InvalidInput(field_name, "a server name is required")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host.strip("[]")
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(field_name, f"{value!r} is not a valid server name") from None
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise InvalidInput(field_name, f"{value!r} is not a valid server name")
    return host


def validate_port(field_name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidInput(field_name, f"{value!r} is not a port number between 1 and 65535")
    return value
