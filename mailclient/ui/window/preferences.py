"""The Preferences dialog: reading, new mail and checking, in one place.

It edits a Preferences value and hands the result over with ``preferences_chosen``; the
caller applies it to the window and the workers and writes it to the profile (off the GUI
thread).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.preferences import (
    MAX_CHECK_MINUTES,
    MAX_MARK_READ_DELAY_MS,
    MIN_CHECK_MINUTES,
    NEVER,
    UNDO_SEND_CHOICES,
    Preferences,
)

IMMEDIATELY, AFTER_DELAY, NOT_BY_ITSELF = range(3)


class SettingsDialog(QDialog):
    """Edits ``preferences``; OK emits ``preferences_chosen`` with the edited value."""

    preferences_chosen = Signal(Preferences)

    def __init__(
        self, preferences: Preferences, tray_available: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(520)
        self._original = preferences

        reading = QGroupBox("Reading", self)
        self.mark_read = QComboBox(reading)
        self.mark_read.setObjectName("markRead")
        self.mark_read.addItems(["Immediately", "After a delay", "Never (M marks them read)"])
        self.mark_read_seconds = QSpinBox(reading)
        self.mark_read_seconds.setObjectName("markReadSeconds")
        self.mark_read_seconds.setRange(1, MAX_MARK_READ_DELAY_MS // 1000)
        self.mark_read_seconds.setSuffix(" s")
        self.mark_read_seconds.setAccessibleName("Delay before marking read")
        self.mark_read.currentIndexChanged.connect(self._mark_read_mode_changed)
        mark_row = QHBoxLayout()
        mark_row.addWidget(self.mark_read, 1)
        mark_row.addWidget(self.mark_read_seconds)
        self.prefer_plain = QCheckBox(
            "Show the &plain text of messages that also have HTML", reading
        )
        self.prefer_plain.setObjectName("preferPlain")
        reading_form = QFormLayout(reading)
        # A row whose field is a layout gets no buddy by itself: the mnemonic needs one.
        mark_label = QLabel("&Mark shown messages read:", reading)
        mark_label.setBuddy(self.mark_read)
        reading_form.addRow(mark_label, mark_row)
        reading_form.addRow(self.prefer_plain)

        arriving = QGroupBox("New mail", self)
        self.notify = QCheckBox("Show a &notification when new mail arrives in an inbox", arriving)
        self.notify.setObjectName("notifyNewMail")
        self.tray = QCheckBox("Show the number of unread messages in the system &tray", arriving)
        self.tray.setObjectName("trayIcon")
        self.tray_note = QLabel("This desktop has no system tray.", arriving)
        self.tray_note.setObjectName("trayNote")
        self.tray_note.setStyleSheet("color: palette(placeholder-text);")
        self.tray_note.setVisible(not tray_available)
        self.check_minutes = QSpinBox(arriving)
        self.check_minutes.setObjectName("checkMinutes")
        self.check_minutes.setRange(MIN_CHECK_MINUTES, MAX_CHECK_MINUTES)
        self.check_minutes.setSuffix(" min")
        check_help = QLabel(
            "Inboxes are watched all the time; the other folders are checked this often.",
            arriving,
        )
        check_help.setWordWrap(True)
        check_help.setStyleSheet("color: palette(placeholder-text);")
        arriving_form = QFormLayout(arriving)
        arriving_form.addRow(self.notify)
        arriving_form.addRow(self.tray)
        arriving_form.addRow(self.tray_note)
        arriving_form.addRow("&Check other folders every:", self.check_minutes)
        arriving_form.addRow(check_help)
        writing = QGroupBox("Writing", self)
        self.undo_send = QComboBox(writing)
        self.undo_send.setObjectName("undoSend")
        for seconds in UNDO_SEND_CHOICES:
            self.undo_send.addItem(f"{seconds} seconds" if seconds else "Off", seconds)
        undo_help = QLabel(
            "A sent message waits this long in the Outbox, while Undo can take it back.",
            writing,
        )
        undo_help.setWordWrap(True)
        undo_help.setStyleSheet("color: palette(placeholder-text);")
        writing_form = QFormLayout(writing)
        writing_form.addRow("&Undo send for:", self.undo_send)
        writing_form.addRow(undo_help)
        for form in (reading_form, arriving_form, writing_form):
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(reading)
        layout.addWidget(arriving)
        layout.addWidget(writing)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.show_preferences(preferences)

    def show_preferences(self, preferences: Preferences) -> None:
        delay = preferences.mark_read_delay_ms
        if delay == NEVER:
            self.mark_read.setCurrentIndex(NOT_BY_ITSELF)
        elif delay == 0:
            self.mark_read.setCurrentIndex(IMMEDIATELY)
        else:
            self.mark_read.setCurrentIndex(AFTER_DELAY)
        self.mark_read_seconds.setValue(max(1, round(delay / 1000)) if delay > 0 else 2)
        self._mark_read_mode_changed()
        self.prefer_plain.setChecked(preferences.prefer_plain_text)
        self.notify.setChecked(preferences.notify_new_mail)
        self.tray.setChecked(preferences.tray_icon)
        self.check_minutes.setValue(preferences.check_interval_minutes)
        self.undo_send.setCurrentIndex(UNDO_SEND_CHOICES.index(preferences.undo_send_seconds))

    def preferences(self) -> Preferences:
        """What the dialog shows now."""
        mode = self.mark_read.currentIndex()
        if mode == NOT_BY_ITSELF:
            delay = NEVER
        elif mode == IMMEDIATELY:
            delay = 0
        else:
            delay = self.mark_read_seconds.value() * 1000
        return Preferences(
            mark_read_delay_ms=delay,
            prefer_plain_text=self.prefer_plain.isChecked(),
            notify_new_mail=self.notify.isChecked(),
            tray_icon=self.tray.isChecked(),
            check_interval_minutes=self.check_minutes.value(),
            undo_send_seconds=int(self.undo_send.currentData()),
        ).validated()

    def _mark_read_mode_changed(self) -> None:
        self.mark_read_seconds.setEnabled(self.mark_read.currentIndex() == AFTER_DELAY)

    def accept(self) -> None:
        chosen = self.preferences()
        if chosen != self._original:
            self.preferences_chosen.emit(chosen)
        super().accept()
