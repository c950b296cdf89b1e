"""The provider database shipped with mailclient: big providers' servers, found offline.

The data lives in ``resources/providers.json``. Extra files (a test's entry for a loopback
server, an administrator's list for an organisation) are read after it and win on a shared
domain.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mailclient.accounts.model import (
    Account,
    AuthMethod,
    Security,
    parse_security,
    validate_endpoint,
    validate_host,
    validate_port,
)
from mailclient.core.errors import ConfigError, InvalidInput

FILE_NAME = "providers.json"
# OAuth2 client registrations put in at build time: {"<provider id>": {"client_id": ...}}.
CLIENTS_FILE_NAME = "oauth-clients.json"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class OAuthSettings:
    """How a provider signs in with OAuth2: its endpoints, the scopes mail needs, the SASL
    mechanism it prefers, and whether it still takes (app) passwords as well."""

    authorization_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]
    mechanism: str
    required: bool  # True: passwords are refused (Microsoft)


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    imap: Server
    smtp: Server
    username: str  # "address" (the whole address) or "localpart" (the part before the @)
    note: str = ""
    oauth: OAuthSettings | None = None

    def username_for(self, email: str) -> str:
        return email.rsplit("@", 1)[0] if self.username == "localpart" else email


class ProviderDatabase:
    """Providers by domain."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self._by_domain: dict[str, Provider] = {}
        self._by_id: dict[str, Provider] = {}
        for provider in providers:
            self._by_id[provider.id] = provider
            for domain in provider.domains:
                self._by_domain[domain] = provider

    @classmethod
    def load(cls, extra_files: Sequence[Path] = ()) -> ProviderDatabase:
        """The shipped database, then each of ``extra_files`` (later entries win)."""
        providers = parse(shipped_file().read_bytes(), FILE_NAME)
        for path in extra_files:
            try:
                data = Path(path).read_bytes()
            except OSError as error:
                raise ConfigError(f"Cannot read the provider list {path}: {error}.") from error
            providers.extend(parse(data, str(path)))
        return cls(providers)

    def lookup(self, domain: str) -> Provider | None:
        return self._by_domain.get(domain.strip().rstrip(".").lower())

    def by_id(self, provider_id: str) -> Provider | None:
        return self._by_id.get(provider_id)

    def oauth_providers(self) -> list[Provider]:
        """Every provider that signs in with OAuth2, in the file's order."""
        return [p for p in self._by_id.values() if p.oauth is not None]

    def __len__(self) -> int:
        return len(set(self._by_domain.values()))


def with_provider_servers(account: Account, provider: Provider) -> Account:
    """``account`` on ``provider``'s servers, with the user name it expects."""
    return replace(
        account,
        imap_host=provider.imap.host,
        imap_port=provider.imap.port,
        imap_security=provider.imap.security,
        smtp_host=provider.smtp.host,
        smtp_port=provider.smtp.port,
        smtp_security=provider.smtp.security,
        username=account.username or provider.username_for(account.email),
    )


def with_provider_oauth(account: Account, provider: Provider) -> Account:
    """``account`` signing in with ``provider``'s OAuth2."""
    if provider.oauth is None:
        raise InvalidInput("provider", f"{provider.name} has no OAuth2 sign-in")
    return replace(
        account,
        auth=AuthMethod.OAUTH2,
        oauth_provider=provider.id,
        oauth_authorization_endpoint=provider.oauth.authorization_endpoint,
        oauth_token_endpoint=provider.oauth.token_endpoint,
        oauth_scopes=provider.oauth.scopes,
        oauth_mechanism=provider.oauth.mechanism,
    )


def shipped_file() -> Traversable:
    """resources/providers.json, shipped inside the package ``mailclient.resources``."""
    return importlib.resources.files("mailclient.resources") / FILE_NAME


def parse(data: bytes, origin: str) -> list[Provider]:
    try:
        document = json.loads(data)
        return [_provider(entry) for entry in document["providers"]]
    except (ValueError, KeyError, TypeError, InvalidInput) as error:
        raise ConfigError(f"The provider list {origin} is damaged: {error}.") from error


def _provider(entry: dict[str, Any]) -> Provider:
    username = entry.get("username", "address")
    if username not in ("address", "localpart"):
        raise ValueError(f"{entry['id']}: username must be 'address' or 'localpart'")
    return Provider(
        id=str(entry["id"]),
        name=str(entry["name"]),
        domains=tuple(validate_host("domain", d) for d in entry["domains"]),
        imap=_server(entry["imap"]),
        smtp=_server(entry["smtp"]),
        username=username,
        note=str(entry.get("note", "")),
        oauth=_oauth(entry["oauth2"]) if "oauth2" in entry else None,
    )


def _oauth(entry: dict[str, Any]) -> OAuthSettings:
    scopes = entry["scopes"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise ValueError("oauth2 scopes must be a list of text")
    mechanism = str(entry.get("mechanism", "XOAUTH2")).upper()
    if mechanism not in ("XOAUTH2", "OAUTHBEARER"):
        raise ValueError(f"oauth2 mechanism {mechanism!r} is not XOAUTH2 or OAUTHBEARER")
    return OAuthSettings(
        authorization_endpoint=validate_endpoint(
            "authorization endpoint", str(entry["authorization_endpoint"])
        ),
        token_endpoint=validate_endpoint("token endpoint", str(entry["token_endpoint"])),
        scopes=tuple(scopes),
        mechanism=mechanism,
        required=bool(entry.get("required", False)),
    )


def _server(entry: dict[str, Any]) -> Server:
    return Server(
        host=validate_host("host", entry["host"]),
        port=validate_port("port", entry["port"]),
        security=parse_security("security", entry["security"]),
    )


def oauth_client(provider: str, configured: object = None) -> tuple[str, str] | None:
    """The OAuth2 (client id, client secret) to sign in at ``provider`` with: the profile's
    ``oauth_clients`` setting (``configured``) first, then the build's oauth-clients.json.

    mailclient ships no client ID of its own: each build (or user) registers one.
    """
    for source in (configured, _build_clients()):
        entry = source.get(provider) if isinstance(source, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("client_id"), str):
            secret = entry.get("client_secret")
            if entry["client_id"]:
                return entry["client_id"], secret if isinstance(secret, str) else ""
    return None


def _build_clients() -> object:
    path = importlib.resources.files("mailclient.resources") / CLIENTS_FILE_NAME
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
