"""The outbox view: what waits to be sent, why, and what to do about it.

Shown in the main window like a folder. Each message has its recipients, subject, how
often sending was tried and the server's last answer; Retry Now, Edit (back into a compose
window) and Delete act on the selection. The list is re-read, off the GUI thread, when
the outbox worker or the store watcher reports a change (the watcher sees those of other
processes too: ``mailclient send``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.outgoing import OutboxItem, OutboxState, SentCopy
from mailclient.ui.widgets.icons import icon
from mailclient.workers.sending import OutboxWorker
from mailclient.workers.store_watcher import StoreWatcher
from mailclient.workers.tasks import error_text, run_task

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()
_FAILED_COLOUR = QColor("#b71c1c")


def waiting(items: list[OutboxItem]) -> int:
    """Messages not sent yet (a sent one whose Sent-folder copy is pending does not count)."""
    return sum(1 for i in items if i.state is not OutboxState.SENT)


def is_held(item: OutboxItem) -> bool:
    """Held back until a later time (the undo delay, or Send Later)."""
    return (
        item.state is OutboxState.QUEUED
        and item.send_at is not None
        and item.send_at > datetime.now(UTC)
    )


def _time(moment: datetime) -> str:
    local = moment.astimezone()
    today = datetime.now(UTC).astimezone().date()
    return local.strftime("%H:%M" if local.date() == today else "%d %b %H:%M")


def status_text(item: OutboxItem) -> str:
    """The state of a message in a few words."""
    if item.state is OutboxState.SENDING:
        return "Sending…"
    if item.state is OutboxState.FAILED:
        return "Not sent: needs you"
    if item.state is OutboxState.SENT:
        return "Sent; Sent-folder copy pending"
    if is_held(item) and item.send_at is not None:
        if item.scheduled:
            return f"Scheduled for {item.send_at.astimezone():%a %d %b %Y, %H:%M}"
        return "Sending in a moment (Undo in the window)"
    if item.attempts == 0:
        return "Waiting to be sent"
    return f"Queued; next try {_time(item.next_attempt)}"


# Enhanced status codes (RFC 3463) in plain words, most specific first.
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_PLAIN_DETAIL = {
    "1.1": "The address does not exist.",
    "1.2": "The recipient's domain does not exist.",
    "1.3": "The address is not valid.",
    "1.10": "The recipient's domain accepts no mail.",
    "2.1": "The recipient's mailbox is disabled.",
    "2.2": "The recipient's mailbox is full.",
    "2.3": "The message is too large for the recipient.",
    "3.4": "The message is too large for the server.",
    "7.1": "The server refused the message (its rules do not allow it).",
    "7.8": "The server did not accept the login.",
}
_PLAIN_CLASS = {
    "4": "The receiving server could not be reached.",
    "7": "The server refused the message for security reasons.",
}
# Basic reply codes (RFC 5321 §4.2.3) when no enhanced code says more.
_PLAIN_REPLY = {
    "421": "The server is not available right now.",
    "450": "The recipient's mailbox is not available right now.",
    "451": "The server had a problem and asks to try again later.",
    "452": "The server is short of space right now.",
    "550": "The recipient's mailbox is not available.",
    "552": "The message is too large, or the mailbox is full.",
    "553": "The address is not allowed.",
    "554": "The server refused the message.",
}
_REPLY = re.compile(r"\b([45]\d\d)\b")


def plain_reason(text: str) -> str:
    """The meaning of the first SMTP code in ``text`` in plain words, or ""."""
    enhanced = _ENHANCED.search(text)
    if enhanced:
        status, subject, detail = enhanced.groups()
        plain = _PLAIN_DETAIL.get(f"{subject}.{detail}") or _PLAIN_CLASS.get(subject, "")
        if plain and status == "4":
            return f"For now: {plain[0].lower()}{plain[1:]} It will be tried again."
        if plain:
            return plain
    reply = _REPLY.search(text)
    return _PLAIN_REPLY.get(reply.group(1), "") if reply else ""


def problem_text(item: OutboxItem) -> str:
    """What went wrong last: in plain words, then in the server's own."""
    parts = []
    if item.state is OutboxState.SENT:
        if item.sent_copy is SentCopy.PENDING and item.copy_error:
            parts.append(item.copy_error)
    elif item.last_error:
        plain = plain_reason(item.last_error)
        parts.extend([plain, item.last_error] if plain else [item.last_error])
    if item.refused and item.state is not OutboxState.FAILED:
        parts.append("Refused: " + "; ".join(str(r) for r in item.refused))
    if item.maybe_sent:
        parts.append("It may already have been sent: sending was interrupted after the data.")
    return " ".join(parts)


class OutboxModel(QAbstractTableModel):
    """The outbox as a table: status, recipients, subject, attempts, last problem."""

    HEADERS = ("Status", "To", "Subject", "Attempts", "Last problem")
    STATUS, TO, SUBJECT, ATTEMPTS, PROBLEM = range(5)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.items: list[OutboxItem] = []

    def set_items(self, items: list[OutboxItem]) -> None:
        if items == self.items:
            return
        if [i.id for i in items] == [i.id for i in self.items]:
            self.items = items
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(items) - 1, len(self.HEADERS) - 1)
            )
            return
        self.beginResetModel()
        self.items = items
        self.endResetModel()

    def item(self, row: int) -> OutboxItem | None:
        return self.items[row] if 0 <= row < len(self.items) else None

    def rowCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index.row()) if index.isValid() else None
        if item is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._text(item, column)
            if role == Qt.ItemDataRole.ToolTipRole and column == self.PROBLEM and not text:
                return None
            return text
        if role == Qt.ItemDataRole.DecorationRole and column == self.STATUS:
            return icon("outbox")
        failed = item.state is OutboxState.FAILED
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and failed
            and column in (self.STATUS, self.PROBLEM)
        ):
            return _FAILED_COLOUR
        if role == Qt.ItemDataRole.FontRole and failed and column == self.STATUS:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _text(self, item: OutboxItem, column: int) -> str:
        if column == self.STATUS:
            return status_text(item)
        if column == self.TO:
            return ", ".join(item.recipients) or ", ".join(r.recipient for r in item.refused)
        if column == self.SUBJECT:
            return item.subject or "(no subject)"
        if column == self.ATTEMPTS:
            return str(item.attempts)
        return problem_text(item)


