"""Undo send and Send Later: messages held back in the outbox until their time.

The real OutboxSender and outbox file, a scripted SMTP server (tests/gui/outbox_world.py);
the real servers are in tests/integration/test_send_later.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from mailclient.accounts.identities import identities_of
from mailclient.core.outgoing import Attachment, Held
from mailclient.store.outbox import Outbox
from mailclient.ui.compose.send_later import SendLaterDialog
from mailclient.ui.compose.undo_send import UndoSendBar
from mailclient.ui.compose.window import ComposeWindow
from mailclient.ui.outbox.view import status_text
from mailclient.workers import sending
from tests.gui.compose_helpers import account
from tests.gui.outbox_world import WAIT, World, draft, running_world
from tests.support.waiting import wait_until


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path)


def test_a_held_message_waits_and_undo_takes_it_back_whole(qtbot: QtBot, world: World) -> None:
    written = draft(
        subject="Regrets",
        attachments=(Attachment(filename="plan.txt", data=b"the plan", content_type="text/plain"),),
    )
    with qtbot.waitSignal(world.worker.held, timeout=WAIT) as held:
        world.worker.send(written, send_at=time.time() + 60)
    shown = held.args[0]
    assert isinstance(shown, Held) and shown.subject == "Regrets"
    world.worker.flush()  # a flush in the meantime leaves it alone
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.flush()
    assert world.server.received == []
    [item] = world.worker.items()
    assert item.send_at is not None and not item.scheduled
    assert status_text(item) == "Sending in a moment (Undo in the window)"

    with qtbot.waitSignal(world.worker.edit_ready, timeout=WAIT) as edited:
        world.worker.edit(shown.item_id)
    back = edited.args[0]
    assert (back.subject, back.to) == ("Regrets", written.to)
    assert [(a.filename, a.data) for a in back.attachments] == [("plan.txt", b"the plan")]
    assert world.worker.items() == []
    assert world.server.received == []


def test_send_now_lets_a_held_message_go_once(qtbot: QtBot, world: World) -> None:
    with qtbot.waitSignal(world.worker.held, timeout=WAIT) as held:
        world.worker.send(draft(subject="Go"), send_at=time.time() + 60)
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send_now(held.args[0].item_id)
    assert len(world.server.received) == 1
    assert world.worker.items() == []


def test_quitting_while_held_sends_at_the_next_start_once(
    qtbot: QtBot, world: World, tmp_path: Path
) -> None:
    with qtbot.waitSignal(world.worker.held, timeout=WAIT):
        world.worker.send(draft(subject="Later"), send_at=time.time() + 1)
    assert world.worker.stop()  # mailclient quits during the delay
    assert world.server.received == []
    outbox = Outbox.open(world.store_path)
    [kept] = outbox.items()  # nothing lost
    outbox.close()
    assert kept.subject == "Later"
    time.sleep(1.1)
    again = World(tmp_path, world.server)  # the next start, after the delay
    with qtbot.waitSignal(again.worker.flushed, timeout=WAIT):
        again.worker.start()
    with qtbot.waitSignal(again.worker.flushed, timeout=WAIT):
        again.worker.flush()
    assert len(world.server.received) == 1  # sent once, not twice
    assert again.worker.stop()


def test_send_later_waits_for_its_time_and_says_when_it_was_late(
    qtbot: QtBot, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = time.time() + 2
    with qtbot.waitSignal(world.worker.outbox_changed, timeout=WAIT):
        world.worker.send(draft(subject="Monday"), send_at=when, scheduled=True)
    [item] = world.worker.items()
    assert item.scheduled and status_text(item).startswith("Scheduled for ")
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.flush()
    assert world.server.received == []
    assert world.worker.stop()

    monkeypatch.setattr(sending, "OVERDUE_SECONDS", 0.5)
    time.sleep(2.6)  # mailclient was not running at that time
    again = World(tmp_path, world.server)
    with qtbot.waitSignal(again.worker.notice, timeout=WAIT) as notice:
        again.worker.start()
    assert "“Monday” was to be sent on" in notice.args[0]
    wait_until(lambda: len(world.server.received) == 1, timeout=WAIT / 1000, qtbot=qtbot)
    assert again.worker.stop()


def test_the_bar_counts_down_undoes_and_lets_go(qtbot: QtBot) -> None:
    now = [1000.0]
    undone: list[int] = []
    released: list[int] = []
    bar = UndoSendBar(undone.append, released.append, clock=lambda: now[0])
    qtbot.addWidget(bar)
    bar.hold(Held(7, "Plans", 1010.0))
    bar.hold(Held(8, "More plans", 1005.0))
    assert bar.isVisible() or not bar.isHidden()
    assert bar.label.text() == "Sending “More plans” in 5 s (and 1 more)"
    qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)
    assert undone == [8] and bar.label.text() == "Sending “Plans” in 10 s"
    now[0] = 1010.0
    wait_until(bar.isHidden, qtbot=qtbot)
    assert released == [7]


def test_send_later_in_the_compose_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    identities = identities_of([account()])
    window = ComposeWindow(
        draft(to="bob@example.org", subject="Agenda", body="See below."), identities
    )
    qtbot.addWidget(window)
    window.show()
    chosen: list[SendLaterDialog] = []

    def answer(dialog: SendLaterDialog) -> int:
        chosen.append(dialog)
        dialog.quick_buttons[1].click()  # tomorrow morning
        return 1

    monkeypatch.setattr(SendLaterDialog, "exec", answer)
    assert window.send_later_action.shortcut().toString() == "Ctrl+Shift+Return"
    with qtbot.waitSignal(window.send_later_requested) as requested:
        window.send_later_action.trigger()
    sent, when = requested.args
    assert sent.subject == "Agenda"
    assert isinstance(when, datetime) and (when.hour, when.minute) == (8, 0)
    assert when.date() > datetime.now().date()


def test_the_outbox_view_offers_send_now_for_a_held_message(qtbot: QtBot, world: World) -> None:
    view = world.outbox_view()
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(world.worker.outbox_changed, timeout=WAIT):
        world.worker.send(draft(subject="Soon"), send_at=time.time() + 3600, scheduled=True)
    view.refresh()
    wait_until(lambda: view.model.rowCount() == 1, qtbot=qtbot)
    view.table.selectRow(0)
    assert view.retry_button.text() == "Send &Now"
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        view.retry_button.click()
    assert len(world.server.received) == 1
