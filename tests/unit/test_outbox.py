"""The outbox table: durable queueing, the state machine, backoff, crash recovery, the lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailclient.core.outgoing import BuiltMessage, OutboxState, Refusal, SentCopy
from mailclient.store.outbox import (
    MIGRATIONS,
    Outbox,
    OutboxItemBusy,
    OutboxItemNotFound,
    SenderBusy,
    SenderLock,
    Submission,
    outbox_path,
    retry_delay,
)
from mailclient.store.outbox_watch import OutboxWatch

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def message(n: int = 1, recipients: tuple[str, ...] = ("bob@example.org",)) -> BuiltMessage:
    return BuiltMessage(
        raw=f"Subject: m{n}\r\n\r\nbody {n}\r\n".encode(),
        message_id=f"<m{n}@example.org>",
        envelope_from="ann@example.org",
        recipients=recipients,
        subject=f"m{n}",
    )


def due(outbox: Outbox, *, ignore_schedule: bool = False) -> list[int]:
    return [i for ids in outbox.due(ignore_schedule=ignore_schedule).values() for i in ids]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mail.sqlite3"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(path: Path, clock: Clock) -> Iterator[Outbox]:
    box = Outbox.open(path, clock)
    yield box
    box.close()


def test_added_message_is_committed_with_its_envelope(outbox: Outbox, path: Path) -> None:
    built = BuiltMessage(b"raw\r\n", "<x@example.org>", "ann@example.org", ("b@x.org",), "S", True)
    item = outbox.add("work", built)
    other = Outbox.open(path)  # another connection sees it: it is committed
    assert other.raw(item.id) == b"raw\r\n"
    assert other.submission(item.id) == Submission("ann@example.org", True, b"raw\r\n")
    assert other.get(item.id) == item
    other.close()
    assert item.state is OutboxState.QUEUED
    assert item.created == datetime.fromtimestamp(T0, UTC)
    assert (item.account, item.message_id, item.subject, item.size) == (
        "work",
        "<x@example.org>",
        "S",
        5,
    )
    assert due(outbox) == [item.id]


def test_claim_takes_a_batch_and_counts_the_attempt_once(outbox: Outbox) -> None:
    first = outbox.add("work", message(1))
    second = outbox.add("other", message(2))
    third = outbox.add("work", message(3))
    assert outbox.due() == {"work": [first.id, third.id], "other": [second.id]}
    claimed = outbox.claim([first.id, third.id])
    assert [(i.id, i.state, i.attempts) for i in claimed] == [
        (first.id, OutboxState.SENDING, 1),
        (third.id, OutboxState.SENDING, 1),
    ]
    assert outbox.claim([first.id]) == []
    assert outbox.due() == {"other": [second.id]}
    submission = outbox.submission(third.id)
    assert (submission.envelope_from, submission.smtputf8) == ("ann@example.org", False)
    assert submission.raw == message(3).raw


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in range(1, 9)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000) == 3600


def test_transient_failure_waits_for_its_backoff(outbox: Outbox, clock: Clock) -> None:
    item = outbox.add("work", message())
    for attempt, delay in [(1, 60), (2, 120), (3, 240)]:
        outbox.claim([item.id])
        failed = outbox.mark_transient_failure(item.id, "421 try later")
        assert failed is not None
        assert failed.state is OutboxState.QUEUED
        assert failed.attempts == attempt
        assert failed.last_error == "421 try later"
        assert failed.next_attempt == datetime.fromtimestamp(clock.now + delay, UTC)
        assert due(outbox) == []
        assert due(outbox, ignore_schedule=True) == [item.id]
        clock.now += delay
        assert due(outbox) == [item.id]


def test_messages_not_tried_share_the_failure(outbox: Outbox) -> None:
    item = outbox.add("work", message())
    failed = outbox.mark_transient_failure(item.id, "no network", count_attempt=True)
    assert failed is not None and failed.attempts == 1 and due(outbox) == []


def test_permanent_failure_waits_for_the_user(outbox: Outbox, clock: Clock) -> None:
    item = outbox.add("work", message())
    outbox.claim([item.id])
    refusal = Refusal("bob@example.org", 550, "5.1.1 no such user")
    failed = outbox.mark_failed(item.id, "refused", refused=[refusal])
    assert failed is not None
    assert failed.state is OutboxState.FAILED
    assert failed.refused == (refusal,)
    clock.now += 10 * 86400
    assert due(outbox) == [] and due(outbox, ignore_schedule=True) == []
    retried = outbox.retry(item.id)
    assert retried.state is OutboxState.QUEUED
    assert due(outbox) == [item.id]


def test_sent_without_copy_leaves_the_outbox(outbox: Outbox) -> None:
    item = outbox.add("work", message())
    outbox.claim([item.id])
    outbox.mark_sent(item.id, copy_wanted=False)
    assert outbox.items() == []


def test_sent_copy_is_its_own_step(outbox: Outbox, clock: Clock) -> None:
    item = outbox.add("work", message())
    outbox.claim([item.id])
    outbox.mark_sent(item.id, copy_wanted=True)
    sent = outbox.get(item.id)
    assert (sent.state, sent.sent_copy) == (OutboxState.SENT, SentCopy.PENDING)
    assert due(outbox, ignore_schedule=True) == []  # never sent again
    assert [i.id for i in outbox.copies_due()] == [item.id]

    assert outbox.start_copy_attempt(item.id) is False
    outbox.mark_copy_failed(item.id, "IMAP down")
    assert outbox.get(item.id).copy_error == "IMAP down"
    assert outbox.copies_due() == []
    assert [i.id for i in outbox.copies_due(ignore_schedule=True)] == [item.id]
    clock.now += 60
    assert [i.id for i in outbox.copies_due()] == [item.id]
    assert outbox.start_copy_attempt(item.id) is True  # the copy may already be there
    outbox.mark_copy_saved(item.id)
    assert outbox.items() == []


def test_recipients_refused_for_now_stay_queued(outbox: Outbox) -> None:
    item = outbox.add("work", message(recipients=("a@x.org", "b@x.org", "c@x.org")))
    outbox.claim([item.id])
    gone = Refusal("c@x.org", 550, "no such user")
    outbox.mark_sent(
        item.id, refused=[gone], retry_recipients=["b@x.org"], error="b: 450", copy_wanted=True
    )
    left = outbox.get(item.id)
    assert left.state is OutboxState.QUEUED
    assert left.recipients == ("b@x.org",)
    assert left.refused == (gone,)
    assert left.sent_copy is SentCopy.PENDING
    assert left.next_attempt > left.created
    outbox.mark_copy_saved(item.id)
    assert outbox.get(item.id).sent_copy is SentCopy.DONE
    outbox.claim([item.id])
    outbox.mark_sent(item.id, copy_wanted=True)
    assert outbox.items() == []  # the copy was saved already


def test_crash_before_data_requeues_without_doubt(outbox: Outbox) -> None:
    item = outbox.add("work", message())
    outbox.claim([item.id])
    recovered = outbox.recover_interrupted()
    assert [(r.id, r.state, r.maybe_sent) for r in recovered] == [
        (item.id, OutboxState.QUEUED, False)
    ]
    assert due(outbox) == [item.id]


def test_crash_after_data_started_is_flagged(outbox: Outbox) -> None:
    item = outbox.add("work", message())
    other = outbox.add("work", message(2))
    outbox.claim([item.id])
    outbox.mark_data_ending(item.id)
    (recovered,) = outbox.recover_interrupted()
    assert recovered.maybe_sent and recovered.state is OutboxState.QUEUED
    assert "interrupted" in recovered.last_error
    assert not outbox.get(other.id).maybe_sent
    assert outbox.recover_interrupted() == []


def test_delete_refuses_a_message_being_sent(outbox: Outbox) -> None:
    first = outbox.add("work", message())
    second = outbox.add("work", message(2))
    outbox.claim([first.id])
    with pytest.raises(OutboxItemBusy):
        outbox.delete(first.id)
    with pytest.raises(OutboxItemBusy):
        outbox.retry(first.id)
    assert outbox.delete(second.id).id == second.id
    with pytest.raises(OutboxItemNotFound):
        outbox.delete(second.id)
    assert outbox.mark_failed(second.id, "x") is None
    assert outbox.mark_transient_failure(second.id, "x") is None


def test_lock_is_exclusive_within_a_process(path: Path) -> None:
    first = SenderLock(path)
    first.acquire()
    with pytest.raises(SenderBusy):
        SenderLock(path).acquire(wait=0.1)
    first.release()
    with SenderLock(path):
        pass


def test_lock_is_exclusive_across_processes_and_dies_with_its_holder(path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from mailclient.store.outbox import SenderLock
                SenderLock(Path({str(path)!r})).acquire()
                print("held", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(SenderBusy):
            SenderLock(path).acquire(wait=0.2)
        holder.kill()  # SIGKILL: no chance to clean up
        holder.wait()
        lock = SenderLock(path)
        lock.acquire(wait=5)
        lock.release()
    finally:
        holder.kill()
        holder.wait()


def test_copy_due_from_a_partial_delivery_survives_the_rest(outbox: Outbox) -> None:
    item = outbox.add("work", message(recipients=("a@x.org", "b@x.org")))
    outbox.claim([item.id])
    outbox.mark_sent(item.id, retry_recipients=["b@x.org"], error="450", copy_wanted=True)
    outbox.claim([item.id])
    # The account now says the server files sent mail, but this copy was owed before.
    outbox.mark_sent(item.id, copy_wanted=False)
    left = outbox.get(item.id)
    assert (left.state, left.sent_copy) == (OutboxState.SENT, SentCopy.PENDING)


def test_ids_are_never_reused(outbox: Outbox) -> None:
    first = outbox.add("work", message(1))
    outbox.delete(first.id)
    assert outbox.add("work", message(2)).id != first.id


def test_a_held_message_waits_for_its_time_whatever_the_retry_schedule(
    outbox: Outbox, clock: Clock
) -> None:
    held = outbox.add("work", message(1), send_at=T0 + 10)
    later = outbox.add("work", message(2), send_at=T0 + 3600, scheduled=True)
    now = outbox.add("work", message(3))
    assert due(outbox, ignore_schedule=True) == [now.id]
    assert later.scheduled and not held.scheduled
    assert held.send_at == datetime.fromtimestamp(T0 + 10, UTC)
    clock.now = T0 + 10
    assert due(outbox) == [held.id, now.id]
    assert outbox.release(later.id)  # Send Now
    assert outbox.get(later.id).send_at is None
    assert due(outbox) == [held.id, later.id, now.id]


def test_retry_lets_a_scheduled_message_go_now(outbox: Outbox) -> None:
    later = outbox.add("work", message(1), send_at=T0 + 3600, scheduled=True)
    assert due(outbox) == []
    outbox.retry(later.id)
    assert due(outbox) == [later.id]
    assert not outbox.get(later.id).scheduled


def test_the_watch_sees_commits_of_any_connection_and_a_replaced_file(path: Path) -> None:
    watch = OutboxWatch(path)
    assert not watch.changed()  # no file yet: nothing to tell
    outbox = Outbox.open(path)
    assert watch.changed() and not watch.changed()
    outbox.add("work", message())
    assert watch.changed() and not watch.changed()
    outbox.close()
    subprocess.run(
        [sys.executable, "-c", ADD_IN_ANOTHER_PROCESS, str(path)], check=True, timeout=60
    )
    assert watch.changed() and not watch.changed()
    outbox_path(path).rename(path.with_name("set-aside.sqlite3"))
    assert watch.changed()  # gone
    Outbox.open(path).close()
    assert watch.changed()  # a new file in its place
    watch.close()


ADD_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mailclient.core.outgoing import BuiltMessage
    from mailclient.store.outbox import Outbox

    outbox = Outbox.open(Path(sys.argv[1]))
    raw = b"Subject: m2\\r\\n\\r\\nbody\\r\\n"
    outbox.add("work", BuiltMessage(raw, "<m2@x.org>", "ann@x.org", ("bob@x.org",), "m2"))
    outbox.close()
    """
)


