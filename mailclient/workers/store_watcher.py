"""Turning the store's change counter into a Qt signal for the models.

Every committed write to a folder bumps one counter in the store. Workers of this process
report the value they committed (poke() checks at once); a slow timer catches writes from
other processes (``mailclient sync`` in a terminal). A check is one indexed read.

The outbox has a file of its own (store/outbox.py); the same checks ask SQLite whether
anyone committed to it (OutboxWatch), and ``outbox_changed`` tells the Outbox view, also
after ``mailclient send`` queued a message from a terminal.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from mailclient.store.db import StoreError
from mailclient.store.mail import MailStore, StoreChanges
from mailclient.store.outbox_watch import OutboxWatch

POLL_MS = 1000


class StoreWatcher(QObject):
    """Emits ``changed(StoreChanges)`` after the store changed, ``outbox_changed`` after
    the outbox did; lives on the GUI thread."""

    changed = Signal(StoreChanges)
    outbox_changed = Signal()
    failed = Signal(str)

    def __init__(self, store: MailStore, poll_ms: int = POLL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        self._seq = store.change_seq()
        self._outbox = OutboxWatch(store.path)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poke)
        # Coalesce: many batches committed in a burst give one refresh per event-loop turn.
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self._check)

    @property
    def seq(self) -> int:
        return self._seq

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._pending.stop()
        self._outbox.close()

    @Slot()
    @Slot(int)
    def poke(self, seq: int = 0) -> None:
        """Check soon; ``seq`` is a counter value a worker committed (0 if unknown)."""
        if seq and seq <= self._seq:
            return
        if not self._pending.isActive():
            self._pending.start()

    def _check(self) -> None:
        if self._outbox.changed():
            self.outbox_changed.emit()
        try:
            if self._store.change_seq() == self._seq:
                return
            changes = self._store.changes_since(self._seq)
        except StoreError as error:
            self.failed.emit(str(error))
            return
        self._seq = changes.seq
        self.changed.emit(changes)
