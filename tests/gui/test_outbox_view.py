"""The outbox view: the table, the plain-words reasons, and its buttons."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread
from pytestqt.qtbot import QtBot

from mailclient.accounts.store import AccountStore
from mailclient.core.outgoing import OutboxItem, OutboxState, Refusal, SentCopy
from mailclient.core.profile import Profile
from mailclient.store.mail import MailStore
from mailclient.ui.outbox.view import (
    OutboxModel,
    OutboxView,
    plain_reason,
    problem_text,
    status_text,
    waiting,
)
from mailclient.workers.store_watcher import StoreWatcher
from tests.gui.compose_helpers import DialogAnswerer
from tests.gui.outbox_world import ACCOUNT, WAIT, World, draft, running_world
from tests.unit.fake_smtp import Script

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def item(**changes: object) -> OutboxItem:
    values: dict[str, object] = {
        "id": 1,
        "account": "work",
        "message_id": "<m@example.org>",
        "subject": "Hello",
        "recipients": ("bob@example.org",),
        "state": OutboxState.QUEUED,
        "size": 1000,
        "created": NOW,
        "next_attempt": NOW,
    }
    values.update(changes)
    return OutboxItem(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (
            "bob@example.org: 550 5.1.1 <bob@example.org>: User unknown",
            "The address does not exist.",
        ),
        ("552 5.3.4 Message size exceeds fixed limit", "The message is too large for the server."),
        (
            "452 4.2.2 Mailbox full",
            "For now: the recipient's mailbox is full. It will be tried again.",
        ),
        (
            "554 5.7.1 Relay access denied",
            "The server refused the message (its rules do not allow it).",
        ),
        ("421 Too many connections", "The server is not available right now."),
        ("Cannot connect to the SMTP server 10.5.0.12:587.", ""),
    ],
)
def test_server_replies_in_plain_words(text: str, plain: str) -> None:
    assert plain_reason(text) == plain


def test_states_in_words() -> None:
    assert status_text(item()) == "Waiting to be sent"
    assert status_text(item(attempts=2)).startswith("Queued; next try ")
    assert status_text(item(state=OutboxState.SENDING)) == "Sending…"
    assert status_text(item(state=OutboxState.FAILED)) == "Not sent: needs you"
    failed = item(state=OutboxState.FAILED, last_error="The server refused: 550 5.1.1 unknown")
    assert problem_text(failed) == (
        "The address does not exist. The server refused: 550 5.1.1 unknown"
    )
    partly = item(
        refused=(Refusal("carol@example.org", 550, "5.1.1 unknown"),),
        last_error="Not yet delivered to: dave@example.org: 451 later",
        maybe_sent=True,
    )
    text = problem_text(partly)
    assert "Refused: carol@example.org: 550 5.1.1 unknown" in text
    assert "may already have been sent" in text
    copy = item(state=OutboxState.SENT, sent_copy=SentCopy.PENDING, copy_error="IMAP down")
    assert problem_text(copy) == "IMAP down"
    assert waiting([item(), copy, item(state=OutboxState.FAILED)]) == 2


def test_model(qtmodeltester: object) -> None:
    model = OutboxModel()
    model.set_items([item(), item(id=2, state=OutboxState.FAILED, subject="")])
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert model.index(1, model.SUBJECT).data() == "(no subject)"
    assert model.index(1, model.STATUS).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(0, model.STATUS).data(Qt.ItemDataRole.ForegroundRole) is None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path)


def test_the_view_follows_the_outbox_and_acts_on_it(qtbot: QtBot, world: World) -> None:
    world.server.script = Script(rcpt_replies={"bob@example.org": (550, "5.1.1 No such user")})
    view = world.outbox_view()
    qtbot.addWidget(view)
    view.show()
    counts: list[int] = []
    view.count_changed.connect(counts.append)
    qtbot.waitUntil(lambda: "Nothing waits" in view.summary.text(), timeout=WAIT)
    assert not view.retry_button.isEnabled() and not view.delete_button.isEnabled()

    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(draft(subject="Refused"))
    # Read off the GUI thread: the queued row may show before its refusal does.
    qtbot.waitUntil(lambda: "1 refused by the server" in view.summary.text(), timeout=WAIT)
    assert view.model.rowCount() == 1 and counts[-1] == 1
    view.table.selectRow(0)
    assert view.retry_button.isEnabled() and view.edit_button.isEnabled()
    assert "The address does not exist." in view.detail.text()

    world.server.script = Script()
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=WAIT)
    assert counts[-1] == 0
    assert len(world.server.received) == 1

    world.server.script = Script(rcpt_replies={"bob@example.org": (550, "5.1.1 No such user")})
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(draft(subject="Unwanted"))
    # Not just a row: one read while it was sending shows it too, and can't be deleted.
    qtbot.waitUntil(lambda: "1 refused by the server" in view.summary.text(), timeout=WAIT)
    view.table.selectRow(0)
    assert view.delete_button.isEnabled()
    answers = DialogAnswerer(qtbot).answer("Cancel")
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    assert answers.done() and view.model.rowCount() == 1
    answers = DialogAnswerer(qtbot).answer("Yes")
    qtbot.mouseClick(view.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=WAIT)
    assert "Unwanted" in answers.seen[0]


def test_a_message_queued_by_mailclient_send_shows_read_off_the_gui_thread(
    qtbot: QtBot, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gui = QThread.currentThread()
    read_on: list[bool] = []
    items = world.worker.items

    def recorded_items() -> list[OutboxItem]:
        read_on.append(QThread.currentThread() is gui)
        return items()

    monkeypatch.setattr(world.worker, "items", recorded_items)
    store = MailStore.open(world.store_path)
    watcher = StoreWatcher(store)
    view = OutboxView(world.worker, watcher)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.refreshed, timeout=WAIT):
        watcher.start()
    AccountStore(Profile(tmp_path).config_path).add(ACCOUNT)
    at = datetime.now() + timedelta(hours=1)
    with qtbot.waitSignal(watcher.outbox_changed, timeout=WAIT):
        queued = subprocess.run(
            [sys.executable, "-m", "mailclient", "--profile", str(tmp_path), "send",
             "--account", ACCOUNT.name, "--to", "bob@example.org", "--subject", "From a terminal",
             "--at", f"{at:%Y-%m-%d %H:%M}"],
            input="Hello\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert queued.returncode == 0, queued.stderr
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT)
    assert view.model.index(0, OutboxModel.SUBJECT).data() == "From a terminal"
    assert read_on and not any(read_on)
    watcher.stop()
    store.close()
