"""The shipped provider database and extra provider files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailclient.accounts.model import Security
from mailclient.core.errors import ConfigError
from mailclient.discovery.providers import ProviderDatabase, oauth_client


def test_shipped_database_knows_the_big_providers() -> None:
    database = ProviderDatabase.load()
    gmail = database.lookup("gmail.com")
    assert gmail is not None
    assert (gmail.imap.host, gmail.imap.port, gmail.imap.security) == (
        "imap.gmail.com",
        993,
        Security.SSL,
    )
    assert database.lookup("GoogleMail.com.") is gmail
    for domain in ("outlook.com", "yahoo.com", "icloud.com", "fastmail.com", "gmx.de", "web.de"):
        assert database.lookup(domain) is not None, domain
    for domain in ("mailbox.org", "posteo.de", "zoho.com", "aol.com"):
        assert database.lookup(domain) is not None, domain
    assert database.lookup("example.org") is None
    assert len(database) >= 15


def test_shipped_entries_use_tls_on_matching_ports() -> None:
    database = ProviderDatabase.load()
    data = json.loads((Path(__file__).parents[3] / "resources" / "providers.json").read_text())
    for entry in data["providers"]:
        provider = database.by_id(entry["id"])
        assert provider is not None
        assert (
            provider.imap.port
            == {Security.SSL: 993, Security.STARTTLS: 143}[provider.imap.security]
        ), provider.id
        assert (
            provider.smtp.port
            == {Security.SSL: 465, Security.STARTTLS: 587}[provider.smtp.security]
        ), provider.id


def _write(path: Path, providers: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"version": 1, "providers": providers}))
    return path


def test_extra_file_adds_and_overrides(tmp_path: Path) -> None:
    extra = _write(
        tmp_path / "extra.json",
        [
            {
                "id": "test",
                "name": "Test loopback",
                "domains": ["example.org", "gmail.com"],
                "imap": {"host": "127.0.0.1", "port": 1993, "security": "ssl"},
                "smtp": {"host": "localhost", "port": 1587, "security": "starttls"},
                "username": "localpart",
            }
        ],
    )
    database = ProviderDatabase.load([extra])
    provider = database.lookup("example.org")
    assert provider is not None
    assert provider.imap.host == "127.0.0.1"
    assert provider.username_for("alice@example.org") == "alice"
    gmail = database.lookup("gmail.com")
    assert gmail is not None and gmail.name == "Test loopback"


@pytest.mark.parametrize(
    "providers",
    [
        [{"id": "x"}],
        [
            {
                "id": "x",
                "name": "X",
                "domains": ["x.org"],
                "imap": {"host": "bad host", "port": 993, "security": "ssl"},
                "smtp": {"host": "x.org", "port": 465, "security": "ssl"},
            }
        ],
        [
            {
                "id": "x",
                "name": "X",
                "domains": ["x.org"],
                "imap": {"host": "x.org", "port": 993, "security": "plain"},
                "smtp": {"host": "x.org", "port": 465, "security": "ssl"},
            }
        ],
    ],
)
def test_damaged_extra_file_is_reported(tmp_path: Path, providers: list[dict[str, object]]) -> None:
    extra = _write(tmp_path / "bad.json", providers)
    with pytest.raises(ConfigError, match=r"bad\.json is damaged"):
        ProviderDatabase.load([extra])


def test_missing_extra_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read"):
        ProviderDatabase.load([tmp_path / "nope.json"])


def test_oauth_providers_carry_endpoints_scopes_and_mechanism() -> None:
    database = ProviderDatabase.load()
    ids = {p.id for p in database.oauth_providers()}
    assert {"gmail", "outlook", "microsoft-work", "yahoo", "aol"} <= ids
    outlook = database.lookup("hotmail.com")
    assert outlook is not None and outlook.oauth is not None
    assert outlook.oauth.required and outlook.oauth.mechanism == "XOAUTH2"
    assert "offline_access" in outlook.oauth.scopes
    gmail = database.by_id("gmail")
    assert gmail is not None and gmail.oauth is not None and not gmail.oauth.required
    for provider in database.oauth_providers():
        assert provider.oauth is not None
        assert provider.oauth.token_endpoint.startswith("https://"), provider.id


def test_a_bad_oauth_entry_is_refused(tmp_path: Path) -> None:
    entry = {
        "id": "x",
        "name": "X",
        "domains": ["example.org"],
        "imap": {"host": "imap.example.org", "port": 993, "security": "ssl"},
        "smtp": {"host": "smtp.example.org", "port": 465, "security": "ssl"},
        "oauth2": {
            "authorization_endpoint": "http://id.example.org/auth",
            "token_endpoint": "https://id.example.org/token",
            "scopes": ["mail"],
        },
    }
    with pytest.raises(ConfigError, match="authorization endpoint"):
        ProviderDatabase.load([_write(tmp_path / "bad.json", [entry])])


def test_client_ids_come_from_the_profile_before_the_build() -> None:
    assert oauth_client("gmail", None) is None  # mailclient ships none
    configured = {"gmail": {"client_id": "mine", "client_secret": "s"}, "yahoo": {}}
    assert oauth_client("gmail", configured) == ("mine", "s")
    assert oauth_client("yahoo", configured) is None
    assert oauth_client("gmail", {"gmail": {"client_id": 42}}) is None
