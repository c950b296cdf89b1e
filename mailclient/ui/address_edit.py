"""An address field: several addresses, completion from the store, invalid ones marked."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, QStringListModel, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QLineEdit, QWidget

from mailclient.core.errors import InvalidInput
from mailclient.mime.compose import check_recipients
from mailclient.mime.recipients import current_item_start, next_item_start, split_recipients

INVALID_STYLE = "QLineEdit { border: 1px solid #c62828; background: #fff3f3; }"
# Completing from the first letter floods the list; two letters narrow it usefully.
MIN_COMPLETION_PREFIX = 2
MAX_VISIBLE_COMPLETIONS = 8


def completion_model(texts: list[str], parent: QObject | None = None) -> QStringListModel:
    """The completions shown in address fields ("Name <address>"), best first."""
    return QStringListModel(texts, parent)


class AddressEdit(QLineEdit):
    """A line of comma-separated addresses.

    Typing two letters of a name or address offers people from the store; choosing one
    replaces the address being typed and adds ", " for the next. An entry that is not an
    address is marked (red frame, the reason as tooltip) once the field is left, and the
    mark goes as soon as it is fixed.
    """

    validity_changed = Signal(bool)

    def __init__(self, field: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.setAccessibleName(field)
        self._problem = ""
        self._completer = QCompleter(self)
        self._completer.setWidget(self)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self._completer.setMaxVisibleItems(MAX_VISIBLE_COMPLETIONS)
        self._completer.activated[str].connect(self._insert_completion)  # type: ignore[index]
        self.textEdited.connect(self._text_edited)

    # -- completion -------------------------------------------------------------------------

    def set_completion_model(self, model: QAbstractItemModel) -> None:
        self._completer.setModel(model)

    def completion_popup(self) -> QAbstractItemView:
        return self._completer.popup()

    def completer_popup_visible(self) -> bool:
        return bool(self._completer.popup().isVisible())

    def _current_entry(self) -> str:
        before = self.text()[: self.cursorPosition()]
        return before[current_item_start(before) :].strip()

    def _text_edited(self, text: str) -> None:
        if self._problem:
            self.validate()
        entry = self._current_entry()
        if len(entry) < MIN_COMPLETION_PREFIX or self._completer.model() is None:
            self._completer.popup().hide()
            return
        self._completer.setCompletionPrefix(entry)
        if self._completer.completionCount() == 0:
            self._completer.popup().hide()
            return
        self._completer.popup().setCurrentIndex(self._completer.completionModel().index(0, 0))
        rect = self.rect()
        self._completer.complete(rect)

    def _insert_completion(self, completion: str) -> None:
        text, position = self.text(), self.cursorPosition()
        before, after = text[:position], text[position:]
        start = current_item_start(before)
        head = before[:start].rstrip() + " " if start else ""
        # Whatever was left of the entry after the cursor belongs to it, up to its separator.
        rest = after[next_item_start(after) :].lstrip()
        new = f"{head}{completion}, "
        self.setText(new + rest)
        self.setCursorPosition(len(new))
        if self._problem:
            self.validate()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.completer_popup_visible() and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
        ):
            # The popup's own handling (choose, close) takes these keys.
            event.ignore()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        # Tab with the popup open chooses the highlighted person instead of moving on.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and self.completer_popup_visible()
        ):
            index = self._completer.popup().currentIndex()
            if index.isValid():
                self._completer.popup().hide()
                self._insert_completion(str(index.data()))
                return True
        return super().event(event)

    # -- validation -------------------------------------------------------------------------

    def problem(self) -> str:
        """Why the field does not hold valid addresses ("" when it does, or is empty).

        Each bad item is named by itself, not the whole field."""
        try:
            bad = [item for item in check_recipients(self.field, self.text()) if not item.valid]
        except InvalidInput as error:
            return str(error)
        if not bad:
            return ""
        if len(bad) == 1:
            return f"{self.field}: {bad[0].problem}"
        names = ", ".join(repr(item.text) for item in bad)
        return f"{self.field}: {names} are not addresses like ann@example.org"

    def go_to_problem(self) -> None:
        """Put the cursor at the end of the first item that is not an address, to fix it."""
        try:
            items = check_recipients(self.field, self.text())
        except InvalidInput:
            return
        for item in items:
            if not item.valid:
                start = self.text().find(item.text)
                if start >= 0:
                    self.setCursorPosition(start + len(item.text))
                return

    def validate(self) -> bool:
        """Check the field now and show the result; True when it is fine."""
        problem = self.problem()
        if problem != self._problem:
            self._problem = problem
            self.setStyleSheet(INVALID_STYLE if problem else "")
            self.setToolTip(problem)
            self.setProperty("invalid", bool(problem))
            self.validity_changed.emit(not problem)
        return not problem

    def is_marked_invalid(self) -> bool:
        return bool(self._problem)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if not self.completer_popup_visible():
            self.validate()

    def addresses(self) -> str:
        """The recipients, one ", " between each, without empty items or a dangling comma."""
        return ", ".join(split_recipients(self.text()))
