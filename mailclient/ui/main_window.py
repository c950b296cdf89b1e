"""The main window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget

from mailclient import APP_NAME
from mailclient.accounts.model import Account

ADD_ACCOUNT_HINT = (
    "To add one, run:\n\n"
    "mailclient account add NAME --email you@example.org --imap-host imap.example.org "
    "--password-stdin"
)


class MainWindow(QMainWindow):
    def __init__(self, accounts: list[Account]) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self.resize(1100, 700)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(APP_NAME, central)
        title.setObjectName("appTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        if accounts:
            text = "Accounts: " + ", ".join(f"{a.name} ({a.email})" for a in accounts)
            hint = ""
        else:
            text = "No accounts yet."
            hint = ADD_ACCOUNT_HINT
        self.status_label = QLabel(text, central)
        self.status_label.setObjectName("accountsLabel")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.status_label)
        self.hint_label = QLabel(hint, central)
        self.hint_label.setObjectName("addAccountHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint_label.setVisible(bool(hint))
        layout.addWidget(self.hint_label)
        self.setCentralWidget(central)
