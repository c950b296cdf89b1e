"""Claims on transfers to other accounts: held for as long as their sender works on them,
let go when it died, and read afresh as they are taken."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core.models import SpecialUse
from mailclient.store import pending
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, TransferState

# Short claims, so that the tests wait for a few of them to run out.
CLAIM = 3.0


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MailStore]:
    monkeypatch.setattr(pending, "CLAIM_SECONDS", CLAIM)
    s = MailStore.open(tmp_path / "mail.sqlite3")
    yield s
    s.close()


def a_transfer(store: MailStore) -> int:
    """One message of "home" moving to the Archive of "work"; its transfer's id."""
    [inbox] = store.sync_folder_list("home", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    [archive] = store.sync_folder_list("work", [RemoteFolder("Archive", "/")])
    store.reset_folder(inbox.id, uidvalidity=7)
    store.add_messages(inbox.id, [NewMessage(uid=1, flags=frozenset(), subject="big one")])
    store.record_transfer(store.message_ids(inbox.id), archive.id, copy=False)
    [transfer] = store.pending_transfers("home")
    return transfer.id


def claimed_until(store: MailStore) -> float | None:
    [(until,)] = store._db.execute("SELECT claimed_until FROM pending_transfers").fetchall()
    return None if until is None else float(until)


def wait_until_past(moment: float) -> None:
    while time.time() <= moment:
        time.sleep(0.05)


SENDER = """
import sys, time
from pathlib import Path
from mailclient.store import pending
from mailclient.store.mail import MailStore

pending.CLAIM_SECONDS = {claim}
store = MailStore.open(Path(sys.argv[1]))
assert store.claim_transfer({transfer}) is not None
with store.holding_transfer({transfer}):
    print("holding", flush=True)
    time.sleep(600)  # an APPEND that takes its time
"""


def test_a_claim_is_held_while_its_sender_lives_and_runs_out_when_it_died(
    store: MailStore, tmp_path: Path
) -> None:
    transfer = a_transfer(store)
    script = textwrap.dedent(SENDER.format(claim=CLAIM, transfer=transfer))
    sender = subprocess.Popen(
        [sys.executable, "-c", script, str(store.path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sender.stdout is not None and sender.stdout.readline() == "holding\n"
        first = claimed_until(store)
        assert first is not None
        wait_until_past(first)
        # The claim first taken ran out, and yet the sender still holds it: renewed.
        assert store.claim_transfer(transfer) is None
        renewed = claimed_until(store)
        assert renewed is not None and renewed > first
    finally:
        sender.kill()
        sender.wait()
    # Killed, it renews nothing: its claim runs out, and another sender takes the transfer.
    last = claimed_until(store)
    assert last is not None
    wait_until_past(last)
    assert claimed_until(store) == last
    taken = store.claim_transfer(transfer)
    assert taken is not None and taken.id == transfer


def test_a_transfer_is_read_afresh_as_it_is_claimed(store: MailStore, tmp_path: Path) -> None:
    """A sender that listed the transfers before another one sent an APPEND whose answer
    was lost must see that it may be there already, not append it again unasked."""
    transfer = a_transfer(store)
    [listed] = store.pending_transfers("home")
    other = MailStore.open(store.path)
    try:
        assert other.claim_transfer(transfer) is not None
        other.set_transfer_state(transfer, TransferState.APPENDING)
        other.release_transfer(transfer)
    finally:
        other.close()
    taken = store.claim_transfer(listed.id)
    assert listed.state is TransferState.WAITING
    assert taken is not None and taken.state is TransferState.APPENDING


def test_only_the_sender_holding_a_claim_releases_it(store: MailStore) -> None:
    transfer = a_transfer(store)
    other = MailStore.open(store.path)
    try:
        assert other.claim_transfer(transfer) is not None
        store.release_transfer(transfer)  # not this connection's claim: it stays
        assert store.claim_transfer(transfer) is None
        other.release_transfer(transfer)
        assert store.claim_transfer(transfer) is not None
    finally:
        other.close()
