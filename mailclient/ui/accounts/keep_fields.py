"""The account setting "Keep messages on this computer", for the account form.

On (the default), the bodies of the account's messages are downloaded in the background
after the headers, newest first, so that they can be read offline and found by search:
those of the last N days or all, each up to a size. Off, a body is fetched when opened.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from mailclient.accounts.model import (
    DEFAULT_KEEP_DAYS,
    DEFAULT_KEEP_MAX_MB,
    MAX_KEEP_DAYS,
    MAX_KEEP_MAX_MB,
    Account,
)

_LAST_DAYS, _ALL = 0, 1


class KeepFields(QGroupBox):
    """A checkbox, "the last N days" or "all", and the largest message kept."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Offline", parent)
        self.setObjectName("keepMessages")
        form = QFormLayout(self)
        self.keep = QCheckBox("&Keep messages on this computer", self)
        self.keep.setObjectName("keepMessagesOn")
        self.keep.setToolTip(
            "Download the messages in the background, newest first, to read them offline "
            "and find them by any word. Off: a message is downloaded when you open it."
        )
        form.addRow(self.keep)
        self.span = QComboBox(self)
        self.span.setObjectName("keepSpan")
        self.span.addItem("of the last", _LAST_DAYS)
        self.span.addItem("all of them", _ALL)
        self.days = QSpinBox(self)
        self.days.setObjectName("keepDays")
        self.days.setRange(1, MAX_KEEP_DAYS)
        self.days.setSuffix(" days")
        self.days.setValue(DEFAULT_KEEP_DAYS)
        span_row = QHBoxLayout()
        span_row.addWidget(self.span)
        span_row.addWidget(self.days)
        span_row.addStretch(1)
        self.span_label = QLabel("&Messages:", self)
        self.span_label.setBuddy(self.span)
        form.addRow(self.span_label, span_row)
        self.max_mb = QSpinBox(self)
        self.max_mb.setObjectName("keepMaxSize")
        self.max_mb.setRange(1, MAX_KEEP_MAX_MB)
        self.max_mb.setSuffix(" MB")
        self.max_mb.setValue(DEFAULT_KEEP_MAX_MB)
        self.max_label = QLabel("Each &up to:", self)
        self.max_label.setBuddy(self.max_mb)
        size_row = QHBoxLayout()
        size_row.addWidget(self.max_mb)
        size_note = QLabel("bigger ones are downloaded when you open them", self)
        size_note.setStyleSheet("color: #666;")
        size_row.addWidget(size_note)
        size_row.addStretch(1)
        form.addRow(self.max_label, size_row)
        self.keep.toggled.connect(self._changed)
        self.span.currentIndexChanged.connect(self._changed)
        self.days.valueChanged.connect(self._changed)
        self.max_mb.valueChanged.connect(self._changed)
        self._follow()

    def _changed(self) -> None:
        self._follow()
        self.edited.emit()

    def _follow(self) -> None:
        on = self.keep.isChecked()
        for widget in (self.span, self.span_label, self.max_mb, self.max_label):
            widget.setEnabled(on)
        self.days.setEnabled(on and self.span.currentData() == _LAST_DAYS)

    def set_account(self, account: Account) -> None:
        for widget in (self.keep, self.span, self.days, self.max_mb):
            widget.blockSignals(True)
        self.keep.setChecked(account.keep_messages)
        self.span.setCurrentIndex(_ALL if account.keep_days is None else _LAST_DAYS)
        self.days.setValue(account.keep_days or DEFAULT_KEEP_DAYS)
        self.max_mb.setValue(account.keep_max_mb)
        for widget in (self.keep, self.span, self.days, self.max_mb):
            widget.blockSignals(False)
        self._follow()

    def applied(self, account: Account) -> Account:
        """``account`` with the setting as the fields show it."""
        return replace(
            account,
            keep_messages=self.keep.isChecked(),
            keep_days=None if self.span.currentData() == _ALL else self.days.value(),
            keep_max_mb=self.max_mb.value(),
        )
