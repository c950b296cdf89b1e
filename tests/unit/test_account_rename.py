"""Renaming an account: its secrets, its data and its config move together or not at all."""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.lifecycle import RENAME_JOURNAL, finish_rename, rename_account
from mailclient.accounts.store import AccountStore
from mailclient.core.draft import Draft
from mailclient.core.errors import AccountExists, ConfigError, InvalidInput
from mailclient.core.outgoing import BuiltMessage
from mailclient.core.profile import Profile
from mailclient.store.drafts import LocalDrafts
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.outbox import Outbox
from mailclient.store.pending import ChangeKind
from mailclient.store.renaming import rename_account_data
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
        if new == "job":
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


class FileKeyring:
    """A keyring in a JSON file: what a process killed mid-rename wrote stays written."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _all(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service} {username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        secrets = self._all()
        secrets[f"{service} {username}"] = password
        self.path.write_text(json.dumps(secrets))

    def delete_password(self, service: str, username: str) -> None:
        secrets = self._all()
        secrets.pop(f"{service} {username}", None)
        self.path.write_text(json.dumps(secrets))


# Where a killed rename stops: the step it is in when the process dies.
KILL_POINTS = [
    ("mailclient.accounts.credentials.CredentialStore.copy_account", "after"),
    ("mailclient.store.outbox.Outbox.rename_account", "after"),
    ("mailclient.store.drafts.LocalDrafts.rename_account", "after"),
    ("mailclient.store.mail.MailStore.rename_account", "after"),
    ("mailclient.accounts.store.AccountStore.update", "after"),
    ("mailclient.accounts.credentials.CredentialStore.delete_account", "before"),
]


@pytest.mark.parametrize(("target", "when"), KILL_POINTS)
def test_a_rename_killed_at_any_step_is_finished_or_undone_at_the_next_start(
    tmp_path: Path, target: str, when: str
) -> None:
    """Nothing of the account is lost or left under a name no account has: its unsent
    message, its waiting change, its draft and its passwords."""
    profile = Profile(tmp_path / "profile").ensure()
    accounts = AccountStore(profile.config_path)
    accounts.add(make("work"))
    keyring = FileKeyring(tmp_path / "keyring.json")
    credentials = CredentialStore(keyring, profile_id=PROFILE_ID)
    credentials.set_password("work", "imap", "secret-i")
    with MailStore.open(profile.store_path) as store:
        store.sync_folder_list("work", [RemoteFolder("INBOX", "/")])
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        store.add_messages(inbox.id, [NewMessage(uid=1, flags=frozenset())])
        store.record_change(ChangeKind.FLAGS, store.message_ids(inbox.id), add={"\\Seen"})
    outbox = Outbox.open(profile.store_path)
    outbox.add("work", BuiltMessage(b"raw\r\n", "<x@example.org>", "a@x.org", ("b@x.org",), "S"))
    outbox.close()
    LocalDrafts(profile.drafts_dir).save(Draft(account="work", sender="a@x.org", subject="D"))

    def move_data(old: str, new: str) -> None:
        rename_account_data(profile.store_path, profile.drafts_dir, old, new)

    pid = os.fork()
    if pid == 0:  # the process that is killed
        try:
            module, owner, method = target.rsplit(".", 2)
            cls = getattr(importlib.import_module(module), owner)
            real = getattr(cls, method)

            def killed(*args: object, **kwargs: object) -> object:
                if when == "before":
                    os._exit(0)
                real(*args, **kwargs)
                os._exit(0)

            setattr(cls, method, killed)
            rename_account(AccountStore(profile.config_path), credentials, "work", "job", move_data)
        finally:
            os._exit(1)
    assert os.waitpid(pid, 0)[1] == 0

    accounts = AccountStore(profile.config_path)
    finish_rename(accounts, credentials, move_data)
    (name,) = [a.name for a in accounts.accounts()]
    assert credentials.get_password(name, "imap") == "secret-i"
    assert {key.split("/")[1] for key in keyring._all()} == {name}
    outbox = Outbox.open(profile.store_path)
    assert [item.account for item in outbox.items()] == [name]
    outbox.close()
    assert [saved.draft.account for saved in LocalDrafts(profile.drafts_dir).all()] == [name]
    with MailStore.open(profile.store_path) as store:
        assert store.accounts() == [name]
        assert len(store.pending_changes(name)) == 1
    # What was left to do is done once: the next start finds nothing to finish.
    assert finish_rename(accounts, credentials, move_data) is None


def test_a_failure_in_the_middle_of_moving_the_data_moves_it_all_back(setup: Setup) -> None:
    """The outbox moved, then the mail store refused (locked, a full disk): the unsent
    messages go back to the account that keeps its name."""
    accounts, credentials, _ = setup
    where = {"outbox": "work", "store": "work"}

    def half(old: str, new: str) -> None:
        if where["outbox"] == old:
            where["outbox"] = new
        if new == "job":
            raise ConfigError("the mail store is locked")
        if where["store"] == old:
            where["store"] = new

    with pytest.raises(ConfigError):
        rename_account(accounts, credentials, "work", "job", half)
    assert where == {"outbox": "work", "store": "work"}


def test_the_start_after_a_rename_killed_once_it_was_made_finishes_it(tmp_path: Path) -> None:
    """Killed after the config took the new name: the old secrets go and the window's
    state follows, at the next start (as run_gui and the rename command do it)."""
    from mailclient.accounts.signin import SignIn
    from mailclient.app.services import Services
    from mailclient.ui.window.state import window_settings

    profile = Profile(tmp_path / "profile").ensure()
    accounts = AccountStore(profile.config_path)
    accounts.add(make("job"))
    keyring = MemoryKeyring()
    credentials = CredentialStore(keyring, profile_id=PROFILE_ID)
    for name in ("work", "job"):
        credentials.set_password(name, "imap", "secret-i")
    settings = window_settings(profile.root)
    settings.setValue("folders/current", "folder:work:INBOX")
    settings.sync()
    (profile.root / RENAME_JOURNAL).write_text('{"old": "work", "new": "job"}')

    services = Services(profile, accounts, credentials, SignIn(credentials, lambda _: None))
    services.finish_account_rename()
    assert _names(keyring) == {"job/imap"}
    assert window_settings(profile.root).value("folders/current") == "folder:job:INBOX"
    assert not (profile.root / RENAME_JOURNAL).exists()


@pytest.mark.parametrize("text", ["", "{", "[]", '{"old": "work"}'])
def test_a_journal_that_is_not_one_is_dropped(setup: Setup, text: str) -> None:
    accounts, credentials, keyring = setup
    journal = accounts.path.with_name(RENAME_JOURNAL)
    journal.write_text(text)
    assert finish_rename(accounts, credentials, lambda o, n: None) is None
    assert not journal.exists()
    assert _names(keyring) == {"work/imap", "work/smtp"}