class OutboxView(QWidget):
    """The outbox page of the main window."""

    count_changed = Signal(int)  # messages waiting
    refreshed = Signal()  # the list read last is shown

    def __init__(
        self, worker: OutboxWorker, watcher: StoreWatcher, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("outboxView")
        self.setAccessibleName("Outbox")
        self._worker = worker
        self._count = -1
        # One read at a time, in order: a list read later is never replaced by an older one.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._reading = False
        self._again = False  # a change was reported while a read ran
        self.model = OutboxModel(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        title = QLabel("Outbox", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        self.summary = QLabel(self)
        self.summary.setObjectName("outboxSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        self.table = QTableView(self)
        self.table.setObjectName("outboxTable")
        self.table.setAccessibleName("Messages waiting to be sent")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(OutboxModel.STATUS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(OutboxModel.TO, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(OutboxModel.SUBJECT, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(OutboxModel.ATTEMPTS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(OutboxModel.PROBLEM, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(OutboxModel.TO, 200)
        header.resizeSection(OutboxModel.SUBJECT, 220)
        self.table.doubleClicked.connect(lambda *_: self.edit_selected())
        layout.addWidget(self.table, 1)

        self.detail = QLabel(self)
        self.detail.setObjectName("outboxDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setStyleSheet(
            "QLabel { background: palette(alternate-base); padding: 6px 8px; }"
        )
        self.detail.hide()
        layout.addWidget(self.detail)

        buttons = QHBoxLayout()
        self.retry_button = QPushButton(icon("get-mail"), "&Retry Now", self)
        self.retry_button.setObjectName("outboxRetry")
        self.retry_button.clicked.connect(self.retry_selected)
        self.edit_button = QPushButton(icon("write"), "&Edit", self)
        self.edit_button.setObjectName("outboxEdit")
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton(icon("delete"), "&Delete", self)
        self.delete_button.setObjectName("outboxDelete")
        self.delete_button.clicked.connect(self.delete_selected)
        for button in (self.retry_button, self.edit_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.model.dataChanged.connect(self._selection_changed)
        worker.outbox_changed.connect(self.refresh)
        watcher.outbox_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Read the outbox again off the GUI thread (a few rows, no message bytes);
        ``refreshed`` tells when the list is shown."""
        if self._reading:
            self._again = True
            return
        self._reading = True
        self._again = False
        run_task(self, self._worker.items, self._show, self._read_failed, self._pool)

    def _read_done(self) -> None:
        self._reading = False
        if self._again:
            self.refresh()
        else:
            self.refreshed.emit()

    def _read_failed(self, error: Exception) -> None:
        # A damaged store: say so instead of a stale list.
        self.summary.setText(f"The outbox cannot be read: {error_text(error)}")
        self._read_done()

    def _show(self, items: list[OutboxItem]) -> None:
        selected = self.selected()
        self.model.set_items(items)
        if selected is not None:
            row = next((r for r, i in enumerate(items) if i.id == selected.id), None)
            if row is not None:
                self.table.selectRow(row)
        count = waiting(items)
        failed = sum(1 for i in items if i.state is OutboxState.FAILED)
        if not items:
            text = "Nothing waits to be sent. Messages stay here while they cannot be sent."
        else:
            text = f"{count} message{'s' if count != 1 else ''} waiting to be sent"
            if failed:
                text += f"; {failed} refused by the server and waiting for you"
            text += "."
        self.summary.setText(text)
        if count != self._count:
            self._count = count
            self.count_changed.emit(count)
        self._selection_changed()
        self._read_done()

    def selected(self) -> OutboxItem | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.item(rows[0].row()) if rows else None

    def _selection_changed(self, *args: object) -> None:
        item = self.selected()
        busy = item is None or item.state is OutboxState.SENDING
        self.retry_button.setEnabled(not busy and item is not None)
        held = item is not None and is_held(item)
        self.retry_button.setText("Send &Now" if held else "&Retry Now")
        self.edit_button.setEnabled(
            not busy and item is not None and item.state is not OutboxState.SENT
        )
        self.delete_button.setEnabled(not busy)
        if item is None:
            self.detail.hide()
            return
        lines = [f"<b>{status_text(item)}</b> — to {', '.join(item.recipients) or '—'}"]
        problem = problem_text(item)
        if problem:
            lines.append(_escape(problem))
        self.detail.setText("<br>".join(lines))
        self.detail.show()

    def retry_selected(self) -> None:
        item = self.selected()
        if item is not None and is_held(item):
            self._worker.send_now(item.id)
        elif item is not None:
            self._worker.retry(item.id)

    def edit_selected(self) -> None:
        item = self.selected()
        if item is not None and item.state not in (OutboxState.SENDING, OutboxState.SENT):
            self._worker.edit(item.id)

    def delete_selected(self) -> None:
        item = self.selected()
        if item is None:
            return
        answer = QMessageBox.question(
            self,
            "Delete message",
            f"Delete {item.subject or '(no subject)'!r} from the outbox? It will not be sent.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._worker.delete(item.id)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
