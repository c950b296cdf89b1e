"""The status bar: how far the sync has come, what failed, where a hovered link goes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar

from mailclient.ui.widgets.error_bar import ShownError
from mailclient.workers.events import SyncFinished, SyncProgress, WorkFailed

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


class SyncStatus:
    """MainWindow's status bar."""

    def _build_status_bar(self: MainWindow) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.sync_label = QLabel(self)
        self.sync_label.setObjectName("syncStatus")
        self.sync_label.setTextFormat(Qt.TextFormat.PlainText)  # folder names come from servers
        self.sync_progress = QProgressBar(self)
        self.sync_progress.setObjectName("syncProgress")
        self.sync_progress.setMaximumWidth(160)
        self.sync_progress.setMaximumHeight(14)
        self.sync_progress.setTextVisible(False)
        self.sync_progress.hide()
        status.addPermanentWidget(self.sync_label)
        status.addPermanentWidget(self.sync_progress)
        self._progress: dict[str, SyncProgress] = {}

    def _sync_progressed(self: MainWindow, progress: SyncProgress) -> None:
        self._progress[progress.account] = progress
        self._show_progress()

    def _sync_finished(self: MainWindow, event: SyncFinished) -> None:
        self._progress.pop(event.account, None)
        self.error_bar.clear_key(f"account:{event.account}")
        self._show_progress()

    def _show_progress(self: MainWindow) -> None:
        if not self._progress:
            self.sync_label.setText("")
            self.sync_progress.hide()
            return
        progress = list(self._progress.values())[-1]
        where = (
            progress.folder
            if len(self._accounts) < 2
            else f"{progress.folder} ({progress.account})"
        )
        if not progress.folder:
            self.sync_label.setText(f"Checking {progress.account} for new mail…")
            self.sync_progress.setRange(0, 0)
        elif progress.total:
            self.sync_label.setText(f"Syncing {where} — {progress.done:,} of {progress.total:,}")
            self.sync_progress.setRange(0, progress.total)
            self.sync_progress.setValue(progress.done)
        else:
            self.sync_label.setText(f"Syncing {where}")
            self.sync_progress.setRange(0, 0)
        self.sync_progress.show()

    def _work_failed(self: MainWindow, failure: WorkFailed) -> None:
        self._progress.pop(failure.account, None)
        self._show_progress()
        mail = self._mail
        retry = (lambda: mail.retry(failure)) if failure.command is not None else None
        self.error_bar.show_error(
            ShownError(failure.message, retry, key=f"account:{failure.account}")
        )

    def _link_hovered(self: MainWindow, target: str) -> None:
        if target:
            self.statusBar().showMessage(target)
        else:
            self.statusBar().clearMessage()
