"""Account validation and the atomic, versioned account store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mailclient.accounts.model import Account, Security
from mailclient.accounts.store import AccountStore
from mailclient.core.atomic import write_atomic
from mailclient.core.errors import AccountExists, AccountNotFound, ConfigError, InvalidInput


def make(name: str = "work", **kw: object) -> Account:
    values: dict[str, object] = {
        "email": "alice@example.org",
        "imap_host": "imap.example.org",
        "smtp_host": "",
    }
    values.update(kw)
    return Account(name=name, **values)  # type: ignore[arg-type]


def test_smtp_host_defaults_to_imap_host() -> None:
    account = make().validated()
    assert account.smtp_host == "imap.example.org"
    assert account.login == "alice@example.org"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"email": "alice"}, "email"),
        ({"email": "alice@exa mple.org"}, "email"),
        ({"email": "a@b.org\r\nBcc: x@y.org"}, "email"),
        ({"imap_host": ""}, "IMAP host"),
        ({"imap_host": "bad host"}, "IMAP host"),
        ({"smtp_host": "-x.org"}, "SMTP host"),
        ({"imap_port": 0}, "IMAP port"),
        ({"smtp_port": 70000}, "SMTP port"),
        ({"display_name": "Al\nice"}, "display name"),
        ({"ca_file": "/nonexistent/ca.pem"}, "CA file"),
    ],
)
def test_invalid_fields_are_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        make(**changes).validated()
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_hosts_accept_ip_and_idn() -> None:
    assert make(imap_host="127.0.0.1").validated().imap_host == "127.0.0.1"
    assert make(imap_host="mail.bücher.de").validated().imap_host == "mail.bücher.de"


def test_store_round_trip_and_version(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    store = AccountStore(path)
    store.add(make("work", imap_security=Security.STARTTLS, imap_port=143))
    store.add(make("home", email="bob@example.org"))
    data = json.loads(path.read_text())
    assert data["version"] == 1
    assert [a["name"] for a in data["accounts"]] == ["work", "home"]
    again = AccountStore(path)
    assert again.get("work").imap_security is Security.STARTTLS
    assert again.get("work").imap_port == 143
    assert [a.name for a in again.accounts()] == ["work", "home"]
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_duplicate_and_missing(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "config.json")
    store.add(make("work"))
    with pytest.raises(AccountExists, match="work"):
        store.add(make(" work "))
    with pytest.raises(AccountNotFound):
        store.remove("nope")
    store.remove("work")
    assert AccountStore(tmp_path / "config.json").accounts() == []


def test_update_rename_and_reorder(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "config.json")
    store.add(make("a"))
    store.add(make("b"))
    store.update("a", make("c", display_name="Alice"))
    assert [a.name for a in store.accounts()] == ["c", "b"]
    store.reorder(["b", "c"])
    assert [a.name for a in AccountStore(tmp_path / "config.json").accounts()] == ["b", "c"]
    with pytest.raises(AccountExists):
        store.update("b", make("c"))


def test_two_stores_on_one_file_do_not_lose_changes(tmp_path: Path) -> None:
    first = AccountStore(tmp_path / "config.json")
    second = AccountStore(tmp_path / "config.json")
    first.add(make("a"))
    second.add(make("b"))
    assert [a.name for a in AccountStore(tmp_path / "config.json").accounts()] == ["a", "b"]


def test_damaged_or_newer_config_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="damaged"):
        AccountStore(path)
    path.write_text(json.dumps({"version": 99, "accounts": []}))
    with pytest.raises(ConfigError, match="newer"):
        AccountStore(path)


GOOD = {"name": "work", "email": "a@example.org", "imap_host": "h.test", "smtp_host": "h.test"}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"accounts": [None]}, "account 1, account: null is not an account"),
        (
            {"accounts": [GOOD, {**GOOD, "imap_port": "abc"}]},
            "account 2 ('work'), imap_port: 'abc' is not a number",
        ),
        ({"accounts": [{**GOOD, "smtp_port": 70000}]}, "smtp_port: 70000 is not a port number"),
        ({"accounts": [{**GOOD, "imap_port": True}]}, "imap_port: true is not a number"),
        ({"accounts": [{**GOOD, "email": None}]}, "email: null is not text"),
        ({"accounts": [{"name": "x"}]}, "account 1 ('x'), email: is missing"),
        (
            {"accounts": [{**GOOD, "identities": "b@example.org"}]},
            "identities: 'b@example.org' is not a list",
        ),
        ({"accounts": [{**GOOD, "identities": [1]}]}, "identities: 1 is not text"),
        (
            {"accounts": [{**GOOD, "pinned_certificates": [{"host": "h"}]}]},
            "pinned_certificates: an entry lacks",
        ),
        (
            {"accounts": [{**GOOD, "imap_security": "tls"}]},
            "imap security: must be 'ssl' or 'starttls'",
        ),
        ({"accounts": {"work": GOOD}}, '"accounts" is not a list'),
        ({"accounts": [], "settings": []}, '"settings" is not an object'),
    ],
)
def test_a_mistake_in_the_config_names_the_file_and_the_field(
    tmp_path: Path, config: dict[str, object], problem: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"version": 1, **config}))
    with pytest.raises(ConfigError) as error:
        AccountStore(path)
    assert str(error.value).startswith(f"The configuration file {path} has a mistake: ")
    assert problem in str(error.value)


@pytest.mark.parametrize("text", ["[]", "null", '{"version": null}', '{"version": "x"}'])
def test_a_config_that_is_no_object_is_damaged(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="is damaged"):
        AccountStore(path)


def test_failed_save_keeps_old_file_and_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.json"
    store = AccountStore(path)
    store.add(make("a"))
    before = path.read_bytes()

    def full_disk(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ConfigError, match="No space left"):
        store.add(make("b"))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [a.name for a in store.accounts()] == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_write_atomic_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"old")
    write_atomic(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_pinned_certificates_round_trip_and_replace(tmp_path: Path) -> None:
    from tests.support.loopback import self_signed

    first = self_signed("mail.example.org").cert_pem.decode()
    second = self_signed("mail.example.org").cert_pem.decode()
    account = make(imap_host="Mail.Example.org", imap_port=993).with_pin(
        "mail.example.org.", 993, first
    )
    assert account.pinned_pem("MAIL.example.org", 993) == first
    assert account.pinned_pem("mail.example.org", 143) is None
    account = account.with_pin("mail.example.org", 993, second)
    assert len(account.pinned_certificates) == 1
    assert account.pinned_pem("mail.example.org", 993) == second
    store = AccountStore(tmp_path / "config.json")
    store.add(account)
    again = AccountStore(tmp_path / "config.json").get("work")
    assert again.pinned_certificates == account.pinned_certificates
    assert again.pinned_certificates[0].fingerprint.count(":") == 31
    assert account.with_pin("mail.example.org", 993, None).pinned_certificates == ()


def test_pins_for_servers_no_longer_used_are_dropped() -> None:
    from tests.support.loopback import self_signed

    pem = self_signed("old.example.org").cert_pem.decode()
    account = make(imap_host="old.example.org").with_pin("old.example.org", 993, pem)
    assert account.validated().pinned_certificates != ()
    moved = make(imap_host="new.example.org", pinned_certificates=account.pinned_certificates)
    assert moved.validated().pinned_certificates == ()


def test_damaged_pin_is_named() -> None:
    account = make(imap_host="mail.example.org").with_pin("mail.example.org", 993, "garbage")
    with pytest.raises(InvalidInput) as info:
        account.validated()
    assert info.value.field == "trusted certificate"