def _first_version_file(path: Path, joined: bool) -> None:
    """An outbox file as an older mailclient left it: schema version 1, holding one
    queued message; ``joined``: written by the versions whose two migration steps ran as
    one (send_at already there, version still 1)."""
    steps = "\n".join(MIGRATIONS)
    first = steps[: steps.index("ALTER TABLE outbox ADD COLUMN send_at")]
    if joined:
        first += (
            "ALTER TABLE outbox ADD COLUMN send_at REAL NOT NULL DEFAULT 0;\n"
            "ALTER TABLE outbox ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;\n"
        )
    db = sqlite3.connect(outbox_path(path))
    db.executescript(first + "\nPRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO outbox (account, message_id, envelope_from, recipients, size, created,"
        " next_attempt) VALUES ('work', '<old@example.org>', 'ann@example.org',"
        " '[\"bob@example.org\"]', 10, 1, 1)"
    )
    db.execute("INSERT INTO outbox_raw (id, raw) VALUES (1, x'00')")
    db.commit()
    db.close()


@pytest.mark.parametrize("joined", [False, True], ids=["before-send-later", "joined-steps"])
def test_an_outbox_file_of_an_older_version_is_upgraded_and_its_message_kept(
    path: Path, clock: Clock, joined: bool
) -> None:
    _first_version_file(path, joined)
    box = Outbox.open(path, clock)
    try:
        assert [item.message_id for item in box.items()] == ["<old@example.org>"]
        assert due(box) == [1]
        assert box._db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        box.close()
