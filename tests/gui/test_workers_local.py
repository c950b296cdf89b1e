"""The worker helpers that need no server: run_task and the store watcher."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from mailclient.core.models import SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.workers.store_watcher import StoreWatcher
from mailclient.workers.tasks import Task, run_task


def test_run_task_reports_on_the_gui_thread_and_cleans_up(qtbot: QtBot) -> None:
    parent = QObject()
    gui = threading.get_ident()
    seen: list[tuple[bool, bool]] = []
    run_task(
        parent,
        threading.get_ident,
        lambda worker: seen.append((worker != gui, threading.get_ident() == gui)),
    )
    qtbot.waitUntil(lambda: bool(seen))
    assert seen == [(True, True)]
    qtbot.waitUntil(lambda: not parent.findChildren(Task))


def test_run_task_errors_reach_the_failure_callback(qtbot: QtBot) -> None:
    parent = QObject()
    failures: list[object] = []

    def broken() -> None:
        raise OSError(28, "No space left on device")

    run_task(parent, broken, lambda _: None, failures.append)
    qtbot.waitUntil(lambda: bool(failures))
    assert isinstance(failures[0], OSError)
    qtbot.waitUntil(lambda: not parent.findChildren(Task))


def test_watcher_reports_writes_from_another_connection(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    reader = MailStore.open(path)
    writer = MailStore.open(path)
    [inbox] = writer.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    watcher = StoreWatcher(reader, poll_ms=50)
    watcher.start()
    with qtbot.waitSignal(watcher.changed, timeout=5000) as changed:
        writer.add_messages(inbox.id, [NewMessage(uid=1, flags=frozenset())])
    assert inbox.id in changed.args[0].folder_ids
    # A worker's committed counter triggers a check at once, without waiting for the timer.
    watcher.stop()
    seq = writer.add_messages(inbox.id, [NewMessage(uid=2, flags=frozenset())])
    with qtbot.waitSignal(watcher.changed, timeout=1000):
        watcher.poke(seq)
    # An old counter value does nothing.
    with qtbot.assertNotEmitted(watcher.changed, wait=100):
        watcher.poke(seq)
    reader.close()
    writer.close()
