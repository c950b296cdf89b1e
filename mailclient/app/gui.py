"""Starting the window: the QApplication, the store, the workers and the main window."""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from mailclient import APP_ID, APP_NAME
from mailclient.app import pyside_hook  # noqa: F401  (before the window's modules)

if TYPE_CHECKING:
    from mailclient.app.services import Services
    from mailclient.store.mail import MailStore
    from mailclient.ui.compose.manager import ComposeManager
    from mailclient.ui.window.main_window import MainWindow

log = logging.getLogger(__name__)

# The largest message each SMTP server accepts, as last announced (RFC 1870 SIZE).
SIZE_LIMITS_FILE = "smtp-size-limits.json"
# The longest the account dialogs, notifications and the tray wait for the first paint.
PAINT_WAIT_MS = 2000


def prepare_qt() -> None:
    """What must be set before the QApplication exists."""
    # QtWebEngine (loaded later, for the first HTML message) needs shared GL contexts; Qt
    # takes this only before the application exists (tests make theirs first).
    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium's sandbox cannot run as root and QtWebEngine would abort; HTML mail is
        # still sanitized, script-free and cut off from the network (see ui/mailbox/html_view.py).
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def attach_writing(services: Services, window: MainWindow) -> ComposeManager:
    """Compose windows, the outbox worker and the Outbox entry of ``window``."""
    from PySide6.QtGui import QDesktopServices

    from mailclient.imap.append import SentFolder
    from mailclient.imap.drafts import DraftsFolder
    from mailclient.smtp.sender import OutboxSender
    from mailclient.store.drafts import LocalDrafts
    from mailclient.ui.compose.manager import ComposeManager
    from mailclient.ui.outbox.view import OutboxView
    from mailclient.workers.sending import OutboxWorker, SizeLimits

    profile = services.profile
    limits = SizeLimits(profile.root / SIZE_LIMITS_FILE)
    sender = OutboxSender(
        profile.store_path,
        services.accounts.get,
        services.sign_in,
        functools.partial(SentFolder.open, store_path=profile.store_path),
        connect_smtp=OutboxWorker.connect_recording(limits),
    )
    worker = OutboxWorker(
        profile.store_path,
        sender,
        LocalDrafts(profile.drafts_dir),
        services.accounts.get,
        services.sign_in,
        functools.partial(DraftsFolder.open, store_path=profile.store_path),
        limits,
        parent=window,
    )
    compose = ComposeManager(services.accounts.accounts(), worker, profile.store_path, window)
    window.attach_compose(compose, OutboxView(worker, window.watcher))
    # mailto: links in messages open here, not in another mail program. PySide6 wants the
    # slot's name as a str (bytes are refused at run time); its stubs say bytes.
    QDesktopServices.setUrlHandler("mailto", compose, "open_mailto_url")  # type: ignore[arg-type]
    return compose


def open_window(
    services: Services, then: Callable[[], None] | None = None
) -> tuple[QApplication, MainWindow, MailStore]:
    """The application and the main window of ``services``' profile, shown with cached mail.

    Without ``then``, the window comes with everything around it: the account dialogs,
    preferences, notifications, the tray (app.desktop) and writing mail. With ``then``,
    those are imported and built only after the message list first painted (or before a
    key or click that comes sooner), and ``then`` runs after them: the list is on screen
    sooner. Nothing touches the network (or the keyring) until ``window.start()``.
    """
    prepare_qt()
    existing = QApplication.instance()
    # The application made here: this process runs the window (tests make theirs first).
    owns_process = not isinstance(existing, QApplication)
    if owns_process:
        # What start-up makes until the list has painted (modules, classes, the window's
        # widgets) lives as long as the process: the collector would look through it in
        # vain, 5-10 ms of passes. surround() collects once and enables it again.
        gc.disable()
    try:
        return _open_window(services, then, existing, owns_process)
    except BaseException:
        gc.enable()
        raise


def _open_window(
    services: Services,
    then: Callable[[], None] | None,
    existing: QCoreApplication | None,
    owns_process: bool,
) -> tuple[QApplication, MainWindow, MailStore]:
    # Imported here, with the collector off (see open_window()).
    from mailclient.store.mail import MailStore
    from mailclient.store.repair import hold_open
    from mailclient.ui.widgets.error_bar import ShownError
    from mailclient.ui.widgets.icons import app_icon
    from mailclient.ui.window.main_window import MainWindow, window_settings
    from mailclient.workers.mail import MailWorkers

    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("mailclient")
    # Ties the window to its desktop entry (Wayland app id, taskbar icon and grouping).
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    accounts = services.accounts.accounts()
    store = MailStore.open(services.profile.store_path)
    # Held open from here on: workers that find it damaged report it, not move it away.
    hold_open()
    mail = MailWorkers(accounts, services.sign_in, services.profile.store_path)
    window = MainWindow(accounts, store, mail, window_settings(services.profile.root))
    # attach_writing() comes after the first paint; its Outbox entry is listed from the start.
    window.folder_model.show_outbox()
    if store.rescue is not None:
        window.error_bar.show_error(ShownError(store.rescue.message(), key="store-rescue"))

    def surround() -> None:
        from mailclient.app.desktop import Desktop

        # What the first message is shown in, so that it shows as fast as the next.
        window.reading_pane.build()
        Desktop(window, services, mail, store)
        attach_writing(services, window)
        if owns_process:
            # What start-up made (modules, classes, the window's widgets) lives as long as
            # the process: once its garbage is collected, it is left out of the collector's
            # full passes, which took 15-30 ms, long enough to drop a frame of scrolling.
            gc.collect()
            gc.freeze()
            gc.enable()

    if then is None:
        surround()
        window.show()
    else:
        window.show()
        # The list, or the welcome page of a profile without accounts.
        page = window.pages.currentWidget()
        first = window.message_view.viewport() if page is window.mail_page else page
        assert first is not None

        def surround_then() -> None:
            surround()
            # On a turn of its own: surround() may have run for a key that waits to be
            # handled, and then() may open a dialog (drafts a crash left behind).
            QTimer.singleShot(0, then)

        after_first_paint(first, surround_then)
    return app, window, store


