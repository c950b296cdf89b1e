"""One blocking call on a thread pool, its result or error posted back to the GUI thread.

Apart from the threads that do one job each (the mail workers' lanes, IDLE and store
writers, the notification bus, the OAuth2 redirect server), Relay is the only way
mailclient runs a function off the GUI thread: the window and the dialogs (through Task
and run_task) for everything that may wait (DNS, sockets, the keyring, the config file,
the message list's id query), and the outbox worker for its two single-thread lanes. A
Task can be cancelled: the call is told through ``cancel_event`` and, whatever it does
next, no signal reaches the window afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, SignalInstance, Slot

from mailclient.core.errors import MailclientError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Relay(QObject):
    """Runs calls on a pool and carries their outcome to the thread this object lives on.

    The one way in mailclient to run a function off the GUI thread: ``start`` may be
    called from any thread; ``returned`` (the result) or ``raised`` (the exception, ours
    or a bug) is delivered queued. Once the relay was deleted (its owner closed), the
    outcome is dropped: nobody waits for it any more.
    """

    returned = Signal(object)  # whatever the call returned: its receiver knows the type
    raised = Signal(Exception)
    reported = Signal(object)  # progress, from Task.report

    def start(self, func: Callable[[], object], pool: QThreadPool | None = None) -> None:
        (pool or QThreadPool.globalInstance()).start(_Runnable(func, self))

    def post(self, signal: SignalInstance, value: object) -> None:
        """Emit ``signal`` (one of this relay's) unless the relay is gone."""
        with contextlib.suppress(RuntimeError):
            signal.emit(value)


class _Runnable(QRunnable):
    def __init__(self, func: Callable[[], object], relay: Relay) -> None:
        super().__init__()
        self._func = func
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._func()
        except Exception as error:  # every error, ours or a bug, is handed over
            self._relay.post(self._relay.raised, error)
        else:
            self._relay.post(self._relay.returned, result)


class Task(QObject):
    """Runs ``func`` off the GUI thread; ``succeeded``/``failed`` arrive on the GUI thread."""

    succeeded = Signal(object)  # what ``func`` returned
    failed = Signal(Exception)
    progressed = Signal(object)  # what ``func`` passed to report()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cancel_event = threading.Event()
        # A child, so that Qt deletes it with the Task on the GUI thread; without a parent
        # its last reference could be dropped by the pool thread, destroying a QObject of
        # the GUI thread from another thread while events for it are queued.
        self._relay = Relay(self)
        self._relay.returned.connect(self._on_returned)
        self._relay.raised.connect(self._on_raised)
        self._relay.reported.connect(self._on_reported)
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self, func: Callable[[], object], pool: QThreadPool | None = None) -> Task:
        self._running = True
        self._relay.start(func, pool)
        return self

    def report(self, value: object) -> None:
        """Send progress to the GUI thread; safe to call from the worker."""
        self._relay.post(self._relay.reported, value)

    def cancel(self) -> None:
        self.cancel_event.set()
        self._running = False

    @Slot(object)
    def _on_returned(self, result: object) -> None:
        if self.cancel_event.is_set():
            return
        self._running = False
        self.succeeded.emit(result)

    @Slot(Exception)
    def _on_raised(self, error: Exception) -> None:
        if self.cancel_event.is_set():
            return
        self._running = False
        log_if_bug(error)
        self.failed.emit(error)

    @Slot(object)
    def _on_reported(self, value: object) -> None:
        if not self.cancel_event.is_set():
            self.progressed.emit(value)


def wait_for_tasks(seconds: float = 5.0) -> bool:
    """Wait for the calls still running on the shared pool; whether all ended in time.

    Before the process ends: a call left running would post its outcome while Python
    shuts down, which brings the process down (a relay's owner being gone is fine until
    then). Calls that wait on the network end with their time-out; the wait is bounded.
    """
    return bool(QThreadPool.globalInstance().waitForDone(int(seconds * 1000)))


def _is_ours(error: object) -> bool:
    return isinstance(error, MailclientError)


def log_if_bug(error: Exception) -> None:
    """Our errors are sentences for the user; anything else is a bug: log its traceback."""
    if not _is_ours(error):
        log.error("A background task failed", exc_info=error)


def error_text(error: object) -> str:
    """What to tell the user: our errors are sentences; anything else is a bug of ours."""
    if _is_ours(error):
        return str(error)
    return f"Something went wrong inside mailclient ({type(error).__name__}: {error})."


def run_task(
    parent: QObject,
    func: Callable[[], T],
    on_done: Callable[[T], object],
    on_failed: Callable[[Exception], object] | None = None,
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
