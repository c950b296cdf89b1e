"""The first-run page: no accounts yet, and how to add one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from mailclient import APP_NAME


class WelcomePage(QWidget):
    """What a first run shows: no accounts yet, and how to add one."""

    add_account_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(f"Welcome to {APP_NAME}", self)
        title.setObjectName("appTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.status_label = QLabel("No accounts yet.", self)
        self.status_label.setObjectName("accountsLabel")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.status_label)
        self.add_button = QPushButton("&Add account…", self)
        self.add_button.setObjectName("addAccountButton")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_account_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addSpacing(12)
        layout.addLayout(row)
