"""The sending process killed with SIGKILL at random points of the SMTP conversation.

A proxy between the client and Postfix counts the server's replies and kills `mailclient
outbox flush` when a randomly chosen one arrives, before the client can read it: during
the TLS handshake, the greeting, AUTH, MAIL, RCPT, DATA, or right after the server has
accepted the data but before the client knows. Afterwards every message must be
delivered or still in the outbox, and a message delivered twice must be one the outbox
flagged "may already have been sent".
"""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from mailclient.accounts.model import Security
from mailclient.core.outgoing import OutgoingMessage
from mailclient.store.outbox import Outbox, SenderLock
from tests.integration.killproxy import KillProxy
from tests.integration.sending import CLI, SendingProfile, by_message_id, make_profile
from tests.rig import MailServers

TRIALS = 24
MESSAGES_PER_TRIAL = 2


pytestmark = pytest.mark.usefixtures("secret_service")


def flush(profile: SendingProfile, proxy: KillProxy, kill_at: int = 0) -> int:
    """Run `outbox flush` in a new process, killed at the server's ``kill_at``-th chunk."""
    process = subprocess.Popen(
        [*CLI, "--profile", str(profile.root), "outbox", "flush"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    proxy.arm(process.pid if kill_at else None, kill_at)
    _, stderr = process.communicate(timeout=60)
    assert b"Traceback" not in stderr, stderr.decode()
    return process.returncode


def recover(profile: SendingProfile) -> list[str]:
    """What the next sender does first; returns the Message-IDs flagged as maybe sent."""
    lock = SenderLock(profile.store_path)
    lock.acquire(wait=10)
    outbox = Outbox.open(profile.store_path)
    try:
        return [item.message_id for item in outbox.recover_interrupted() if item.maybe_sent]
    finally:
        outbox.close()
        lock.release()


@pytest.mark.slow
def test_sigkill_during_smtp_loses_no_message(tmp_path: Path, servers: MailServers) -> None:
    proxy = KillProxy(servers.smtps_port)
    profile = make_profile(
        tmp_path / "profile", servers, security=Security.SSL, smtp_port=proxy.port
    )
    sender = profile.sender()
    message_ids: list[str] = []

    def enqueue(count: int) -> None:
        for _ in range(count):
            n = len(message_ids)
            item = sender.enqueue(
                "alice",
                OutgoingMessage(
                    sender=profile.account.sender,
                    to=("bob@example.org",),
                    subject=f"crash test {n}",
                    body=f"message {n}\n" * 50,
                ),
            )
            message_ids.append(item.message_id)

    # Calibration: how many chunks the server sends for one message, and for five.
    enqueue(1)
    assert flush(profile, proxy) == 0
    one = proxy.server_chunks
    enqueue(5)
    assert flush(profile, proxy) == 0
    per_message = round((proxy.server_chunks - one) / 4)
    # At least the replies to the envelope (MAIL, RCPT and DATA pipelined) and to the end
    # of the data.
    assert per_message >= 2

    seed = time.time_ns()
    rng = random.Random(seed)
    started = time.monotonic()
    killed = 0
    flagged: set[str] = set()
    for _ in range(TRIALS):
        enqueue(MESSAGES_PER_TRIAL)
        queued = len(sender.items())
        conversation = one + per_message * (queued - 1)
        status = flush(profile, proxy, kill_at=rng.randint(1, conversation))
        if proxy.killed.is_set():
            assert status == -9
            killed += 1
        flagged.update(recover(profile))
    crash_seconds = time.monotonic() - started

    assert flush(profile, proxy) == 0
    assert sender.items() == []
    delivered = by_message_id(servers.wait_for_messages("bob", len(message_ids), timeout=20))
    lost = [m for m in message_ids if m not in delivered]
    twice = {m for m, copies in delivered.items() if copies > 1}
    print(
        f"\ncrash test (seed {seed}): {TRIALS} trials in {crash_seconds:.1f} s, {killed} "
        f"killed mid-conversation; {len(message_ids)} messages, {len(lost)} lost; "
        f"{len(flagged)} marked 'may already have been sent', {len(twice)} delivered twice"
    )
    assert lost == []
    assert set(delivered) == set(message_ids)
    assert twice <= flagged, "a duplicate the outbox did not warn about"
    assert killed >= TRIALS // 2
    # The Sent folder holds each message once: a resend never doubles the copy.
    assert by_message_id(servers.fetch_all("alice", "Sent")) == {m: 1 for m in message_ids}
    proxy.close()
