"""A signal emitted once more from a worker thread just as a test's wait for it ends."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot


class Emitter(QObject):
    said = Signal(bool)


def test_a_late_emission_reaches_no_freed_waiter(qtbot: QtBot) -> None:
    emitter = Emitter()
    second = threading.Event()

    def twice() -> None:
        emitter.said.emit(True)
        second.wait()
        emitter.said.emit(False)

    worker = threading.Thread(target=twice)

    def the_first(value: bool) -> bool:
        # The second emission is queued for this thread while the wait is still connected.
        second.set()
        worker.join()
        return value

    with qtbot.waitSignal(emitter.said, check_params_cb=the_first):
        worker.start()
    gc.collect()
    reuse = [object() for _ in range(10_000)]  # what the waiter's memory may hold now
    qtbot.wait(10)  # the second emission is delivered now
    assert len(reuse) == 10_000
