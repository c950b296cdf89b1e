"""A store that cannot be written: a read-only file, a full disk. The command says so in
words a person can act on, and is not taken for damage or for a bug.

Both need root, as the rest of this folder: to mount the store file read-only (root
writes read-only files anyway), and a tiny tmpfs that fills up.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.core.models import SpecialUse
from mailclient.core.profile import Profile
from mailclient.store.db import damage_marker
from mailclient.store.mail import MailStore, RemoteFolder

NOBODY = 65534
CLI = [sys.executable, "-m", "mailclient"]


def profile_with_store(root: Path) -> Profile:
    profile = Profile(root).ensure()
    profile.id()  # a profile in use has its id (made at the first start)
    AccountStore(profile.config_path).add(
        Account(name="work", email="ann@example.org", imap_host="127.0.0.1", smtp_host="h")
    )
    with MailStore.open(profile.store_path) as store:
        store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    return profile


def test_a_read_only_store_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    profile = profile_with_store(tmp_path / "profile")
    store = str(profile.store_path)
    # The file alone on a read-only mount: root writes read-only files anyway.
    if subprocess.run(["mount", "--bind", store, store], capture_output=True).returncode:
        pytest.skip("this machine lets no test mount")
    try:
        remount = ["mount", "-o", "remount,ro,bind", store, store]
        assert subprocess.run(remount, capture_output=True).returncode == 0
        result = run_cli(profile, "sync", "work")
    finally:
        subprocess.run(["umount", store], check=True)
    assert result.returncode == 1
    assert result.stderr == (
        "mailclient: mailclient cannot write mail.sqlite3: the file is read-only "
        f"({profile.store_path}). Make it writable by you and try again; nothing was lost.\n"
    )
    assert not damage_marker(profile.store_path).exists()


def run_cli(profile: Profile, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--profile", str(profile.root), *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine lets no test mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["umount", str(mount_point)], check=True)


def test_a_profile_id_that_cannot_be_made_is_said_plainly(tiny_disk: Path) -> None:
    profile = Profile(tiny_disk / "profile").ensure()
    with contextlib.suppress(OSError), (tiny_disk / "filler").open("wb") as filler:
        while True:
            filler.write(b"x" * 4096)
            filler.flush()
    result = run_cli(profile, "account", "list")
    assert result.returncode == 1, result.stderr
    assert f"Cannot create {profile.root / 'profile-id'}: No space left on device" in (
        result.stderr
    )
    assert "internal error" not in result.stderr


def test_a_full_disk_is_named_and_nothing_is_half_queued(tiny_disk: Path) -> None:
    profile = profile_with_store(tiny_disk / "profile")
    body = tiny_disk.parent / "body.txt"  # on the big disk: what the user wrote stays
    body.write_text("A long letter.\n" * 40_000)
    result = run_cli(
        profile, "send", "--account", "work", "--to", "bob@example.org",
        "--subject", "Too big", "--body-file", str(body),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    outbox = profile.root / "outbox.sqlite3"
    assert (
        f"mailclient: The disk holding {outbox} is full. Free some space and try again; "
        "nothing was lost.\n"
    ) in result.stderr
    assert "Traceback" not in result.stderr.replace("--- Logging error ---\nTraceback", "")
    assert not damage_marker(outbox).exists()
    shutil.rmtree(profile.root / "logs")  # some space again, as after the user freed some
    listed = run_cli(profile, "outbox", "list")
    assert listed.stdout == "The outbox is empty.\n", listed.stderr
