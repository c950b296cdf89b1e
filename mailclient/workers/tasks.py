"""One blocking call on a thread pool, its result or error posted back to the GUI thread.

The dialogs use this for everything that may wait: DNS, sockets, the keyring, the config
file. A Task can be cancelled: the call is told through ``cancel_event`` and, whatever it
does next, no signal reaches the window afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from mailclient.core.errors import MailclientError

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Carries results across threads: emitted on the worker, delivered queued to the Task."""

    returned = Signal(object)
    raised = Signal(object)
    reported = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, func: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._func = func
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._func()
        except Exception as error:  # every error, ours or a bug, is handed to the GUI thread
            self._emit(self._relay.raised, error)
        else:
            self._emit(self._relay.returned, result)

    @staticmethod
    def _emit(signal: Any, value: object) -> None:
        # The Task (and the relay with it) is gone when its parent was closed meanwhile:
        # nobody waits for the result any more.
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


class Task(QObject):
    """Runs ``func`` off the GUI thread; ``succeeded``/``failed`` arrive on the GUI thread."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        # A child, so that Qt deletes it with the Task on the GUI thread; without a parent
        # its last reference could be dropped by the pool thread, destroying a QObject of
        # the GUI thread from another thread while events for it are queued.
        self._relay = _Relay(self)
        self._relay.returned.connect(self._on_returned)
        self._relay.raised.connect(self._on_raised)
        self._relay.reported.connect(self._on_reported)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self, func: Callable[[], Any], pool: QThreadPool | None = None) -> Task:
        self._running = True
        (pool or QThreadPool.globalInstance()).start(_Runnable(func, self._relay))
        return self

    def report(self, value: object) -> None:
        """Send progress to the GUI thread; safe to call from the worker."""
        _Runnable._emit(self._relay.reported, value)

    def cancel(self) -> None:
        self.cancel_event.set()
        self._running = False

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        if self.cancel_event.is_set():
            return
        self._running = False
        self.succeeded.emit(result)

    @Slot(object)
    def _on_raised(self, error: object) -> None:
        if self.cancel_event.is_set():
            return
        self._running = False
        if not _is_ours(error):
            log.error("A background task failed", exc_info=error)  # type: ignore[arg-type]
        self.failed.emit(error)

    @Slot(object)
    def _on_reported(self, value: object) -> None:
        if not self.cancel_event.is_set():
            self.progressed.emit(value)


def _is_ours(error: object) -> bool:
    return isinstance(error, MailclientError)


def error_text(error: object) -> str:
    """What to tell the user: our errors are sentences; anything else is a bug of ours."""
    if _is_ours(error):
        return str(error)
    return f"Something went wrong inside mailclient ({type(error).__name__}: {error})."


def run_task(
    parent: QObject,
    func: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_failed: Callable[[object], None] | None = None,
    pool: QThreadPool | None = None,
) -> Task:
    """Start a Task with its callbacks connected; it deletes itself once it has reported.

    For the window's many short jobs (reading a message, saving an attachment), which
    nobody cancels and which would otherwise pile up as children of ``parent``.
    """
    task = Task(parent)
    task.succeeded.connect(on_done)
    if on_failed is not None:
        task.failed.connect(on_failed)
    task.succeeded.connect(task.deleteLater)
    task.failed.connect(task.deleteLater)
    return task.start(func, pool)
