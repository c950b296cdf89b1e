"""What the command line says when its surroundings are wrong: a profile it cannot use, no
D-Bus for the keyring, a hand-edited config, attachments that are no files. Always a plain
sentence and a documented exit status; never "internal error" (70)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "mailclient"]
INTERNAL_ERROR = 70

ACCOUNT = {
    "name": "work",
    "email": "alice@example.org",
    "imap_host": "127.0.0.1",
    "smtp_host": "127.0.0.1",
    "imap_port": 9,  # discard: nothing may get as far as a server here
    "smtp_port": 9,
}


def run(
    profile: Path,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str = "",
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*prefix, *CLI, "--profile", str(profile), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,  # a hang (reading a FIFO, say) fails here
        env=env,
    )
    assert result.returncode != INTERNAL_ERROR, result.stderr
    assert "internal error" not in result.stderr
    assert "Traceback" not in result.stderr
    return result


def with_account(profile: Path, **changes: object) -> Path:
    profile.mkdir(parents=True, exist_ok=True)
    config = {"version": 1, "accounts": [{**ACCOUNT, **changes}]}
    (profile / "config.json").write_text(json.dumps(config))
    return profile


def without_write_permission() -> tuple[str, ...]:
    """A prefix under which the CLI runs without root's power over file modes."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root, these tests need setpriv (util-linux) to drop it")
    caps = "-dac_override,-dac_read_search,-fowner"
    return (setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}")


def test_a_profile_that_is_a_file_or_under_one(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for args in (("account", "list"), ("sync",), ()):  # () opens the window
        result = run(afile, *args, env=env)
        assert result.returncode == 1
        assert f"Cannot use {afile} as the profile folder: it is a file, not a folder." in (
            result.stderr
        )
    result = run(afile / "below", "account", "list")
    assert result.returncode == 1
    assert f"as the profile folder: {afile} is a file, not a folder." in result.stderr
    assert afile.read_text() == "not a folder"


def test_a_profile_that_cannot_be_written(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    os.chmod(locked, 0o555)
    result = run(locked / "profile", "account", "list", prefix=without_write_permission())
    assert result.returncode == 1
    assert (
        f"Cannot use {locked / 'profile'} as the profile folder: permission denied."
        in result.stderr
    )


@pytest.mark.parametrize("bus", [None, "unix:path=/nonexistent/bus"])
def test_the_secret_service_without_a_session_bus(tmp_path: Path, bus: str | None) -> None:
    profile = with_account(tmp_path / "profile")
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    # keyring told to use the Secret Service, as a desktop's configuration may say.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
    if bus is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus

    sent = run(
        profile,
        *("send", "--account", "work", "--to", "bob@example.org", "--subject", "Kept"),
        env=env,
        stdin="The message is kept.\n",
    )
    assert sent.returncode == 75, sent.stderr  # queued, to be sent later
    assert "No system keyring is available" in sent.stderr
    assert "It stays in the outbox" in sent.stderr
    listed = run(profile, "outbox", env=env)
    assert "queued\twork\tKept" in listed.stdout

    for args in (("sync",), ("account", "test", "work"), ("account", "remove", "work")):
        result = run(profile, *args, env=env)
        assert result.returncode == 1, args
        assert "No system keyring is available" in result.stderr, args
    # The keyring could not remove its passwords: the account is still there.
    assert run(profile, "account", "list", env=env).stdout.startswith("work\t")
    added = run(
        profile,
        *("account", "add", "home", "--email", "b@example.org", "--imap-host", "h.test"),
        "--password-stdin",
        env=env,
        stdin="secret\n",
    )
    assert added.returncode == 1
    assert "No system keyring is available" in added.stderr
    stored = run(profile, "account", "password", "work", "--password-stdin", env=env, stdin="x\n")
    assert stored.returncode == 1
    assert "No system keyring is available" in stored.stderr


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (None, "account 1, account: null is not an account (an object)"),
        ({**ACCOUNT, "imap_port": "993"}, "account 1 ('work'), imap_port: '993' is not a number"),
        ({**ACCOUNT, "smtp_port": "abc"}, "account 1 ('work'), smtp_port: 'abc' is not a number"),
    ],
)
def test_a_mistake_in_the_config_file_is_named(
    tmp_path: Path, account: object, problem: str
) -> None:
    profile = tmp_path / "profile"
    profile.mkdir()
    config = profile / "config.json"
    config.write_text(json.dumps({"version": 1, "accounts": [account]}))
    for args in (("account", "list"), ("sync",), ("outbox",)):
        result = run(profile, *args)
        assert result.returncode == 1, args
        assert f"The configuration file {config} has a mistake: {problem}." in result.stderr


def test_attachments_that_are_no_regular_files_or_too_large(tmp_path: Path) -> None:
    profile = with_account(tmp_path / "profile")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as file:
        file.truncate(150_000_000)  # sparse: no disk, no memory
    send = ("send", "--account", "work", "--to", "bob@example.org", "--subject", "Files")
    for path in (fifo, Path("/dev/zero"), tmp_path):
        result = run(profile, *send, "--attach", str(path), stdin="See attached.\n")
        assert result.returncode == 1
        assert f"attachment: {path} is not a regular file" in result.stderr
    result = run(profile, *send, "--attach", str(huge), stdin="See attached.\n")
    assert result.returncode == 1
    assert f"attachment: {huge} is 150.0 MB; the limit is 100 MB" in result.stderr
    assert run(profile, "outbox").stdout == "The outbox is empty.\n"
