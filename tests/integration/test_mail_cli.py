"""`mailclient sync` and `mailclient list` against the rig's Dovecot, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest

from mailclient.core.profile import Profile
from mailclient.store.mail import MailStore, NewMessage
from tests.integration.imap_helpers import message
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers

USER = "carol"
Run = Callable[..., subprocess.CompletedProcess[str]]


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture
def cli(tmp_path: Path, secret_service: object) -> Run:
    profile = tmp_path / "profile"

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mailclient", "--profile", str(profile), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    run.profile = profile  # type: ignore[attr-defined]
    return run


def add_account(
    cli: Run,
    servers: MailServers,
    name: str = "work",
    port: int | None = None,
    password: str | None = None,
) -> None:
    carol = servers.user(USER)
    added = cli(
        "account", "add", name, "--email", carol.address, "--imap-host", servers.host,
        "--imap-port", str(port or servers.imaps_port), "--ca-file", str(servers.ca_file),
        "--password-stdin", stdin=(password or carol.password) + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_sync_then_list_shows_the_newest_first(cli: Run, servers: MailServers) -> None:
    # Arrival order differs from date order: the list follows the Date header.
    uids = {
        number: servers.append(USER, "INBOX", message(number, f"Mail {number}", minutes=minutes))
        for number, minutes in ((1, 30), (2, 10), (3, 20))
    }
    servers.append(USER, "Archive", message(4, "Grüße ☕"), flags=["\\Seen", "\\Flagged"])
    add_account(cli, servers)

    synced = cli("sync")
    assert synced.returncode == 0, synced.stderr
    lines = synced.stdout.splitlines()
    assert "work/INBOX: 3 new, 0 changed, 0 removed" in lines
    assert "work/Archive: 1 new, 0 changed, 0 removed" in lines
    assert "work/Trash: 0 new, 0 changed, 0 removed" in lines

    listed = cli("list", "work", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["subject"] for r in rows] == ["Mail 1", "Mail 3", "Mail 2"]
    assert [r["uid"] for r in rows] == [uids[1], uids[3], uids[2]]
    assert rows[0]["from"] == "Bob Example <bob@example.org>"
    assert rows[0]["date"] == "2024-03-01T12:30:00+00:00" and rows[0]["flags"] == []

    archive = cli("list", "work", "--folder", "Archive", "--json")
    [row] = [json.loads(line) for line in archive.stdout.splitlines()]
    assert row["subject"] == "Grüße ☕" and row["flags"] == ["\\Flagged", "\\Seen"]

    limited = cli("list", "work", "--limit", "1")
    assert limited.returncode == 0
    assert len(limited.stdout.splitlines()) == 1 and "Mail 1" in limited.stdout

    servers.append(USER, "INBOX", message(5, "Mail 5", minutes=40))
    again = cli("sync", "work", "--folder", "INBOX")
    assert again.stdout.splitlines() == ["work/INBOX: 1 new, 0 changed, 0 removed"]


def test_list_before_sync_and_unknown_folders_say_what_to_do(
    cli: Run, servers: MailServers
) -> None:
    add_account(cli, servers)
    before = cli("list", "work")
    assert before.returncode == 1 and "mailclient sync work" in before.stderr
    assert cli("sync").returncode == 0
    missing = cli("list", "work", "--folder", "Nope")
    assert missing.returncode == 1 and "no folder 'Nope'" in missing.stderr
    bad = cli("sync", "work", "--folder", "Nope")
    assert bad.returncode == 1 and "no folder named 'Nope'" in bad.stderr
    assert "Traceback" not in before.stderr + missing.stderr + bad.stderr


def test_account_remove_drops_the_cached_mail(cli: Run, servers: MailServers) -> None:
    servers.append(USER, "INBOX", message(1))
    add_account(cli, servers, "work")
    add_account(cli, servers, "other")
    assert cli("sync").returncode == 0
    removed = cli("account", "remove", "work")
    assert removed.returncode == 0, removed.stderr
    with MailStore.open(cli.profile / "mail.sqlite3") as store:  # type: ignore[attr-defined]
        assert store.accounts() == ["other"]


def test_list_never_sends_control_characters_to_the_terminal(
    cli: Run, servers: MailServers
) -> None:
    # OSC 52 asks the terminal to put its payload on the clipboard; 0x9B is an 8-bit CSI.
    osc52 = "=?utf-8?Q?Invoice=1B]52;c;ZXZpbA=3D=3D=07_due?= =?utf-8?B?wpsySg==?="
    servers.append(USER, "INBOX", message(1, osc52, sender="=?utf-8?Q?Eve=1B[8m?= <e@x.org>"))
    add_account(cli, servers)
    assert cli("sync", "work").returncode == 0
    listed = cli("list", "work")
    assert listed.returncode == 0, listed.stderr
    assert "Invoice ]52;c;ZXZpbA== due 2J" in listed.stdout and "Eve [8m" in listed.stdout

    # A store written by an older version kept the controls: they are shown escaped.
    with MailStore.open(cli.profile / "mail.sqlite3") as store:  # type: ignore[attr-defined]
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        store.add_messages(
            inbox.id,
            [NewMessage(10_000, frozenset(), date=2**31, subject="Old\x1b]52;c;eA==\x07\x9b2J")],
        )
    text = cli("list", "work", "--limit", "1")
    assert "Old\\x1b]52;c;eA==\\x07\\x9b2J" in text.stdout
    as_json = cli("list", "work", "--limit", "1", "--json")
    assert "\\u009b2J" in as_json.stdout
    assert json.loads(as_json.stdout)["subject"] == "Old\x1b]52;c;eA==\x07\x9b2J"
    unsafe = {chr(c) for c in [*range(32), *range(0x7F, 0xA0)]} - {"\t", "\n"}
    for output in (listed.stdout, text.stdout, as_json.stdout):
        assert not unsafe & set(output)


def test_list_shows_no_bidi_or_invisible_characters(cli: Run, servers: MailServers) -> None:
    # U+202E makes "gnp.exe" show as "exe.png"; U+200B hides inside a word.
    subject = "=?utf-8?Q?photo_=E2=80=AEgnp.exe_pay=E2=80=8Bpal?="
    servers.append(USER, "INBOX", message(1, subject, sender="=?utf-8?Q?Eve=E2=81=A6?= <e@x.org>"))
    add_account(cli, servers)
    assert cli("sync", "work").returncode == 0
    listed = cli("list", "work")
    assert listed.returncode == 0, listed.stderr
    assert "photo gnp.exe paypal" in listed.stdout and "Eve" in listed.stdout
    # A store written by an older version kept them: they are shown escaped.
    with MailStore.open(cli.profile / "mail.sqlite3") as store:  # type: ignore[attr-defined]
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        old = NewMessage(10_000, frozenset(), date=2**31, subject="Old \u202egnp.exe\u200b")
        store.add_messages(inbox.id, [old])
    text = cli("list", "work", "--limit", "1")
    assert "Old \\u202egnp.exe\\u200b" in text.stdout
    as_json = cli("list", "work", "--limit", "1", "--json")
    assert json.loads(as_json.stdout)["subject"] == "Old \u202egnp.exe\u200b"
    for output in (listed.stdout, text.stdout, as_json.stdout):
        assert not {"\u202e", "\u200b", "\u2066"} & set(output)


# What a sync's process may not load: the other commands' modules (server discovery and
# its DNS and X.509 libraries, the SMTP module and the outbox, the MIME parsing that keeping
# bodies needs), the window, and the keyring with its Secret Service client (a child
# process reads the password).
NOT_FOR_SYNC = (
    "mailclient.app.commands_accounts",
    "mailclient.app.commands_send",
    "mailclient.app.commands_search",
    "mailclient.discovery",
    "mailclient.smtp",
    "mailclient.store.outbox",
    "mailclient.core.outgoing",
    "mailclient.imap.bodies",
    "mailclient.ui",
    "mailclient.accounts.oauth2",
    "dns",
    "PySide6",
    "keyring",
    "secretstorage",
    "jeepney",
    "cryptography",
)
# Nor, when it finds nothing new, what fetching and parsing headers needs, nor the copies
# to other accounts (none wait).
NOT_FOR_A_SYNC_OF_NOTHING = (
    "mailclient.imap.headers",
    "mailclient.imap.transfers",
    "mailclient.imap.appended",
    "mailclient.mime",
    "email.policy",
    "email.headerregistry",
)


def loaded_by(cli: Run, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the command in a process of its own; what it printed and the modules it loaded."""
    code = (
        "import json, sys\nfrom mailclient.app.cli import run\n"
        "try:\n    sys.exit(run(sys.argv[1:]))\n"
        "finally:\n    print(json.dumps(sorted(sys.modules)))"
    )
    profile = cli.profile  # type: ignore[attr-defined]
    done = subprocess.run(
        [sys.executable, "-c", code, "--profile", str(profile), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    *output, modules = done.stdout.splitlines()
    done.stdout = "\n".join(output)
    return done, set(json.loads(modules))


def test_a_sync_loads_only_what_it_uses(cli: Run, servers: MailServers) -> None:
    servers.append(USER, "INBOX", message(1, "Hello"))
    add_account(cli, servers)  # keyring chooses the Secret Service; the profile remembers
    assert (cli.profile / "keyring-backend").read_text().strip() == (  # type: ignore[attr-defined]
        "keyring.backends.SecretService.Keyring"
    )
    synced, loaded = loaded_by(cli, "sync")  # the first sync fills the store
    assert synced.returncode == 0, synced.stderr
    assert "work/INBOX: 1 new" in synced.stdout
    assert "mailclient.imap.sync" in loaded and "mailclient.imap.headers" in loaded
    assert sorted(m for m in loaded if m.startswith(NOT_FOR_SYNC)) == []

    synced, loaded = loaded_by(cli, "sync")  # the second finds nothing new
    assert synced.returncode == 0, synced.stderr
    assert "work/INBOX: 0 new" in synced.stdout
    assert "mailclient.imap.sync" in loaded
    unwanted = NOT_FOR_SYNC + NOT_FOR_A_SYNC_OF_NOTHING
    assert sorted(m for m in loaded if m.startswith(unwanted)) == []

    version, loaded = loaded_by(cli, "--version")
    assert version.returncode == 0
    assert sorted(m for m in loaded if m.startswith(("mailclient.imap", "mailclient.store"))) == []
    assert sorted(m for m in loaded if m.startswith("mailclient.app.commands")) == []


def test_what_the_keyring_says_of_a_sync_s_password(cli: Run, servers: MailServers) -> None:
    # The password is read by a child process (mailclient.app.ahead): what it finds, and
    # what it does not, reaches the user as when the sync's own process reads it.
    carol = servers.user(USER)
    add_account(cli, servers)
    key = f"{Profile(cli.profile).id()}/work/imap"  # type: ignore[attr-defined]
    keyring.delete_password("mailclient", key)
    missing = cli("sync")
    assert missing.returncode == 1
    assert missing.stderr == (
        "work: No IMAP password is stored for account 'work'. "
        "Enter it with: mailclient account password work\n"
    )

    # As an older mailclient left it, keyed by account and service only: moved under the
    # profile's key by the reading child.
    keyring.set_password("mailclient", "work/imap", carol.password)
    synced = cli("sync")
    assert synced.returncode == 0, synced.stderr
    assert "work/INBOX: 0 new, 0 changed, 0 removed" in synced.stdout
    assert keyring.get_password("mailclient", "work/imap") is None
    assert keyring.get_password("mailclient", key) == carol.password


def test_a_sync_signs_in_once(cli: Run, servers: MailServers) -> None:
    # The connection opened ahead of the sync is the one the sync engine uses; a refused
    # password is not tried again by the engine (a second refusal could lock the account).
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    try:
        add_account(cli, servers, port=proxy.port, password="not-the-password")
        refused = cli("sync")
        assert proxy.connections == 1
        password = servers.user(USER).password
        stored = cli("account", "password", "work", "--password-stdin", stdin=password + "\n")
        assert stored.returncode == 0, stored.stderr
        synced = cli("sync")
        assert proxy.connections == 2
    finally:
        proxy.close()
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "work: The IMAP server 127.0.0.1 rejected the password for carol@example.org"
    )
    assert "Enter the current password with: mailclient account password work" in refused.stderr
    assert synced.returncode == 0, synced.stderr
    assert "work/INBOX: 0 new, 0 changed, 0 removed" in synced.stdout
