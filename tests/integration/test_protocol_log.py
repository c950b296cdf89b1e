"""``--debug`` logs the IMAP and SMTP conversations, and no secret reaches the log or stderr.

A whole session against the rig's Dovecot and Postfix: account add and test, sync, send
(STARTTLS, AUTH PLAIN, APPEND to Sent), sync again; then IDLE, AUTH LOGIN and implicit TLS
in-process. Every log file and every stderr is searched for the password and for it inside
base64 at each of the three alignments (AUTH PLAIN and LOGIN send it so).
"""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailclient.accounts.model import Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core import diagnostics
from mailclient.core.tls import client_context
from mailclient.imap.client import ImapSession
from mailclient.smtp.client import open_smtp
from mailclient.smtp.conversation import LoggedSmtp
from tests.integration.imap_helpers import account, message
from tests.rig import MailServers

USER = "carol"
Run = Callable[..., subprocess.CompletedProcess[str]]


pytestmark = [pytest.mark.mail_users(USER), pytest.mark.usefixtures("secret_service")]


def secret_forms(secret: str) -> list[str]:
    """``secret``, and what of it shows in any base64 text that contains it."""
    raw = secret.encode()
    forms = [secret]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        # Only the 4-character groups made of the secret's bytes alone.
        first = (shift + 2) // 3 * 4
        last = (shift + len(raw)) // 3 * 4
        forms.append(encoded[first:last])
    return forms


def test_secret_forms_find_the_password_in_auth_plain() -> None:
    blob = base64.b64encode(b"\0carol@example.org\0carol-secret").decode()
    assert any(form in blob for form in secret_forms("carol-secret")[1:])
    for login in ("carol@example.org", "xcarol@example.org", "xxcarol@example.org"):
        blob = base64.b64encode(f"\0{login}\0carol-secret".encode()).decode()
        assert any(form in blob for form in secret_forms("carol-secret")[1:])


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


@pytest.fixture
def cli(profile: Path) -> Iterator[Run]:
    errors: list[str] = []

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mailclient", "--profile", str(profile), "--debug", "-v", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        errors.append(result.stderr)
        return result

    run.stderr = errors  # type: ignore[attr-defined]
    yield run


@pytest.fixture
def debug_log(profile: Path) -> Iterator[Path]:
    root = logging.getLogger()
    level = root.level
    path = diagnostics.configure(profile, "mailclient", debug=True)
    assert path is not None
    yield path
    diagnostics.unconfigure()
    root.setLevel(level)


def test_a_debug_session_logs_the_conversation_without_a_secret(
    cli: Run,
    servers: MailServers,
    profile: Path,
    debug_log: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    carol = servers.user(USER)
    added = cli(
        "account", "add", "work", "--email", carol.address, "--imap-host", servers.host,
        "--imap-port", str(servers.imaps_port), "--smtp-port", str(servers.submission_port),
        "--ca-file", str(servers.ca_file), "--password-stdin", stdin=carol.password + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    for args in (
        ("account", "test", "work"),
        ("sync",),
        ("send", "--account", "work", "--to", carol.address, "--subject", "To myself"),
        ("sync",),
    ):
        result = cli(*args, stdin="A body.\n")
        assert result.returncode == 0, result.stderr
    cli_log = (profile / "logs" / "cli.log").read_text()
    # The conversations are there, with the credentials taken out.
    assert "LOGIN <redacted>" in cli_log
    assert "\tmatched " not in cli_log and "untagged_responses[" not in cli_log
    assert "mailclient.imap.conversation: " in cli_log and "UID FETCH" in cli_log
    assert "> AUTH PLAIN <redacted>" in cli_log
    assert "> (message data, " in cli_log and "APPEND" in cli_log
    assert "mailclient.smtp.conversation: " in cli_log and "> b'ehlo " in cli_log
    # -v with --debug shows the conversation on stderr too.
    assert any("UID FETCH" in err for err in cli.stderr)  # type: ignore[attr-defined]

    # IDLE, AUTH LOGIN and implicit TLS, in this process (the window's log).
    work = account(servers, USER)
    session = ImapSession.connect(work, FixedPassword(carol.password))
    try:
        session.select("INBOX", readonly=True)
        session.idle_start()
        servers.append(USER, "INBOX", message(9, "While idling"))
        heard: list[bytes] = []
        deadline = time.monotonic() + 20
        while b"EXISTS" not in heard and time.monotonic() < deadline:
            heard += session.idle_wait(0.5)
        session.idle_done()
        assert b"EXISTS" in heard
    finally:
        session.close()
    smtp = LoggedSmtp(servers.host, servers.submission_port, timeout=30)
    try:
        smtp.starttls(context=client_context(str(servers.ca_file), None))
        smtp.ehlo()
        smtp.user, smtp.password = carol.address, carol.password
        assert smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)[0] == 235
    finally:
        smtp.close()
    implicit = replace(work, smtp_port=servers.smtps_port, smtp_security=Security.SSL)
    open_smtp(implicit, FixedPassword(carol.password)).quit()
    window_log = debug_log.read_text()

    captured = capfd.readouterr()
    texts = {
        "cli.log": cli_log,
        "window log": window_log,
        "stderr": "\n".join([*cli.stderr, captured.err]),  # type: ignore[attr-defined]
        "stdout": captured.out,
    }
    for rotated in (profile / "logs").glob("*.log.*"):
        texts[rotated.name] = rotated.read_text()
    for where, text in texts.items():
        for form in secret_forms(carol.password):
            assert form not in text, f"{form!r} in {where}"
    assert "IDLE" in window_log and "DONE" in window_log
    assert "> AUTH LOGIN\n" in window_log
    assert window_log.count("> <redacted>") >= 2  # the user name and the password
    assert f"{servers.host} < 220" in window_log  # the greeting of implicit TLS
