"""Benchmark: flushing the outbox over one connection vs raw smtplib with the same bytes.

Both send N messages over one connection to the real Postfix (implicit TLS, the same TLS
settings, logging in once), the same bytes; the outbox adds what makes it safe: reading
each message from SQLite and committing its state before the data and after the server's
answer. Prints messages/second and the ratio (goal: >= 0.8). N is 50 by default, 500 with
BENCH_SIZE=full; messages are queued before the clock starts. Two rounds in opposite
orders, so that the load of a shared machine weighs on both alike.
"""

from __future__ import annotations

import os
import smtplib
import time
from pathlib import Path

import pytest

from mailclient.accounts.model import Security
from mailclient.core.outgoing import OutgoingMessage
from mailclient.core.tls import client_context
from mailclient.smtp.sender import Outcome, SendResult
from mailclient.store.outbox import Outbox
from tests.integration.sending import make_profile
from tests.rig import MailServers, SecretService

FULL = os.environ.get("BENCH_SIZE") == "full"
SIZE = 500 if FULL else 50
ROUNDS = 2
PARAGRAPH = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. " * 8


@pytest.mark.bench
def test_outbox_flush_vs_raw_smtplib(
    tmp_path: Path, mail_servers: MailServers, secret_service: SecretService
) -> None:
    mail_servers.reset_user("bob")
    # The server "saves Sent itself": this measures submission only, as the baseline does.
    profile = make_profile(
        tmp_path / "profile", mail_servers, security=Security.SSL, server_saves_sent=True
    )
    sender = profile.sender()
    ids = [
        sender.enqueue(
            "alice",
            OutgoingMessage(
                sender=profile.account.sender,
                to=("bob@example.org",),
                subject=f"bench {n}",
                body=f"Message {n}.\n\n" + (PARAGRAPH + "\n") * 4,
            ),
        ).id
        for n in range(SIZE * ROUNDS)
    ]
    outbox = Outbox.open(profile.store_path)
    messages = {i: (outbox.submission(i), outbox.get(i).recipients) for i in ids}
    outbox.close()
    size = sum(len(m.raw) for m, _ in messages.values()) / len(messages)
    alice = mail_servers.user("alice")

    def raw_smtplib(chunk: list[int]) -> None:
        context = client_context(mail_servers.ca_file)  # as the outbox's connection has it
        smtp = smtplib.SMTP_SSL(mail_servers.host, mail_servers.smtps_port, context=context)
        smtp.login(alice.username, alice.password)
        for item_id in chunk:
            message, recipients = messages[item_id]
            smtp.sendmail(message.envelope_from, list(recipients), message.raw)
        smtp.quit()

    results: list[SendResult] = []

    def outbox_flush(chunk: list[int]) -> None:
        results.extend(sender.flush(ids=chunk).results)

    # Postfix delivers each method's mail before the other starts, so that neither
    # competes with deliveries of the other.
    seconds = {raw_smtplib: 0.0, outbox_flush: 0.0}
    delivered = 0
    for round_ in range(ROUNDS):
        chunk = ids[round_ * SIZE : (round_ + 1) * SIZE]
        order = [raw_smtplib, outbox_flush] if round_ % 2 == 0 else [outbox_flush, raw_smtplib]
        for method in order:
            start = time.perf_counter()
            method(chunk)
            seconds[method] += time.perf_counter() - start
            delivered += len(chunk)
            assert len(mail_servers.wait_for_messages("bob", delivered, timeout=120)) >= delivered
    baseline = SIZE * ROUNDS / seconds[raw_smtplib]
    flushed = SIZE * ROUNDS / seconds[outbox_flush]

    print(
        f"\noutbox benchmark: {SIZE} messages of {size / 1000:.1f} kB over SMTPS, "
        f"{ROUNDS} rounds of one connection per method"
        f"\n  raw smtplib (baseline)  {baseline:8.1f} messages/s"
        f"\n  outbox flush            {flushed:8.1f} messages/s"
        f"\n  ratio                   {flushed / baseline:8.2f}x (goal >= 0.8x)"
    )
    assert [r.outcome for r in results] == [Outcome.SENT] * SIZE * ROUNDS
    assert sender.items() == []
    assert len(mail_servers.fetch_all("bob")) == 2 * SIZE * ROUNDS
