"""Every file in a profile is readable by its owner only, whatever the umask: what the
command line makes (config, store, its -wal and -shm, the sender lock, drafts) and what an
older version left readable by all."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core.draft import Draft
from mailclient.core.outgoing import Attachment
from mailclient.core.profile import Profile
from mailclient.store.drafts import LocalDrafts
from mailclient.store.mail import MailStore
from tests.integration.test_accounts_cli import add, runner
from tests.rig import MailServers


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what most desktops use: new files readable by all
    try:
        yield
    finally:
        os.umask(old)


def loose_files(root: Path) -> dict[str, str]:
    """What in ``root`` others could read."""
    return {
        name: oct(mode)
        for name, mode in modes(root).items()
        if mode != (0o700 if (root / name).is_dir() else 0o600)
    }


def modes(root: Path) -> dict[str, int]:
    found = {}
    for path in [root, *root.rglob("*")]:
        found[str(path.relative_to(root))] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def test_every_file_the_cli_makes_is_private(
    mail_servers: MailServers, secret_service: object, tmp_path: Path, loose_umask: None
) -> None:
    profile = tmp_path / "profile"
    cli = runner(profile)
    # Checked after each command: the next start would tighten what the last one left.
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    assert loose_files(profile) == {}
    assert cli("sync", "work", "--folder", "INBOX").returncode == 0
    assert loose_files(profile) == {}
    sent = cli("send", "--account", "work", "--to", "bob@example.org", "--subject", "Modes")
    assert sent.returncode == 0, sent.stderr
    assert loose_files(profile) == {}
    LocalDrafts(Profile(profile).drafts_dir).save(
        Draft(
            account="work",
            sender="alice@example.org",
            subject="Unsent",
            attachments=(Attachment(filename="a.txt", data=b"attached"),),
        )
    )
    with MailStore.open(Profile(profile).store_path):
        found = modes(profile)  # while a connection holds the -wal and -shm files
        assert loose_files(profile) == {}
    assert {"config.json", "profile-id", "mail.sqlite3", "drafts"} <= set(found)
    assert {"mail.sqlite3-wal", "mail.sqlite3-shm", "mail.sqlite3.sender-lock"} <= set(found)
    assert len([name for name in found if name.startswith("drafts/")]) == 2
    assert cli("account", "remove", "work").returncode == 0


def test_files_left_readable_are_made_private_on_open(tmp_path: Path, loose_umask: None) -> None:
    profile = tmp_path / "profile"
    (profile / "drafts").mkdir(parents=True)
    for name in ("config.json", "mail.sqlite3", "instance.lock", "window.ini", "drafts/x.json"):
        (profile / name).write_text("{}" if name.endswith("json") else "")
    os.chmod(profile, 0o755)
    assert modes(profile)["mail.sqlite3"] == 0o644
    assert runner(profile)("outbox").returncode == 0
    found = modes(profile)
    folders = {name for name in found if (profile / name).is_dir()}
    assert {".", "drafts", "logs"} <= folders  # logs: the command's own log file
    assert {found.pop(name) for name in folders} == {0o700}
    assert set(found.values()) == {0o600}, found
