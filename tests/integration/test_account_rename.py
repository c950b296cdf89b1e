"""`mailclient account rename OLD NEW` against the real Dovecot, a real Secret Service and a
profile holding mail, waiting changes, an unsent message, a draft and window state."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import keyring
import pytest

from mailclient.accounts.lifecycle import RENAME_JOURNAL
from mailclient.core.draft import Draft
from mailclient.core.models import SEEN
from mailclient.core.outgoing import BuiltMessage
from mailclient.core.profile import Profile
from mailclient.store.drafts import LocalDrafts
from mailclient.store.mail import ChangeKind, MailStore
from mailclient.store.outbox import Outbox
from mailclient.ui.window.main_window import window_settings
from tests.integration.test_accounts_cli import Run, add, runner
from tests.rig import MailServers

# The tests count the mail they put in place: start from empty mailboxes.
pytestmark = pytest.mark.usefixtures("servers")


@pytest.fixture
def profile(tmp_path: Path, secret_service: object) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def cli(profile: Path) -> Run:
    return runner(profile)


def _accounts_in(path: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute(f"SELECT DISTINCT account FROM {table}")}


def _fill(profile: Profile, mail_servers: MailServers, cli: Run) -> int:
    """Mail of "work" in the store, a read mark waiting, one message unsent, a draft, and
    the window showing work's INBOX with its conversations."""
    mail_servers.append("alice", "INBOX", b"Subject: kept\r\nFrom: x@example.org\r\n\r\nHi\r\n")
    synced = cli("sync", "work")
    assert synced.returncode == 0, synced.stderr
    with MailStore.open(profile.store_path) as store:
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        [kept] = store.message_ids([inbox.id])
        store.record_change(ChangeKind.FLAGS, [kept], add={SEEN})
    outbox = Outbox.open(profile.store_path)
    outbox.add(
        "work",
        BuiltMessage(
            b"Subject: S\r\n\r\nx\r\n",
            "<x@example.org>",
            "alice@example.org",
            ("b@x.org",),
            "S",
            False,
        ),
    )
    outbox.close()
    LocalDrafts(profile.drafts_dir).save(
        Draft(account="work", sender="alice@example.org", subject="Unfinished")
    )
    settings = window_settings(profile.root)
    settings.setValue("folders/current", "folder:work:INBOX")
    settings.setValue("folders/expanded", ["account:work", "account:home"])
    settings.setValue("threads/folder:work:INBOX", True)
    settings.sync()
    return kept


def test_rename_keeps_mail_changes_passwords_outbox_drafts_and_window_state(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    assert add(cli, mail_servers, "home", "bob").returncode == 0
    kept = _fill(Profile(profile), mail_servers, cli)
    store_path = Profile(profile).store_path
    profile_id = Profile(profile).id()

    taken = cli("account", "rename", "work", "home")
    assert taken.returncode != 0
    assert "home" in taken.stderr
    assert keyring.get_password("mailclient", f"{profile_id}/work/imap")

    renamed = cli("account", "rename", "work", "job")
    assert renamed.returncode == 0, renamed.stderr
    assert "Renamed account work to job" in renamed.stdout
    listing = [line.split()[0] for line in cli("account", "list").stdout.splitlines()]
    assert listing == ["job", "home"]  # in its place
    alice = mail_servers.users["alice"].password
    for service in ("imap", "smtp"):
        assert keyring.get_password("mailclient", f"{profile_id}/job/{service}") == alice
        assert keyring.get_password("mailclient", f"{profile_id}/work/{service}") is None
    # The same rows, under the new name: nothing fetched again, the read mark still waits.
    assert _accounts_in(store_path, "folders") == {"job"}
    assert _accounts_in(store_path, "pending_changes") == {"job"}
    with MailStore.open(store_path) as store:
        inbox = store.folder_by_name("job", "INBOX")
        assert inbox is not None
        assert store.message_ids([inbox.id]) == [kept]
    outbox = Outbox.open(store_path)
    assert [item.account for item in outbox.items()] == ["job"]
    outbox.close()
    assert [d.draft.account for d in LocalDrafts(Profile(profile).drafts_dir).all()] == ["job"]
    settings = window_settings(profile)
    assert settings.value("folders/current") == "folder:job:INBOX"
    assert sorted(settings.value("folders/expanded")) == ["account:home", "account:job"]
    assert settings.value("threads/folder:job:INBOX", type=bool)
    assert settings.value("threads/folder:work:INBOX") is None

    # It works under its new name: the server is reached and the waiting change sent.
    tested = cli("account", "test", "job")
    assert tested.returncode == 0, tested.stderr
    synced = cli("sync", "job")
    assert synced.returncode == 0, synced.stderr
    assert _accounts_in(store_path, "pending_changes") == set()
    listed = cli("list", "job")
    assert "kept" in listed.stdout


def test_a_rename_killed_half_way_is_undone_by_the_next_rename(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    """As a rename killed after moving the unsent message left it: the journal, the
    secrets copied, the outbox under the new name, the config under the old one."""
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    assert add(cli, mail_servers, "home", "bob").returncode == 0
    store_path = Profile(profile).store_path
    profile_id = Profile(profile).id()
    alice = mail_servers.users["alice"].password
    for service in ("imap", "smtp"):
        keyring.set_password("mailclient", f"{profile_id}/job/{service}", alice)
    outbox = Outbox.open(store_path)
    built = BuiltMessage(b"Subject: S\r\n\r\nx\r\n", "<y@x.org>", "a@x.org", ("b@x.org",), "S")
    outbox.add("job", built)
    outbox.close()
    (profile / RENAME_JOURNAL).write_text('{"old": "work", "new": "job"}')

    renamed = cli("account", "rename", "home", "house")
    assert renamed.returncode == 0, renamed.stderr
    outbox = Outbox.open(store_path)
    assert [item.account for item in outbox.items()] == ["work"]
    outbox.close()
    for service in ("imap", "smtp"):
        assert keyring.get_password("mailclient", f"{profile_id}/job/{service}") is None
        assert keyring.get_password("mailclient", f"{profile_id}/work/{service}") == alice
    assert not (profile / RENAME_JOURNAL).exists()
