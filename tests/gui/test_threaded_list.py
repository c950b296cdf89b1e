"""The threaded message list of a big folder: the newest threads at once, the rest below."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
from PySide6.QtCore import QThread
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from mailclient.store import threads
from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.message_model import FIRST_THREADS, Column, MessageListModel
from tests.gui import test_models
from tests.gui.test_models import _folder_id, _message

store = test_models.store  # the list models' tests' store: two accounts, a few folders


def test_a_threaded_folder_shows_its_newest_threads_first_and_the_rest_below(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    # 200 threads of two messages each: a message and, a minute later, its reply.
    store.add_messages(
        inbox,
        [
            _message(uid, message_id=f"<{uid}@x>", in_reply_to=f"<{uid - 1}@x>" if uid % 2 else "")
            for uid in range(2, 402)
        ],
    )
    whole = [p.id for p in store.threaded([inbox])]
    model = MessageListModel(store)
    qtmodeltester.check(model)
    model.set_threaded(True)
    events: list[str] = []
    model.modelReset.connect(lambda *a: events.append("reset"))
    model.rowsInserted.connect(lambda _p, first, last: events.append(f"inserted {first}-{last}"))
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.show_folders([inbox])
        # At once: the newest threads, whole, and no more.
        assert model.rowCount() == 2 * FIRST_THREADS and model.is_loading()
        assert [model.message_id(r) for r in range(model.rowCount())] == whole[: 2 * FIRST_THREADS]
        assert model.index(0, Column.SUBJECT).data() == "▾ message 400"
    # Then the rest, below what is shown; the switch to threads read nothing in vain.
    assert events == ["reset", f"inserted {2 * FIRST_THREADS}-399"]
    assert [model.message_id(r) for r in range(model.rowCount())] == whole


def _on_gui_thread(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[str]:
    """Which of MailStore's ``names`` ran on the GUI thread, as they are called."""
    gui = QThread.currentThread()
    seen: list[str] = []

    def recorded(name: str, method: Callable[..., object]) -> Callable[..., object]:
        def call(self: MailStore, *args: object, **kwargs: object) -> object:
            if QThread.currentThread() is gui:
                seen.append(name)
            return method(self, *args, **kwargs)

        return call

    for name in names:
        monkeypatch.setattr(MailStore, name, recorded(name, getattr(MailStore, name)))
    return seen


def _conversations(store: MailStore, inbox: int, threads: int) -> None:
    """``threads`` threads of a message and its reply; every other one about lunch."""
    store.add_messages(
        inbox,
        [
            _message(
                uid,
                message_id=f"<{uid}@x>",
                in_reply_to=f"<{uid - 1}@x>" if uid % 2 else "",
                subject=f"lunch {uid}" if uid % 4 in (2, 3) else f"message {uid}",
            )
            for uid in range(2, 2 + 2 * threads)
        ],
    )


def _shown(model: MessageListModel) -> list[int | None]:
    return [model.message_id(r) for r in range(model.rowCount())]


def test_a_threaded_folder_with_a_quick_filter_is_read_off_the_gui_thread(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    _conversations(store, inbox, 2 * FIRST_THREADS)
    hits = store.matching([inbox], "lunch")
    wanted = [p.id for p in store.threaded([inbox]) if p.id in hits]
    assert 0 < len(wanted) < 4 * FIRST_THREADS
    on_gui = _on_gui_thread(monkeypatch, "matching", "threaded", "message_ids", "message_id_array")
    model = MessageListModel(store)
    model.set_threaded(True)
    model.set_quick_filter("lunch")
    model.show_folders([inbox])
    qtbot.waitUntil(lambda: _shown(model) == wanted, timeout=10_000)
    assert model.index(0, Column.SUBJECT).data() == f"▾ lunch {4 * FIRST_THREADS - 2}"
    assert on_gui == []


def test_an_upgraded_store_is_linked_into_threads_off_the_gui_thread(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    _conversations(store, inbox, 20)
    wanted = [p.id for p in store.threaded([inbox])]
    # As after the upgrade that brought threads: every message waits to be linked.
    store._db.execute("DELETE FROM thread_nodes")
    store._db.execute("UPDATE thread_state SET threaded_up_to = 0")
    gui = QThread.currentThread()
    linked_on_gui: list[bool] = []
    link = threads.thread_new_messages

    def recorded(db: sqlite3.Connection) -> int:
        linked_on_gui.append(QThread.currentThread() is gui)
        return link(db)

    monkeypatch.setattr(threads, "thread_new_messages", recorded)
    model = MessageListModel(store)
    model.set_threaded(True)
    model.show_folders([inbox])
    qtbot.waitUntil(lambda: _shown(model) == wanted, timeout=10_000)
    assert model.index(0, Column.SUBJECT).data() == "▾ message 40"
    assert linked_on_gui == [False]
