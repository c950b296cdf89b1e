"""The provider database shipped with mailclient: big providers' servers, found offline.

The data lives in ``resources/providers.json``. Extra files (a test's entry for a loopback
server, an administrator's list for an organisation) are read after it and win on a shared
domain.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mailclient.accounts.model import Security, parse_security, validate_host, validate_port
from mailclient.core.errors import ConfigError, InvalidInput

FILE_NAME = "providers.json"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: Security


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    imap: Server
    smtp: Server
    username: str  # "address" (the whole address) or "localpart" (the part before the @)
    note: str = ""

    def username_for(self, email: str) -> str:
        return email.rsplit("@", 1)[0] if self.username == "localpart" else email


class ProviderDatabase:
    """Providers by domain."""

    def __init__(self, providers: Iterable[Provider]) -> None:
        self._by_domain: dict[str, Provider] = {}
        for provider in providers:
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

    def __len__(self) -> int:
        return len(set(self._by_domain.values()))


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
    )


def _server(entry: dict[str, Any]) -> Server:
    return Server(
        host=validate_host("host", entry["host"]),
        port=validate_port("port", entry["port"]),
        security=parse_security("security", entry["security"]),
    )
