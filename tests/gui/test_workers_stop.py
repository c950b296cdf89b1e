"""Stopping the workers while their server is silent: no wait on the GUI thread, no crash.

The server accepts the TCP connection and never answers, so each thread is blocked in a
TLS handshake or in reading the greeting, with a network timeout far longer than any test.
Only cutting the connections (AbortSwitch) can end those calls in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, Security
from mailclient.imap.sync import SyncOptions
from mailclient.store.mail import MailStore
from mailclient.workers.mail import MailWorkers
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring
from tests.support.silent_server import SilentServer
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
GUARD_MS = 60_000  # only against hanging forever: the machine is shared


def _account(port: int, security: Security) -> Account:
    return Account(
        name="silent",
        email="alice@example.org",
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security=security,
        smtp_host="127.0.0.1",
    )


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_removing_an_account_cuts_its_blocked_connections(
    qtbot: QtBot, tmp_path: Path, security: Security
) -> None:
    with SilentServer() as server:
        # As the window does before it starts the workers: the store exists, migrated.
        MailStore.open(tmp_path / "mail.sqlite3").close()
        credentials = CredentialStore(MemoryKeyring(), profile_id=PROFILE_ID)
        credentials.set_password("silent", "imap", "secret")
        mail = MailWorkers(
            [_account(server.port, security)],
            credentials,
            tmp_path / "mail.sqlite3",
            options=SyncOptions(timeout=600),
        )
        failures: list[object] = []
        mail.failed.connect(failures.append)
        mail.start()
        # The sync lane and IDLE are both waiting for a server that says nothing.
        qtbot.waitUntil(lambda: server.open_connections() == 2, timeout=GUARD_MS)
        threads = [t for t in mail.findChildren(QThread) if t.isRunning()]
        assert len(threads) == 3

        mail.set_accounts([])  # does not wait for them

        qtbot.waitUntil(lambda: all(t.isFinished() for t in threads), timeout=GUARD_MS)
        qtbot.waitUntil(lambda: server.closed_by_client == 2, timeout=GUARD_MS)
        assert failures == [], "a connection cut by stopping is not an error to show"
        mail.stop()


def test_closing_the_window_returns_and_the_process_exits_cleanly(tmp_path: Path) -> None:
    with SilentServer() as server:
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.close_while_blocked",
                str(tmp_path),
                str(server.port),
            ],
            cwd=ROOT,
            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert app.stdout is not None and app.stdin is not None
            assert app.stdout.readline().strip() == "started"
            wait_until(
                lambda: server.open_connections() == 2 or app.poll() is not None,
                GUARD_MS / 1000,
            )
            assert app.poll() is None, app.stderr.read() if app.stderr else ""
            app.stdin.write("close\n")
            app.stdin.flush()
            stdout, stderr = app.communicate(timeout=GUARD_MS / 1000)
        finally:
            if app.poll() is None:
                app.kill()
                app.wait()
        print(stdout.strip())  # "closed in ... s": for the log, not asserted
        assert "Destroyed while thread" not in stderr
        assert app.returncode == 0, stderr[-3000:]
        # Cut by the client while it closed, not by a timeout or the server.
        assert server.closed_by_client == server.accepted >= 2
