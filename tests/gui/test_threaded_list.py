"""The threaded message list of a big folder: the newest threads at once, the rest below."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence

import pytest
from PySide6.QtCore import QThread
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from mailclient.store import threads
from mailclient.store.db import ReadStopped
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
    first: list[list[int | None]] = []
    model.modelReset.connect(lambda *a: events.append("reset"))
    model.modelReset.connect(lambda *a: first.append(_shown(model)))
    model.rowsInserted.connect(lambda _p, first, last: events.append(f"inserted {first}-{last}"))
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.show_folders([inbox])
    # First the newest threads, whole, and no more; then the rest, below what is shown;
    # the switch to threads read nothing in vain.
    assert events == ["reset", f"inserted {2 * FIRST_THREADS}-399"]
    assert first == [whole[: 2 * FIRST_THREADS]]
    assert [model.message_id(r) for r in range(model.rowCount())] == whole
    assert model.index(0, Column.SUBJECT).data() == "▾ message 400"


def test_a_threaded_folder_is_read_off_the_gui_thread(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    _conversations(store, inbox, 2 * FIRST_THREADS)
    whole = [p.id for p in store.threaded([inbox])]
    readers = _readers(monkeypatch, "threaded")
    model = MessageListModel(store)
    model.set_threaded(True)
    model.show_folders([inbox])
    qtbot.waitUntil(lambda: _shown(model) == whole and not model.is_loading(), timeout=10_000)
    # The newest threads, then all of them: both read, neither on the GUI thread.
    assert [first for first, _ in readers] == [FIRST_THREADS, None]
    assert all(thread is not QThread.currentThread() for _, thread in readers)


def test_a_threaded_folder_read_for_a_folder_no_longer_shown_is_dropped(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, archive = _folder_id(store, "work", "INBOX"), _folder_id(store, "work", "Archive")
    _conversations(store, inbox, 2 * FIRST_THREADS)
    store.add_messages(archive, [_message(uid, message_id=f"<a{uid}@x>") for uid in range(1, 4)])
    in_archive = [p.id for p in store.threaded([archive])]
    inbox_read, go_on = threading.Event(), threading.Event()
    original = MailStore.threaded

    def held(self: MailStore, folder_ids: Sequence[int], first: int | None = None) -> object:
        found = original(self, folder_ids, first)
        if list(folder_ids) == [inbox]:
            inbox_read.set()
            go_on.wait(5)
        return found

    monkeypatch.setattr(MailStore, "threaded", held)
    model = MessageListModel(store)
    model.set_threaded(True)
    resets: list[list[int | None]] = []
    model.modelReset.connect(lambda: resets.append(_shown(model)))
    model.show_folders([inbox])
    assert inbox_read.wait(5)
    # The user moves on before the inbox's threads reach the list: they never do.
    model.show_folders([archive])
    go_on.set()
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=10_000)
    assert resets == [in_archive] and _shown(model) == in_archive


def test_a_folder_chosen_while_threads_are_read_stops_that_read(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, archive = _folder_id(store, "work", "INBOX"), _folder_id(store, "work", "Archive")
    _conversations(store, inbox, 2 * FIRST_THREADS)
    store.add_messages(archive, [_message(1, message_id="<a1@x>")])
    rest_asked, go_on = threading.Event(), threading.Event()
    outcomes: list[str] = []
    original = MailStore.threaded

    def held(self: MailStore, folder_ids: Sequence[int], first: int | None = None) -> object:
        if first is None and list(folder_ids) == [inbox]:
            rest_asked.set()
            go_on.wait(5)
            try:
                found = original(self, folder_ids, first)
            except ReadStopped:
                outcomes.append("stopped")
                raise
            outcomes.append("read")
            return found
        return original(self, folder_ids, first)

    monkeypatch.setattr(MailStore, "threaded", held)
    model = MessageListModel(store)
    model.set_threaded(True)
    failures: list[str] = []
    model.load_failed.connect(failures.append)
    model.show_folders([inbox])
    qtbot.waitUntil(rest_asked.is_set, timeout=10_000)
    # The newest threads are shown, the rest is on its way: another folder is chosen.
    model.show_folders([archive])
    go_on.set()
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=10_000)
    # Nobody waits for the inbox's threads any more: their read stopped, without a word
    # to the user, and the archive's list came after it.
    assert outcomes == ["stopped"] and failures == []
    assert [model.message_id(r) for r in range(model.rowCount())] == [
        p.id for p in store.threaded([archive])
    ]


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


def _readers(monkeypatch: pytest.MonkeyPatch, name: str) -> list[tuple[object, QThread]]:
    """Each call of MailStore's ``name``: its last argument and the thread it ran on."""
    calls: list[tuple[object, QThread]] = []
    method = getattr(MailStore, name)

    def recorded(self: MailStore, *args: object) -> object:
        calls.append((args[-1] if len(args) > 1 else None, QThread.currentThread()))
        return method(self, *args)

    monkeypatch.setattr(MailStore, name, recorded)
    return calls


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
