"""Starting the window: the QApplication and the main window of one profile."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from mailclient import APP_NAME
from mailclient.app.services import Services
from mailclient.ui.main_window import MainWindow


def run_gui(services: Services, url: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("mailclient")
    window = MainWindow(services.accounts.accounts())
    window.show()
    return app.exec()
