"""Renaming an account: its secrets, its data and its config move together or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.lifecycle import rename_account
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AccountExists, ConfigError, InvalidInput
from mailclient.ui.window.renamed_account import renamed_key
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring
from tests.unit.test_accounts import make

Setup = tuple[AccountStore, CredentialStore, MemoryKeyring]


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    accounts = AccountStore(tmp_path / "config.json")
    accounts.add(make("work"))
    accounts.add(make("home"))
    keyring = MemoryKeyring()
    credentials = CredentialStore(keyring, profile_id=PROFILE_ID)
    credentials.set_password("work", "imap", "secret-i")
    credentials.set_password("work", "smtp", "secret-s")
    return accounts, credentials, keyring


def _names(keyring: MemoryKeyring) -> set[str]:
    return {username.split("/", 1)[1] for _, username in keyring.secrets}


def test_rename_moves_secrets_and_data_and_keeps_the_order(setup: Setup) -> None:
    accounts, credentials, keyring = setup
    moved: list[tuple[str, str]] = []
    renamed = rename_account(
        accounts, credentials, "work", "job", lambda o, n: moved.append((o, n))
    )
    assert renamed.name == "job"
    assert moved == [("work", "job")]
    assert [a.name for a in AccountStore(accounts.path).accounts()] == ["job", "home"]
    assert _names(keyring) == {"job/imap", "job/smtp"}
    assert credentials.get_password("job", "smtp") == "secret-s"


def test_a_failed_step_leaves_everything_as_it_was(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, credentials, keyring = setup

    def refuse(old: str, new: str) -> None:
        raise ConfigError("the disk is full")

    with pytest.raises(ConfigError):
        rename_account(accounts, credentials, "work", "job", refuse)
    assert _names(keyring) == {"work/imap", "work/smtp"}
    moved: list[tuple[str, str]] = []

    def config_refused(name: str, changed: object) -> None:
        raise ConfigError("the config cannot be written")

    monkeypatch.setattr(accounts, "update", config_refused)
    with pytest.raises(ConfigError):
        rename_account(accounts, credentials, "work", "job", lambda o, n: moved.append((o, n)))
    assert moved == [("work", "job"), ("job", "work")]  # the data moved back
    assert _names(keyring) == {"work/imap", "work/smtp"}
    assert [a.name for a in AccountStore(accounts.path).accounts()] == ["work", "home"]


def test_a_taken_or_invalid_name_is_refused_before_anything_moves(setup: Setup) -> None:
    accounts, credentials, keyring = setup
    moved: list[tuple[str, str]] = []
    with pytest.raises(AccountExists):
        rename_account(accounts, credentials, "work", "home", lambda o, n: moved.append((o, n)))
    with pytest.raises(InvalidInput):
        rename_account(accounts, credentials, "work", "", lambda o, n: moved.append((o, n)))
    assert moved == []
    assert _names(keyring) == {"work/imap", "work/smtp"}


@pytest.mark.parametrize(
    ("key", "renamed"),
    [
        ("account:work", "account:job"),
        ("folder:work:INBOX", "folder:job:INBOX"),
        ("folder:work:Projects:2024", "folder:job:Projects:2024"),
        ("node:work:Projects", "node:job:Projects"),
        ("account:workshop", "account:workshop"),
        ("folder:workshop:INBOX", "folder:workshop:INBOX"),
        ("all", "all"),
    ],
)
def test_window_keys_follow_the_account(key: str, renamed: str) -> None:
    assert renamed_key(key, "work", "job") == renamed
