"""The bar that says a message is about to go, with Undo, while the outbox holds it back.

After Send, a message waits in the outbox for the delay set in Preferences; the bar counts
it down. Undo takes it back out of the outbox into a compose window (attachments and all);
Send Now lets it go at once. The waiting itself is the outbox's: when mailclient quits or
crashes meanwhile, the message is still there and goes at the next start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from mailclient.core.outgoing import Held


class UndoSendBar(QFrame):
    """ "Sending “Subject” in 8 s  [Undo] [Send Now]"; one line per message held back."""

    def __init__(
        self,
        undo: Callable[[int], None],
        send_now: Callable[[int], None],
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("undoSendBar")
        self.setAccessibleName("Sending")
        self.setStyleSheet(
            "#undoSendBar { background: palette(alternate-base); "
            "border-bottom: 1px solid palette(mid); }"
        )
        self._undo, self._send_now, self._clock = undo, send_now, clock
        self._held: list[Held] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 6, 4)
        self.label = QLabel(self)
        self.label.setObjectName("undoSendText")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.label, 1)
        self.undo_button = QPushButton("&Undo", self)
        self.undo_button.setObjectName("undoSendButton")
        self.undo_button.setToolTip("Take the message back and edit it")
        self.undo_button.clicked.connect(lambda: self._act(self._undo))
        layout.addWidget(self.undo_button)
        self.send_now_button = QPushButton("Send &Now", self)
        self.send_now_button.setObjectName("sendNowButton")
        self.send_now_button.clicked.connect(lambda: self._act(self._send_now))
        layout.addWidget(self.send_now_button)
        self._tick = QTimer(self)
        self._tick.setInterval(250)
        self._tick.timeout.connect(self._update)
        self.hide()

    def hold(self, held: Held) -> None:
        """Show ``held`` (the newest first) until it goes or is taken back."""
        self._held = [h for h in self._held if h.item_id != held.item_id] + [held]
        self._tick.start()
        self._update()
        self.show()

    def forget(self, item_id: int) -> None:
        """``item_id`` went, or was taken back: no longer shown."""
        self._held = [h for h in self._held if h.item_id != item_id]
        self._update()

    def held(self) -> list[Held]:
        return list(self._held)

    def _act(self, action: Callable[[int], None]) -> None:
        if self._held:
            newest = self._held.pop()
            action(newest.item_id)
            self._update()

    def _update(self) -> None:
        now = self._clock()
        due = [h for h in self._held if h.send_at <= now]
        for held in due:
            # Its time has come: the outbox sends it; Undo can no longer be promised.
            self._held.remove(held)
            self._send_now(held.item_id)
        if not self._held:
            self._tick.stop()
            self.hide()
            return
        newest = self._held[-1]
        seconds = max(1, math.ceil(newest.send_at - now))
        subject = newest.subject or "(no subject)"
        if len(subject) > 60:
            subject = subject[:59] + "…"
        more = f" (and {len(self._held) - 1} more)" if len(self._held) > 1 else ""
        self.label.setText(f"Sending “{subject}” in {seconds} s{more}")
