"""Task: blocking calls off the GUI thread, results and errors back on it, Cancel honoured."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread, QThreadPool
from pytestqt.qtbot import QtBot

from mailclient.core.errors import CannotConnect
from mailclient.workers.tasks import Task, error_text, wait_for_tasks


def test_result_and_progress_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    gui = QThread.currentThread()
    seen: list[tuple[object, bool]] = []
    task = Task()

    def work() -> str:
        assert QThread.currentThread() is not gui
        task.report("half-way")
        return "done"

    task.progressed.connect(lambda value: seen.append((value, QThread.currentThread() is gui)))
    with qtbot.waitSignal(task.succeeded) as result:
        task.start(work)
    assert result.args == ["done"]
    assert seen == [("half-way", True)]
    assert not task.running


def test_errors_arrive_as_objects_with_readable_text(qtbot: QtBot) -> None:
    task = Task()
    with qtbot.waitSignal(task.failed) as failed:
        task.start(lambda: (_ for _ in ()).throw(CannotConnect("The server is away.")))
    assert error_text(failed.args[0]) == "The server is away."
    assert "inside mailclient" in error_text(KeyError("x"))


def test_nothing_arrives_after_cancel(qtbot: QtBot) -> None:
    release = threading.Event()
    task = Task()
    arrived: list[object] = []
    task.succeeded.connect(arrived.append)
    task.failed.connect(arrived.append)
    task.start(lambda: release.wait(10))
    task.cancel()
    assert task.cancel_event.is_set()
    release.set()
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.wait(50)
    assert arrived == []


def test_the_calls_still_running_are_waited_for_before_the_end(qtbot: QtBot) -> None:
    ended = threading.Event()

    def slow() -> None:
        ended.wait(0.3)
        ended.set()

    task = Task()
    task.start(slow)
    assert wait_for_tasks(10)
    assert ended.is_set()
    task.deleteLater()