# What a person does to the application: a key, a click, the wheel, a drop.
INPUT_EVENTS = frozenset(
    {
        QEvent.Type.ShortcutOverride,
        QEvent.Type.KeyPress,
        QEvent.Type.InputMethod,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.NonClientAreaMouseButtonPress,
        QEvent.Type.Wheel,
        QEvent.Type.ContextMenu,
        QEvent.Type.TouchBegin,
        QEvent.Type.TabletPress,
        QEvent.Type.DragEnter,
    }
)


class _FirstPaint(QObject):
    """Calls back once: on the turn of the event loop after ``widget`` first painted, or
    before the application handles an input that comes sooner."""

    def __init__(self, widget: QWidget, callback: Callable[[], object]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._callback: Callable[[], object] | None = callback
        self._application: QCoreApplication | None = None
        widget.installEventFilter(self)
        # A window that starts minimized or on another desktop may not paint for a while.
        QTimer.singleShot(PAINT_WAIT_MS, self, self._run)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._callback is None:
            return False
        kind = event.type()
        if kind in INPUT_EVENTS:
            self._run()
        elif kind == QEvent.Type.Paint and watched is self._widget and self._application is None:
            # On screen from now on: a key or a click may be handled before the next turn.
            # Input goes to whichever widget has the focus or the mouse, so it is watched
            # application-wide, but only from here: a filter on every event slowed the
            # first paint by a tenth.
            self._application = QCoreApplication.instance()
            if self._application is not None:
                self._application.installEventFilter(self)
            QTimer.singleShot(0, self, self._run)
        return False

    def _run(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            self._widget.removeEventFilter(self)
            if self._application is not None:
                self._application.removeEventFilter(self)
            self.deleteLater()
            callback()


def after_first_paint(widget: QWidget, callback: Callable[[], object]) -> None:
    """Run ``callback`` once ``widget`` painted (at the latest after PAINT_WAIT_MS), and
    before the application handles a key or a click that comes once it painted: the
    actions, menu entries and dialogs ``callback`` builds are there for the first one (a
    shortcut pressed as the window appears is not lost)."""
    _FirstPaint(widget, callback)


def run_gui(services: Services, arguments: list[str] | None = None) -> int:
    # What a running application needs and open_window() does not: not imported with this
    # module, whose import the first paint of the list waits for.
    from mailclient.app.single_instance import SingleInstance
    from mailclient.ui.window.diagnostics import CrashReporter, route_qt_messages

    arguments = list(arguments or [])
    instance = SingleInstance(services.profile.root)
    if not instance.claim():
        # A window of this profile is running: it takes over, no second copy of the store.
        instance.send(arguments)
        return 0
    # Before the QApplication, so that what Qt says while starting is in the log too.
    restore_qt_messages = route_qt_messages()
    # Before anything reads the accounts or the store: a rename killed half-way is
    # finished or undone (a keyring call, made before any window exists to freeze).
    services.finish_account_rename()

    def started() -> None:
        from mailclient.app.desktop import Desktop

        compose = window.compose
        assert compose is not None
        instance.listen()
        instance.arguments_received.connect(lambda received: open_arguments(window, received))
        # Drafts a crash left behind are offered before anything new is opened.
        compose.offer_recovered(window)
        if arguments:
            open_arguments(window, arguments)
        # Cached mail is on screen first; the network starts on the next turn of the loop.
        QTimer.singleShot(0, window.start)
        QTimer.singleShot(0, Desktop.of(window).start)
        QTimer.singleShot(0, compose.outbox.start)

    from mailclient.store.db import StoreError

    try:
        app, window, store = open_window(services, then=started)
    except StoreError as error:
        # Started from a desktop, nobody reads the terminal: say it in a window too.
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, APP_NAME, str(error))
        raise
    reporter = CrashReporter(window)
    try:
        return app.exec()
    finally:
        reporter.uninstall()
        if window.compose is not None:
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.unsetUrlHandler("mailto")
            window.compose.outbox.stop()
        # Web pages must be gone before the application (which owns their profile) is.
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        from mailclient.workers.tasks import wait_for_tasks

        wait_for_tasks()
        store.close()
        restore_qt_messages()


def open_arguments(window: MainWindow, arguments: list[str]) -> None:
    """Bring the window to the front for what a start was given; a mailto: URL opens a
    compose window filled from it, a message file (an absolute path) a message window."""
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
    for argument in arguments:
        log.info("Asked to open %s", argument)
        if argument.lower().startswith("mailto:"):
            if window.compose is not None:
                window.compose.open_mailto(argument, window)
        elif os.path.isabs(argument):
            window.open_message_file(Path(argument))
