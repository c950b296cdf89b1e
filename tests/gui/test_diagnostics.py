"""Bugs reach the user and the log: the crash dialog, Help ▸ About, Qt's messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, qWarning
from PySide6.QtWidgets import QApplication, QMainWindow
from pytestqt.qtbot import QtBot

from mailclient import __version__
from mailclient.accounts.model import Account
from mailclient.core import diagnostics
from mailclient.core.errors import CannotConnect
from mailclient.store.mail import MailStore
from mailclient.ui.window.diagnostics import (
    AboutDialog,
    CrashDialog,
    CrashReporter,
    route_qt_messages,
)
from mailclient.ui.window.main_window import MainWindow, window_settings
from mailclient.workers.events import WorkFailed
from mailclient.workers.mail import MailWorkers
from tests.gui.test_main_window import RecordingMail

WAIT = 10_000


@dataclass
class Logged:
    path: Path

    def text(self) -> str:
        for handler in logging.getLogger().handlers:
            handler.flush()
        return self.path.read_text("utf-8")


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Logged]:
    """The log file and the exception hooks, as the app sets them up."""
    root = logging.getLogger()
    level = root.level
    path = diagnostics.configure(tmp_path / "profile", "mailclient")
    assert path is not None
    restore = diagnostics.install_hooks()
    restore_qt = route_qt_messages()
    yield Logged(path)
    restore_qt()
    restore()
    diagnostics.unconfigure()
    root.setLevel(level)


@pytest.fixture
def reporter(qtbot: QtBot, logged: Logged) -> Iterator[CrashReporter]:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()
    shown = CrashReporter(window)
    yield shown
    shown.uninstall()


def dialog_of(qtbot: QtBot, reporter: CrashReporter) -> CrashDialog:
    qtbot.waitUntil(
        lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=WAIT
    )
    assert reporter.dialog is not None
    return reporter.dialog


@pytest.mark.qt_no_exception_capture
def test_a_crash_in_a_slot_shows_the_dialog_and_lands_in_the_log(
    qtbot: QtBot, reporter: CrashReporter, logged: Logged
) -> None:
    def broken_slot() -> None:
        raise ValueError("the list lost its row")

    QTimer.singleShot(0, broken_slot)
    dialog = dialog_of(qtbot, reporter)
    text = dialog.message.text()
    assert "This is a bug in Mailclient" in text and "in the window" in text
    assert "keeps running" in text
    assert dialog.error_label.text() == "The error: ValueError: the list lost its row"
    assert dialog.log_label.text() == f"Log: {logged.path}"
    log = logged.text()
    assert "CRITICAL [MainThread] mailclient.core.diagnostics: Uncaught exception" in log
    assert "in broken_slot\n    raise ValueError" in log
    # The window goes on: the next slot runs.
    ran = []
    QTimer.singleShot(0, lambda: ran.append(True))
    qtbot.waitUntil(lambda: bool(ran))


class _BrokenKeyring:
    """A credential store with a bug of ours in it."""

    def get_password(self, account: str, service: str) -> str:
        raise AttributeError("'NoneType' object has no attribute 'secret'")


def test_a_crash_in_a_worker_shows_the_dialog_and_lands_in_the_log(
    qtbot: QtBot, reporter: CrashReporter, logged: Logged, tmp_path: Path
) -> None:
    account = Account(name="work", email="ann@example.org", imap_host="h.test", smtp_host="h.test")
    mail = MailWorkers([account], _BrokenKeyring(), tmp_path / "mail.sqlite3", idle=False)  # type: ignore[arg-type]
    failures: list[WorkFailed] = []
    mail.failed.connect(failures.append)
    try:
        mail.sync("work")
        dialog = dialog_of(qtbot, reporter)
        # The failure reaches the window by a queued signal of its own.
        qtbot.waitUntil(lambda: bool(failures))
    finally:
        mail.stop()
    assert "in the background" in dialog.message.text()
    assert dialog.error_label.text() == (
        "The error: AttributeError: 'NoneType' object has no attribute 'secret'"
    )
    log = logged.text()
    assert "ERROR [work-sync] mailclient.workers.mail: work: SyncAccount" in log
    assert "in get_password\n    raise AttributeError" in log
    assert "WARNING [work-sync] mailclient.workers.mail: work: An unexpected error happened" in log
    # The window's error bar hears of it too, and the worker lives on.
    assert failures and failures[0].account == "work"


def test_our_errors_and_records_without_traceback_show_no_dialog(
    qtbot: QtBot, reporter: CrashReporter
) -> None:
    log = logging.getLogger("mailclient.test")
    log.error("A server said no")
    try:
        raise CannotConnect("The connection to the IMAP server failed.")
    except CannotConnect:
        log.exception("Sync failed")
    try:
        raise KeyError("x")
    except KeyError:
        log.warning("Odd header", exc_info=True)
    # A real problem after them is the first the reporter shows.
    try:
        raise LookupError("the one")
    except LookupError:
        log.exception("Bug")
    dialog = dialog_of(qtbot, reporter)
    assert "LookupError: the one" in dialog.error_label.text() and dialog.more == 0


def test_many_problems_in_a_row_make_one_dialog(qtbot: QtBot, logged: Logged) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    reporter = CrashReporter(window, quiet=3600)
    try:
        for number in range(20):
            try:
                raise RuntimeError(f"number {number}")
            except RuntimeError:
                logging.getLogger("mailclient.test").exception("Again")
        dialog = dialog_of(qtbot, reporter)
        qtbot.waitUntil(lambda: dialog.more == 19)
        assert "RuntimeError: number 0" in dialog.error_label.text()
        assert dialog.more_label.text() == "19 more problems happened since; the log has each."
        assert [w for w in QApplication.topLevelWidgets() if isinstance(w, CrashDialog)] == [dialog]
        # Right after it was closed, the next problems wait for the quiet time to end.
        dialog.reject()
        for number in range(3):
            try:
                raise RuntimeError(f"later {number}")
            except RuntimeError:
                logging.getLogger("mailclient.test").exception("Later")
        [quiet_time] = reporter.findChildren(QTimer)
        qtbot.waitUntil(quiet_time.isActive)
        assert not dialog.isVisible() and reporter.dialog is dialog
        quiet_time.timeout.emit()  # the quiet time is over
        later = dialog_of(qtbot, reporter)
        assert later is not dialog
        assert "later 0" in later.error_label.text() and later.more == 2
    finally:
        reporter.uninstall()


def test_the_report_carries_versions_traceback_and_log_without_addresses(
    qtbot: QtBot, reporter: CrashReporter, logged: Logged
) -> None:
    logging.getLogger("mailclient.imap.sync").info("work: ann@example.org has 3 new messages")
    logging.getLogger("mailclient.imap.conversation").debug("< b'* 1 FETCH (UID 7)'")
    try:
        raise KeyError("bob@example.org")
    except KeyError:
        logging.getLogger("mailclient.workers.mail").exception("work: reading failed")
    dialog = dialog_of(qtbot, reporter)
    dialog.copy_button.click()
    report = QApplication.clipboard().text()
    assert report.startswith("Mailclient problem report\n")
    assert "What happened: work: reading failed" in report
    for name in ("mailclient", "Python", "Qt", "PySide6", "SQLite", "OpenSSL", "Platform"):
        assert f"\n{name}: " in report
    assert 'raise KeyError("<address>")' in report
    assert "work: <address> has 3 new messages" in report
    assert "@example.org" not in report and "FETCH" not in report


def test_about_shows_the_versions_and_copies_diagnostics(qtbot: QtBot, logged: Logged) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.copy_button.click()
    copied = QApplication.clipboard().text()
    assert f"mailclient: {__version__}\n" in copied
    for name in ("Python", "Qt", "PySide6", "SQLite", "OpenSSL", "Platform"):
        assert f"\n{name}: " in copied
    assert f"Log: {logged.path}\n" in copied


def test_qt_messages_go_into_the_log(qtbot: QtBot, logged: Logged) -> None:
    qWarning("a warning from Qt")
    assert "WARNING [MainThread] qt: a warning from Qt" in logged.text()


def test_help_about_opens_the_about_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    store = MailStore.open(tmp_path / "mail.sqlite3")
    window = MainWindow([], store, RecordingMail(), window_settings(tmp_path))  # type: ignore[arg-type]
    qtbot.addWidget(window)
    try:
        [help_menu] = [m for m in window.menuBar().actions() if m.text() == "&Help"]
        [about] = help_menu.menu().actions()  # type: ignore[union-attr]
        about.trigger()
        qtbot.waitUntil(lambda: window.findChild(AboutDialog) is not None)
        dialog = window.findChild(AboutDialog)
        assert dialog.isVisible() and dialog.windowTitle() == "About Mailclient"
        dialog.reject()
    finally:
        window.close()
        store.close()
