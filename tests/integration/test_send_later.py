"""Send Later through the command line against the real Postfix and Dovecot.

Each command is a process of its own: the message waits in the outbox file between them,
as it does across a restart of the window.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.sending import SendingProfile, make_profile, parse
from tests.rig import MailServers, SecretService


@pytest.fixture
def servers(mail_servers: MailServers, secret_service: SecretService) -> MailServers:
    for user in mail_servers.users:
        mail_servers.reset_user(user)
    return mail_servers


@pytest.fixture
def alice(tmp_path: Path, servers: MailServers) -> SendingProfile:
    return make_profile(tmp_path / "alice", servers, "alice")


def subjects(servers: MailServers, user: str) -> list[str]:
    return [str(parse(raw)["Subject"]) for raw in servers.fetch_all(user)]


def test_a_message_sent_later_waits_across_restarts_and_goes_once(
    alice: SendingProfile, servers: MailServers
) -> None:
    when = (datetime.now() + timedelta(seconds=4)).replace(microsecond=0)
    at = when.strftime("%Y-%m-%d %H:%M:%S")
    queued = alice.cli(
        "send", "--account", "alice", "--to", "bob@example.org", "--subject", "Later",
        "--at", at, stdin="See you then.\n",
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    assert f"waits in the outbox until {when:%Y-%m-%d %H:%M:%S}" in queued.stdout
    listed = alice.cli("outbox", "list")
    assert f"scheduled for: {when:%Y-%m-%d %H:%M:%S}" in listed.stdout

    early = alice.cli("outbox", "flush")  # before its time: it stays
    assert early.returncode == 0, early.stderr
    assert "Later" in alice.cli("outbox", "list").stdout
    assert "Later" not in subjects(servers, "bob")

    time.sleep(max(0.0, (when - datetime.now()).total_seconds()) + 0.5)
    sent = alice.cli("outbox", "flush")
    assert sent.returncode == 0, sent.stderr
    servers.wait_for_messages("bob", 1)
    assert subjects(servers, "bob") == ["Later"]
    assert alice.cli("outbox", "flush").returncode == 0
    time.sleep(0.5)
    assert subjects(servers, "bob").count("Later") == 1  # once, not twice
    assert "Later" not in alice.cli("outbox", "list").stdout


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
