"""Help ▸ About, and the dialog that tells the user about a bug of ours.

A log record at ERROR or above that carries a traceback (an uncaught exception in any
thread, a worker's ``log.exception``) means a bug: CrashReporter shows it in CrashDialog,
one at a time however many follow, with *Copy report* and where the log is. Qt's own
messages go into the log too (route_qt_messages).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import PySide6
from PySide6.QtCore import (
    QObject,
    Qt,
    QThread,
    QTimer,
    QtMsgType,
    Signal,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mailclient import APP_NAME, __version__
from mailclient.core import diagnostics
from mailclient.core.errors import MailclientError
from mailclient.store.version import sqlite_version
from mailclient.ui.widgets.icons import app_icon

# After the user closed the dialog, further problems wait this long before the next one.
QUIET_SECONDS = 60.0
_LONGEST_MESSAGE = 300


def app_versions() -> dict[str, str]:
    """mailclient, Python, Qt, PySide6, SQLite, OpenSSL and the platform."""
    return diagnostics.versions(
        {"Qt": qVersion(), "PySide6": PySide6.__version__, "SQLite": sqlite_version()}
    )


def diagnostics_text() -> str:
    """What *Copy diagnostics* copies: versions and where the log is."""
    path = diagnostics.log_file()
    debug = logging.getLogger().isEnabledFor(logging.DEBUG)
    return (
        f"{diagnostics.format_versions(app_versions())}\n"
        f"Log: {path or 'none'}{' (debug)' if debug else ''}\n"
    )


def _selectable(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class AboutDialog(QDialog):
    """The versions of everything mailclient runs on, and *Copy diagnostics*."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {APP_NAME}")
        layout = QVBoxLayout(self)
        header = QHBoxLayout()
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(64, 64))
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(
            f"<b style='font-size:large'>{APP_NAME} {__version__}</b>"
            "<p>A fast, safe desktop email client.</p>",
            self,
        )
        header.addWidget(title, 1)
        layout.addLayout(header)
        form = QFormLayout()
        for name, value in app_versions().items():
            if name != "mailclient":  # in the title already
                form.addRow(f"{name}:", _selectable(value, self))
        path = diagnostics.log_file()
        form.addRow("Log:", _selectable(str(path) if path else "none", self))
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton(
            "&Copy diagnostics", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.copy_button.setObjectName("copyDiagnostics")
        self.copy_button.clicked.connect(self.copy_diagnostics)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def copy_diagnostics(self) -> None:
        QGuiApplication.clipboard().setText(diagnostics_text())


@dataclass(frozen=True)
class Problem:
    """One unexpected exception, as the log recorded it."""

    what: str  # the log message ("work: SyncAccount(...) failed", "Uncaught exception")
    error: str  # "KeyError: 'x'"
    details: str  # the traceback
    in_window: bool  # raised on the GUI thread (else in the background)

    @classmethod
    def from_record(cls, record: logging.LogRecord) -> Problem | None:
        """The problem a record reports, or None when it reports none (no traceback, or one
        of our errors, which carry their own message for the user)."""
        if record.levelno < logging.ERROR or not record.exc_info:
            return None
        kind, error, tb = record.exc_info
        if kind is None or error is None or isinstance(error, MailclientError):
            return None
        return cls(
            what=record.getMessage(),
            error=_one_line(kind, error),
            details="".join(traceback.format_exception(kind, error, tb)),
            in_window=record.threadName == threading.main_thread().name,
        )


def _one_line(kind: type[BaseException], error: BaseException) -> str:
    text = f"{kind.__name__}: {error}" if str(error) else kind.__name__
    text = " ".join(text.split())
    return text if len(text) <= _LONGEST_MESSAGE else text[: _LONGEST_MESSAGE - 1] + "…"


class CrashDialog(QDialog):
    """Says in plain words that something went wrong, and how to report it."""

    def __init__(self, problem: Problem, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle(f"{APP_NAME} ran into a problem")
        self.problem = problem
        self.more = 0
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        icon = QLabel(self)
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        icon.setPixmap(warning.pixmap(48, 48))
        top.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        top.addLayout(texts, 1)
        layout.addLayout(top)
        texts.addWidget(QLabel(f"<b>Something went wrong inside {APP_NAME}.</b>", self))
        where = "in the window" if problem.in_window else "in the background"
        self.message = _selectable(
            f"This is a bug in {APP_NAME}, not something you did. What was happening {where} "
            "may not have finished; your mail, drafts and outbox are kept, and "
            f"{APP_NAME} keeps running. If something looks wrong, restart it.",
            self,
        )
        self.message.setObjectName("crashMessage")
        texts.addWidget(self.message)
        self.error_label = _selectable(f"The error: {problem.error}", self)
        self.error_label.setObjectName("crashError")
        texts.addWidget(self.error_label)
        self.more_label = _selectable("", self)
        self.more_label.setObjectName("moreProblems")
        self.more_label.hide()
        texts.addWidget(self.more_label)
        path = diagnostics.log_file()
        self.report_hint = _selectable(
            "Please report it: Copy report puts what we need on the clipboard: the versions, "
            "the error and the last lines of the log, without your mail and with addresses "
            "removed.",
            self,
        )
        texts.addWidget(self.report_hint)
        self.log_label = _selectable(f"Log: {path}" if path else "No log file.", self)
        self.log_label.setObjectName("crashLog")
        texts.addWidget(self.log_label)
        self.details = QPlainTextEdit(problem.details, self)
        self.details.setObjectName("crashDetails")
        self.details.setReadOnly(True)
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.details.setMinimumHeight(160)
        self.details.hide()
        layout.addWidget(self.details, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.details_button = QPushButton("Show &Details", self)
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._toggle_details)
        buttons.addButton(self.details_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button = buttons.addButton("&Copy report", QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setObjectName("copyReport")
        self.copy_button.clicked.connect(self.copy_report)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

    def _toggle_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setText("Hide &Details" if shown else "Show &Details")
        self.adjustSize()

    def add_more(self, count: int = 1) -> None:
        """Problems that came after this one: counted here, not shown one by one."""
        self.more += count
        noun = "problem" if self.more == 1 else "problems"
        self.more_label.setText(f"{self.more} more {noun} happened since; the log has each.")
        self.more_label.show()

    def report(self) -> str:
        what = self.problem.what + (f" (and {self.more} more)" if self.more else "")
        return diagnostics.problem_report(
            what, self.problem.details, app_versions(), diagnostics.log_file()
        )

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report())


class _ProblemHandler(logging.Handler):
    """Passes each problem a log record reports to the reporter, from any thread."""

    def __init__(self, found: Callable[[Problem], None]) -> None:
        super().__init__(logging.ERROR)
        self._found = found

    def emit(self, record: logging.LogRecord) -> None:
        try:
            problem = Problem.from_record(record)
            if problem is not None:
                self._found(problem)
        except Exception:
            self.handleError(record)


class CrashReporter(QObject):
    """Shows the problems the log reports in a CrashDialog over ``window``.

    One dialog at a time: what happens while it is open is counted in it; after it was
    closed, the next dialog waits ``quiet`` seconds, so that an error that repeats cannot
    bury the window in dialogs.
    """

    found = Signal(Problem)  # emitted on any thread, handled on the GUI thread

    def __init__(self, window: QWidget, quiet: float = QUIET_SECONDS) -> None:
        super().__init__(window)
        self.window = window
        self.quiet = quiet
        self.dialog: CrashDialog | None = None
        self._closed_at: float | None = None
        self._waiting: list[Problem] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show_waiting)
        # Queued even on the GUI thread: the dialog never opens inside a logging call.
        self.found.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._handler = _ProblemHandler(self.found.emit)
        logging.getLogger().addHandler(self._handler)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self._handler)
        self._timer.stop()

    def _show(self, problem: Problem) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add_more()
            return
        if self._closed_at is not None:
            wait = self._closed_at + self.quiet - time.monotonic()
            if wait > 0:
                self._waiting.append(problem)
                if not self._timer.isActive():
                    self._timer.start(int(wait * 1000) + 1)
                return
        self._open(problem, 0)

    def _show_waiting(self) -> None:
        if self._waiting:
            first, *rest = self._waiting
            self._waiting = []
            self._open(first, len(rest))

    def _open(self, problem: Problem, more: int) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = CrashDialog(problem, self.window)
        if more:
            self.dialog.add_more(more)
        self.dialog.finished.connect(self._closed)
        self.dialog.show()

    def _closed(self) -> None:
        self._closed_at = time.monotonic()


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}
_qt_log = logging.getLogger("qt")


def route_qt_messages() -> Callable[[], None]:
    """Send Qt's warnings and errors into the log, and name a QThread's records after the
    thread's objectName (Python knows them as "Dummy-1"); returns what undoes both."""

    def handler(kind: QtMsgType, context: object, message: str) -> None:
        _qt_log.log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)

    make_record = logging.getLogRecordFactory()

    def named_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if record.threadName and record.threadName.startswith("Dummy-"):
            record.threadName = QThread.currentThread().objectName() or record.threadName
        return record

    previous = qInstallMessageHandler(handler)
    logging.setLogRecordFactory(named_record)

    def restore() -> None:
        qInstallMessageHandler(previous)
        logging.setLogRecordFactory(make_record)

    return restore
