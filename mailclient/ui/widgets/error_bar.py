"""A non-modal bar for errors the user can act on: a sentence, Retry, and Dismiss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


@dataclass(frozen=True)
class ShownError:
    message: str
    retry: Callable[[], object] | None = None
    key: str = ""  # errors with the same key replace each other (one per account, say)


class ErrorBar(QFrame):
    """Shows the latest error; earlier ones wait behind it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBar")
        self.setAccessibleName("Error")
        self.setStyleSheet(
            "#errorBar { background: #fde7e9; border-bottom: 1px solid #e3a1a8; }"
            "#errorBar QLabel { color: #5c1119; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 6, 4)
        self.label = QLabel(self)
        self.label.setObjectName("errorText")
        # Errors quote servers and folder names: shown as they are, never as HTML.
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.retry_button = QPushButton("&Retry", self)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.clicked.connect(self._retry)
        layout.addWidget(self.retry_button)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("dismissError")
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAccessibleName("Dismiss error")
        self.close_button.setAutoRaise(True)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button)
        self._errors: list[ShownError] = []
        self.hide()

    def show_error(self, error: ShownError) -> None:
        if error.key:
            self._errors = [e for e in self._errors if e.key != error.key]
        self._errors.append(error)
        self._update()

    def clear_key(self, key: str) -> None:
        """Forget errors with ``key`` (the account works again)."""
        self._errors = [e for e in self._errors if e.key != key]
        self._update()

    def dismiss(self) -> None:
        if self._errors:
            self._errors.pop()
        self._update()

    def errors(self) -> list[ShownError]:
        return list(self._errors)

    def _retry(self) -> None:
        if not self._errors:
            return
        error = self._errors.pop()
        self._update()
        if error.retry is not None:
            error.retry()

    def _update(self) -> None:
        if not self._errors:
            self.hide()
            return
        current = self._errors[-1]
        more = len(self._errors) - 1
        suffix = f"  ({more} more)" if more else ""
        self.label.setText(current.message + suffix)
        self.retry_button.setVisible(current.retry is not None)
        self.show()
