"""The Send Later dialog: a few quick choices, or any date and time."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.schedule import quick_times


class SendLaterDialog(QDialog):
    """Asks when to send; ``chosen()`` is that time once the dialog was accepted."""

    def __init__(self, now: datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sendLaterDialog")
        self.setWindowTitle("Send Later")
        self._now = now.astimezone()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("When should the message be sent?", self))
        self.quick_buttons: list[QPushButton] = []
        for label, when in quick_times(self._now):
            button = QPushButton(label, self)
            button.clicked.connect(lambda _=False, when=when: self._choose(when))
            layout.addWidget(button)
            self.quick_buttons.append(button)
        other = QLabel("&Or at:", self)
        layout.addWidget(other)
        self.when_edit = QDateTimeEdit(self)
        self.when_edit.setObjectName("sendAt")
        self.when_edit.setAccessibleName("Send at")
        self.when_edit.setCalendarPopup(True)
        self.when_edit.setDisplayFormat("ddd d MMM yyyy, HH:mm")
        self.when_edit.setMinimumDateTime(_qt_time(self._now).addSecs(60))
        self.when_edit.setDateTime(_qt_time(quick_times(self._now)[1][1]))
        other.setBuddy(self.when_edit)
        layout.addWidget(self.when_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Schedule")
        buttons.accepted.connect(lambda: self._choose(self._edited()))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._chosen: datetime | None = None

    def _edited(self) -> datetime:
        return datetime.fromtimestamp(
            self.when_edit.dateTime().toMSecsSinceEpoch() / 1000
        ).astimezone()

    def _choose(self, when: datetime) -> None:
        self._chosen = when
        self.accept()

    def chosen(self) -> datetime | None:
        return self._chosen


def _qt_time(moment: datetime) -> QDateTime:
    return QDateTime.fromMSecsSinceEpoch(round(moment.timestamp() * 1000))
