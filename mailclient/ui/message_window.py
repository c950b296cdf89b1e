"""A message in its own window (Enter in the message list)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QWidget

from mailclient import APP_NAME
from mailclient.core.models import MessageSummary
from mailclient.mime.decode import without_invisible
from mailclient.ui.reading_pane import ReadingPane, load_job
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.workers.reading import PreparedMessage


_TITLE_CHARS = 200


class MessageWindow(QMainWindow):
    """Shows one message; the body is fetched by the main window's workers if needed."""

    closed = Signal()
    fetch_requested = Signal(object)  # MessageSummary

    def __init__(
        self,
        summary: MessageSummary,
        store_path: Path,
        pool: QThreadPool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("messageWindow")
        self.summary = summary
        self.prefer_plain = False
        self.allow_remote = False
        self._store_path = store_path
        self._pool = pool
        subject = without_invisible(summary.subject)
        if len(subject) > _TITLE_CHARS:
            subject = subject[:_TITLE_CHARS].rstrip() + "…"
        self.setWindowTitle(f"{subject or '(no subject)'} — {APP_NAME}")
        self.pane = ReadingPane(pool, self)
        self.pane.load_remote_requested.connect(self._allow_remote)
        self.pane.link_hovered.connect(lambda target: self.statusBar().showMessage(target))
        self.setCentralWidget(self.pane)
        self.resize(860, 760)
        QShortcut(QKeySequence("Escape"), self, activated=self.close)
        QShortcut(QKeySequence("Space"), self, activated=self.pane.page_down)

    def load(self) -> None:
        self.pane.show_loading(self.summary)
        job = load_job(
            self._store_path,
            self.summary.id,
            prefer_plain=self.prefer_plain,
            allow_remote=self.allow_remote,
        )
        run_task(self, job, self._loaded, pool=self._pool)

    def _loaded(self, prepared: PreparedMessage | None) -> None:
        if prepared is None:
            self.fetch_requested.emit(self.summary)
            return
        self.pane.show_prepared(prepared)

    def body_fetched(self, message_id: int) -> None:
        if message_id == self.summary.id and self.pane.prepared is None:
            self.load()

    def _allow_remote(self) -> None:
        self.allow_remote = True
        self.load()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)
