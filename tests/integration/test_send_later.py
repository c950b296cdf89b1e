"""Send Later through the command line against the real Postfix and Dovecot.

Each command is a process of its own: the message waits in the outbox file between them,
as it does across a restart of the window.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.sending import SendingProfile, make_profile, parse
from tests.rig import MailServers

pytestmark = pytest.mark.usefixtures("secret_service")
# Seconds from now to the time a test queues a message for: the commands it runs before
# that time (a process each) must be done by then, on a loaded machine too.
AHEAD = 30


@pytest.fixture
def alice(tmp_path: Path, servers: MailServers) -> SendingProfile:
    return make_profile(tmp_path / "alice", servers, "alice")


def subjects(servers: MailServers, user: str) -> list[str]:
    return [str(parse(raw)["Subject"]) for raw in servers.fetch_all(user)]


def test_a_message_sent_later_waits_across_restarts_and_goes_once(
    alice: SendingProfile, servers: MailServers
) -> None:
    when = (datetime.now() + timedelta(seconds=AHEAD)).replace(microsecond=0)
    much_later = (datetime.now() + timedelta(hours=1)).replace(microsecond=0)
    for subject, at in (("Later", when), ("Much later", much_later)):
        queued = alice.cli(
            "send", "--account", "alice", "--to", "bob@example.org", "--subject", subject,
            "--at", at.strftime("%Y-%m-%d %H:%M:%S"), stdin="See you then.\n",
        )  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        assert f"waits in the outbox until {at:%Y-%m-%d %H:%M:%S}" in queued.stdout
    listed = alice.cli("outbox", "list").stdout
    assert f"scheduled for: {much_later:%Y-%m-%d %H:%M:%S}" in listed

    early = alice.cli("outbox", "flush")  # a flush before its time leaves it
    assert early.returncode == 0, early.stderr
    assert "Much later" in alice.cli("outbox", "list").stdout

    time.sleep(max(0.0, (when - datetime.now()).total_seconds()) + 0.5)
    sent = alice.cli("outbox", "flush")
    assert sent.returncode == 0, sent.stderr
    servers.wait_for_messages("bob", 1)
    assert alice.cli("outbox", "flush").returncode == 0
    servers.wait_for_delivery()
    assert subjects(servers, "bob") == ["Later"]  # once, not twice; the other still waits
    assert "Much later" in alice.cli("outbox", "list").stdout


@pytest.mark.parametrize(
    ("at", "says"),
    [("yesterday", "is not a time like"), ("2020-01-01 09:00", "has already passed")],
)
def test_a_time_that_cannot_be_is_refused_before_anything_is_queued(
    alice: SendingProfile, at: str, says: str
) -> None:
    result = alice.cli(
        "send", "--account", "alice", "--to", "bob@example.org", "--subject", "x",
        "--at", at, stdin="x\n",
    )  # fmt: skip
    assert result.returncode == 1 and says in result.stderr
    assert "x" not in alice.cli("outbox", "list").stdout.split()


def test_a_crash_while_a_message_is_held_back_loses_nothing_and_sends_once(
    alice: SendingProfile, servers: MailServers
) -> None:
    """The window holds a sent message back for Undo; the process dies (SIGKILL) then."""
    held_until = time.time() + AHEAD
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from mailclient.accounts.store import AccountStore
        from mailclient.core.outgoing import OutgoingMessage
        from mailclient.core.profile import Profile
        from mailclient.smtp.sender import OutboxSender
        profile = Profile(Path({str(alice.root)!r}))
        accounts = AccountStore(profile.config_path)
        sender = OutboxSender(profile.store_path, accounts.get, None, None)
        message = OutgoingMessage(
            sender="alice@example.org", to=("bob@example.org",), subject="Held", body="x"
        )
        sender.enqueue("alice", message, send_at={held_until!r})
        print("queued", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    died = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert died.returncode == -signal.SIGKILL and "queued" in died.stdout, died.stderr
    assert alice.cli("outbox", "flush").returncode == 0  # the next start, before the time
    assert "Held" in alice.cli("outbox", "list").stdout
    servers.wait_for_delivery()
    assert "Held" not in subjects(servers, "bob")
    time.sleep(max(0.0, held_until - time.time()) + 0.5)
    assert alice.cli("outbox", "flush").returncode == 0
    servers.wait_for_messages("bob", 1)
    assert alice.cli("outbox", "flush").returncode == 0
    servers.wait_for_delivery()
    assert subjects(servers, "bob") == ["Held"]
