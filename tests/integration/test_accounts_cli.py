"""`mailclient account ...` against the real Dovecot and Postfix of the test rig."""

from __future__ import annotations

import os
import pty
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
import trustme

from mailclient.core.profile import Profile
from tests.rig import MailServers

CLI = [sys.executable, "-m", "mailclient"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def profile(tmp_path: Path, secret_service: object) -> Path:
    return tmp_path / "profile"


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(profile: Path) -> Run:
    return runner(profile)


def runner(profile: Path) -> Run:
    """Runs ``mailclient --profile PROFILE ...`` in a subprocess."""

    def run(
        *args: str, stdin: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "--profile", str(profile), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    return run


def add_args(servers: MailServers, name: str, user: str, **overrides: str) -> list[str]:
    options = {
        "--email": servers.users[user].address,
        "--imap-host": servers.host,
        "--imap-port": str(servers.imaps_port),
        "--imap-security": "ssl",
        "--smtp-port": str(servers.submission_port),
        "--smtp-security": "starttls",
        "--ca-file": str(servers.ca_file),
    }
    options.update(overrides)
    args = ["account", "add", name]
    for key, value in options.items():
        if value:
            args += [key, value]
    return [*args, "--password-stdin"]


def add(
    cli: Run,
    servers: MailServers,
    name: str,
    user: str,
    password: str | None = None,
    **overrides: str,
) -> subprocess.CompletedProcess[str]:
    secret = servers.users[user].password if password is None else password
    return cli(*add_args(servers, name, user, **overrides), stdin=secret + "\n")


def test_two_accounts_add_list_test_remove(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    first = add(cli, mail_servers, "work", "alice", **{"--display-name": "Alice Liddell"})
    assert first.returncode == 0, first.stderr
    second = add(
        cli,
        mail_servers,
        "home",
        "bob",
        **{
            "--imap-port": str(mail_servers.imap_port),
            "--imap-security": "starttls",
            "--smtp-port": str(mail_servers.smtps_port),
            "--smtp-security": "ssl",
        },
    )
    assert second.returncode == 0, second.stderr

    listing = cli("account", "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["work", "alice@example.org"],
        ["home", "bob@example.org"],
    ]

    for name, user in (("work", "alice"), ("home", "bob")):
        tested = cli("account", "test", name)
        assert tested.returncode == 0, tested.stderr
        assert f"logged in as {user}@example.org" in tested.stdout
        assert tested.stdout.count("logged in") == 2
        assert tested.stderr == ""

    removed = cli("account", "remove", "work")
    assert removed.returncode == 0, removed.stderr
    assert [line.split()[0] for line in cli("account", "list").stdout.splitlines()] == ["home"]
    profile_id = Profile(profile).id()
    assert keyring.get_password("mailclient", f"{profile_id}/work/imap") is None
    assert keyring.get_password("mailclient", f"{profile_id}/work/smtp") is None
    assert (
        keyring.get_password("mailclient", f"{profile_id}/home/imap")
        == mail_servers.users["bob"].password
    )
    missing = cli("account", "test", "work")
    assert missing.returncode != 0
    assert "no account named 'work'" in missing.stderr


def test_two_profiles_with_an_account_of_the_same_name(
    mail_servers: MailServers, tmp_path: Path, secret_service: object
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    in_first, in_second = runner(first), runner(second)
    assert add(in_first, mail_servers, "work", "alice").returncode == 0
    assert add(in_second, mail_servers, "work", "bob").returncode == 0
    first_id, second_id = Profile(first).id(), Profile(second).id()
    assert first_id != second_id
    for run, user in ((in_first, "alice"), (in_second, "bob")):
        tested = run("account", "test", "work")
        assert tested.returncode == 0, tested.stderr
        assert tested.stdout.count(f"logged in as {user}@example.org") == 2

    assert in_second("account", "remove", "work").returncode == 0
    for service in ("imap", "smtp"):
        assert keyring.get_password("mailclient", f"{second_id}/work/{service}") is None
        assert (
            keyring.get_password("mailclient", f"{first_id}/work/{service}")
            == mail_servers.users["alice"].password
        )
    tested = in_first("account", "test", "work")
    assert tested.returncode == 0, tested.stderr
    assert in_first("account", "remove", "work").returncode == 0


def test_passwords_stored_before_profile_ids_move_into_the_profile(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    profile_id = Profile(profile).id()
    password = mail_servers.users["alice"].password
    # As an older mailclient left them: keyed by account and service only.
    for service in ("imap", "smtp"):
        keyring.delete_password("mailclient", f"{profile_id}/work/{service}")
        keyring.set_password("mailclient", f"work/{service}", password)

    tested = cli("account", "test", "work")
    assert tested.returncode == 0, tested.stderr
    for service in ("imap", "smtp"):
        assert keyring.get_password("mailclient", f"work/{service}") is None
        assert keyring.get_password("mailclient", f"{profile_id}/work/{service}") == password
    assert cli("account", "remove", "work").returncode == 0
    assert keyring.get_password("mailclient", f"{profile_id}/work/imap") is None


def test_password_is_in_no_file_of_the_profile(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    password = mail_servers.users["carol"].password
    assert add(cli, mail_servers, "c", "carol").returncode == 0
    assert cli("account", "test", "c").returncode == 0
    files = [p for p in profile.rglob("*") if p.is_file()]
    assert files, "the profile should hold at least the config"
    for path in files:
        assert password.encode() not in path.read_bytes(), path


def test_wrong_password(cli: Run, mail_servers: MailServers) -> None:
    assert add(cli, mail_servers, "work", "alice", password="not-the-password").returncode == 0
    result = cli("account", "test", "work")
    assert result.returncode != 0
    assert (
        "IMAP: The IMAP server 127.0.0.1 rejected the password for alice@example.org"
        in result.stderr
    )
    assert (
        "SMTP: The SMTP server 127.0.0.1 rejected the password for alice@example.org"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2
    assert (
        result.stderr.count("Enter the current password with: mailclient account password work")
        == 2
    )

    right = mail_servers.users["alice"].password
    stored = cli("account", "password", "work", "--password-stdin", stdin=right + "\n")
    assert stored.returncode == 0, stored.stderr
    assert "Stored the new IMAP and SMTP password of work." in stored.stdout
    assert cli("account", "test", "work").returncode == 0

    # One server's password only.
    changed = cli(
        "account", "password", "work", "--service", "smtp", "--password-stdin", stdin="other\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert "Stored the new SMTP password of work." in changed.stdout
    result = cli("account", "test", "work")
    assert "IMAP 127.0.0.1" in result.stdout
    assert "SMTP: The SMTP server 127.0.0.1 rejected the password" in result.stderr


def test_password_command_refuses_what_it_cannot_use(cli: Run, mail_servers: MailServers) -> None:
    unknown = cli("account", "password", "nobody", "--password-stdin", stdin="x\n")
    assert unknown.returncode == 1
    assert "There is no account named 'nobody'." in unknown.stderr
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    # Standard input is a pipe here: no silent reading of a password the user did not type.
    piped = cli("account", "password", "work", stdin="x\n")
    assert piped.returncode == 1
    assert "standard input is not a terminal: give --password-stdin" in piped.stderr
    empty = cli("account", "password", "work", "--password-stdin", stdin="")
    assert empty.returncode == 1
    assert "password: nothing was given on standard input" in empty.stderr
    assert cli("account", "test", "work").returncode == 0  # unchanged


def test_password_command_asks_on_the_terminal_without_echo(
    cli: Run, mail_servers: MailServers, profile: Path
) -> None:
    assert add(cli, mail_servers, "work", "alice", password="old").returncode == 0
    password = mail_servers.users["alice"].password
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, as in a shell
        os.execv(sys.executable, [*CLI, "--profile", str(profile), "account", "password", "work"])
    shown = b""
    try:
        while b"Password for alice@example.org (work): " not in shown:
            shown += os.read(terminal, 1024)
        os.write(terminal, password.encode() + b"\n")
        while True:
            try:
                chunk = os.read(terminal, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, shown
    assert password.encode() not in shown
    assert b"Stored the new IMAP and SMTP password of work." in shown
    assert cli("account", "test", "work").returncode == 0


def test_nothing_listening(cli: Run, mail_servers: MailServers) -> None:
    port = str(free_port())
    assert (
        add(
            cli, mail_servers, "dead", "alice", **{"--imap-port": port, "--smtp-port": port}
        ).returncode
        == 0
    )
    result = cli("account", "test", "dead")
    assert result.returncode != 0
    assert (
        f"Cannot connect to the IMAP server 127.0.0.1:{port}: nothing is listening" in result.stderr
    )
    assert (
        f"Cannot connect to the SMTP server 127.0.0.1:{port}: nothing is listening" in result.stderr
    )


def test_certificate_from_untrusted_ca(cli: Run, mail_servers: MailServers, tmp_path: Path) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    assert (
        add(cli, mail_servers, "untrusted", "alice", **{"--ca-file": str(other_ca)}).returncode == 0
    )
    result = cli("account", "test", "untrusted")
    assert result.returncode != 0
    assert "The certificate of the IMAP server" in result.stderr
    assert "The certificate of the SMTP server" in result.stderr
    assert "is not trusted" in result.stderr
    without_ca = add(cli, mail_servers, "system-only", "alice", **{"--ca-file": ""})
    assert without_ca.returncode == 0
    assert "is not trusted" in cli("account", "test", "system-only").stderr


def test_server_without_starttls_is_refused(cli: Run, mail_servers: MailServers) -> None:
    result = add(
        cli,
        mail_servers,
        "plain",
        "alice",
        **{
            "--imap-port": str(mail_servers.imap_notls_port),
            "--imap-security": "starttls",
            "--smtp-port": str(mail_servers.smtp_notls_port),
            "--smtp-security": "starttls",
        },
    )
    assert result.returncode == 0
    tested = cli("account", "test", "plain")
    assert tested.returncode != 0
    assert "The IMAP server" in tested.stderr and "does not offer STARTTLS" in tested.stderr
    assert "The SMTP server" in tested.stderr
    assert tested.stderr.count("does not offer STARTTLS") == 2


def test_starttls_from_another_address(cli: Run, mail_servers: MailServers) -> None:
    # Dovecot treats client == server address as secure; 127.0.0.2 makes TLS matter.
    result = add(
        cli,
        mail_servers,
        "alt",
        "alice",
        **{
            "--imap-host": mail_servers.alt_host,
            "--imap-port": str(mail_servers.imap_port),
            "--imap-security": "starttls",
        },
    )
    assert result.returncode == 0
    tested = cli("account", "test", "alt")
    assert tested.returncode == 0, tested.stderr
    assert f"IMAP {mail_servers.alt_host}:{mail_servers.imap_port} (starttls)" in tested.stdout


def test_duplicate_and_invalid_accounts(cli: Run, mail_servers: MailServers, profile: Path) -> None:
    assert add(cli, mail_servers, "work", "alice").returncode == 0
    duplicate = add(cli, mail_servers, "work", "bob")
    assert duplicate.returncode != 0
    assert "An account named 'work' already exists." in duplicate.stderr
    cases = {
        "--email": ("not-an-address", "email:"),
        "--imap-host": ("bad host", "IMAP host:"),
        "--imap-port": ("70000", "IMAP port:"),
        "--smtp-port": ("0", "SMTP port:"),
        "--ca-file": ("/nonexistent.pem", "CA file:"),
    }
    for option, (value, field) in cases.items():
        result = add(cli, mail_servers, "other", "bob", **{option: value})
        assert result.returncode != 0, option
        assert field in result.stderr, (option, result.stderr)
        assert "Traceback" not in result.stderr
    empty = cli(*add_args(mail_servers, "other", "bob"), stdin="")
    assert empty.returncode != 0
    assert "password" in empty.stderr
    assert [line.split()[0] for line in cli("account", "list").stdout.splitlines()] == ["work"]


def test_no_keyring_is_said_plainly(
    cli: Run, mail_servers: MailServers, profile: Path, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path}/no-bus"
    result = cli(*add_args(mail_servers, "work", "alice"), stdin="secret\n", env=env)
    assert result.returncode != 0
    assert "No system keyring is available" in result.stderr
    assert "never stores passwords in a file" in result.stderr
    assert not (profile / "config.json").exists()
