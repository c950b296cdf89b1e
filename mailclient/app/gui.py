"""Starting the window: the QApplication and the main window of one profile."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from mailclient import APP_ID, APP_NAME
from mailclient.app.services import Services
from mailclient.app.single_instance import SingleInstance
from mailclient.ui.icons import app_icon
from mailclient.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def run_gui(services: Services, url: str | None = None) -> int:
    arguments = [url] if url else []
    instance = SingleInstance(services.profile.root)
    if not instance.claim():
        # A window of this profile is running: it takes over, no second copy of the store.
        instance.send(arguments)
        return 0
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("mailclient")
    # Ties the window to its desktop entry (Wayland app id, taskbar icon and grouping).
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    instance.listen()
    window = MainWindow(services.accounts.accounts())
    instance.arguments_received.connect(lambda received: open_arguments(window, received))
    window.show()
    if arguments:
        open_arguments(window, arguments)
    return app.exec()


def open_arguments(window: QWidget, arguments: list[str]) -> None:
    """Bring the window to the front for what a start was given (a mailto: URL or nothing).

    The compose window that a mailto: URL opens comes with issue 6.
    """
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()
    for argument in arguments:
        log.info("Asked to open %s", argument)
