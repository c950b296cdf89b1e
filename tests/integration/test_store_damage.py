"""A damaged mail store against the real servers: list, send and sync tell what happened,
nothing unsent is lost, and the cache is fetched again.

The store is damaged as a disk or a crash does it: pages of the file overwritten, here the
folder list by empty pages (it then reads as empty, without an error) or the messages by
random bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from mailclient.core.models import SEEN
from mailclient.store.mail import MailStore
from mailclient.store.pending import ChangeKind
from mailclient.store.repair import PENDING_FILE
from tests.integration.sending import SendingProfile, make_profile, parse
from tests.rig import MailServers

EXIT_QUEUED = 75


pytestmark = pytest.mark.usefixtures("secret_service")


def message(subject: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Bob <bob@example.org>"
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Jun 2024 09:00:00 +0000"
    m.set_content(f"About {subject}.\n" * 50)
    return m.as_bytes(policy=SMTP)


@pytest.fixture
def alice(tmp_path: Path, servers: MailServers) -> SendingProfile:
    """A synced profile with one change not yet on the server and one message unsent."""
    servers.fill_maildir("alice", "INBOX", [message(f"Letter {n}") for n in range(1, 301)])
    profile = make_profile(tmp_path / "profile", servers)
    synced = profile.cli("sync", "alice")
    assert synced.returncode == 0, synced.stderr
    with MailStore.open(profile.store_path) as store:
        inbox = store.folder_by_name("alice", "INBOX")
        assert inbox is not None and inbox.total == 300
        store.record_change(ChangeKind.FLAGS, store.message_ids(inbox.id)[:2], add={SEEN})
    servers.stop_smtp()
    try:
        queued = profile.cli(
            "send", "--account", "alice", "--to", "bob@example.org", "--subject", "Unsent",
            stdin="Written before the damage.\n",
        )  # fmt: skip
    finally:
        servers.start_smtp()
    assert queued.returncode == EXIT_QUEUED, queued.stderr
    return profile


def _pages(path: Path) -> tuple[int, dict[str, int]]:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = int(db.execute("PRAGMA page_size").fetchone()[0])
        roots = dict(db.execute("SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0"))
    return size, roots


def empty_folder_list(path: Path) -> None:
    """Overwrite the folder table and its index with empty pages of the same file."""
    size, roots = _pages(path)
    with path.open("r+b") as file:
        pages = {}
        for name in ("outbox", "outbox_due"):  # empty: the outbox has its own file
            file.seek((roots[name] - 1) * size)
            pages[name] = file.read(size)
        file.seek((roots["folders"] - 1) * size)
        file.write(pages["outbox"])
        file.seek((roots["sqlite_autoindex_folders_1"] - 1) * size)
        file.write(pages["outbox_due"])


def scribble_over_messages(path: Path) -> None:
    """Random bytes over leaf pages in the middle of the messages table."""
    size, _ = _pages(path)
    with sqlite3.connect(path) as db:
        leaves = [
            int(r[0])
            for r in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
    rng = random.Random(11)
    with path.open("r+b") as file:
        for page in leaves[len(leaves) // 3 : len(leaves) // 3 + 3]:
            file.seek((page - 1) * size)
            file.write(rng.randbytes(size))


def rescue_folder(profile: SendingProfile) -> Path:
    (folder,) = profile.root.glob("rescued-*")
    return folder


def assert_change_kept(folder: Path) -> None:
    (change,) = json.loads((folder / PENDING_FILE).read_text())["changes"]
    assert (change["account"], change["kind"], change["add_flags"]) == ("alice", "flags", [SEEN])
    assert len(change["messages"]) == 2


def test_list_says_the_store_was_damaged_and_what_was_kept(alice: SendingProfile) -> None:
    empty_folder_list(alice.store_path)
    listed = alice.cli("list", "alice")
    assert listed.returncode == 1
    assert "Traceback" not in listed.stderr
    folder = rescue_folder(alice)
    assert f"The mail store was damaged. It was moved to {folder}" in listed.stderr
    assert "1 change made here that the server had not confirmed yet" in listed.stderr
    assert str(folder / PENDING_FILE) in listed.stderr
    assert "Nothing of alice is stored yet. Run: mailclient sync alice" in listed.stderr
    assert_change_kept(folder)
    assert (folder / "mail.sqlite3").exists()
    # The unsent message is where it was.
    assert "\tqueued\talice\tUnsent\tto bob@example.org" in alice.cli("outbox", "list").stdout


def test_send_never_writes_into_a_damaged_store_and_loses_nothing(
    alice: SendingProfile, servers: MailServers
) -> None:
    empty_folder_list(alice.store_path)
    before = hashlib.sha256(alice.store_path.read_bytes()).hexdigest()
    sent = alice.cli(
        "send", "--account", "alice", "--to", "bob@example.org", "--subject", "After",
        stdin="Written after the damage.\n",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert hashlib.sha256(alice.store_path.read_bytes()).hexdigest() == before
    flushed = alice.cli("outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    subjects = sorted(parse(raw)["Subject"] for raw in servers.wait_for_messages("bob", 2))
    assert subjects == ["After", "Unsent"]
    assert alice.cli("outbox", "list").stdout == "The outbox is empty.\n"


@pytest.mark.parametrize("damage", [empty_folder_list, scribble_over_messages])
def test_sync_sets_the_damaged_store_aside_and_fetches_everything_again(
    alice: SendingProfile, damage: object
) -> None:
    assert callable(damage)
    with sqlite3.connect(alice.store_path) as db:  # the last full check was days ago
        db.execute("UPDATE counters SET value = value - 3 * 86400 WHERE name = 'checked'")
    damage(alice.store_path)
    synced = alice.cli("sync", "alice")
    assert synced.returncode == 0, synced.stderr
    assert "Traceback" not in synced.stderr
    folder = rescue_folder(alice)
    assert f"The mail store was damaged. It was moved to {folder}" in synced.stderr
    assert "alice/INBOX: 300 new" in synced.stdout
    assert_change_kept(folder)
    listed = alice.cli("list", "alice")
    assert listed.returncode == 0 and listed.stderr == ""
    assert len(listed.stdout.splitlines()) == 300
    assert "Unsent" in alice.cli("outbox", "list").stdout


def test_damage_met_in_use_is_set_aside_at_the_next_command(alice: SendingProfile) -> None:
    scribble_over_messages(alice.store_path)  # the full check passed less than a day ago
    listed = alice.cli("list", "alice")
    assert listed.returncode == 1
    assert "Traceback" not in listed.stderr
    assert "is damaged. mailclient sets it aside and starts a new one" in listed.stderr
    again = alice.cli("list", "alice")
    assert f"The mail store was damaged. It was moved to {rescue_folder(alice)}" in again.stderr
    assert_change_kept(rescue_folder(alice))
