"""An address field: each recipient a chip of its own, completion from the store.

Typing a separator (a comma or semicolon outside quotes), choosing a completion or leaving
the field turns what was typed into chips; a chip that is not an address is marked on its
own (a warning sign, a red frame, the reason as tooltip and in its accessible name).
Backspace in the empty entry takes the last chip back into it for editing; a double click
does the same for any chip, and its close button removes it. The rule of what an item is lives in
mailclient.mime.recipients, shared with the command line.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QMargins,
    QObject,
    QPoint,
    QRect,
    QSize,
    QStringListModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFocusEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QWidget,
    QWidgetItem,
)

from mailclient.core.errors import InvalidInput
from mailclient.mime.compose import check_recipients
from mailclient.mime.recipients import current_item_start, split_recipients
from mailclient.mime.writing import recipients_problem

# Completing from the first letter floods the list; two letters narrow it usefully.
MIN_COMPLETION_PREFIX = 2
MAX_VISIBLE_COMPLETIONS = 8
INVALID_SIGN = "\u26a0"  # ⚠: not colour alone says that a chip is wrong
FIELD_STYLE = (
    "AddressEdit { border: 1px solid palette(mid); border-radius: 3px; background: palette(base); }"
)
CHIP_STYLE = (
    "Chip { border: 1px solid palette(mid); border-radius: 9px; background: palette(button); }"
)
INVALID_CHIP_STYLE = (
    "Chip { border: 1px solid #c62828; border-radius: 9px; background: #fdecea; }"
    "Chip QLabel, Chip QToolButton { color: #8e0000; }"
)


def completion_model(texts: list[str], parent: QObject | None = None) -> QStringListModel:
    """The completions shown in address fields ("Name <address>"), best first."""
    return QStringListModel(texts, parent)


class FlowLayout(QLayout):
    """Lays its items out left to right, wrapping to a new line when the width runs out."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setSpacing(spacing)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def insert_widget(self, index: int, widget: QWidget) -> None:
        self.addChildWidget(widget)
        self._items.insert(index, QWidgetItem(widget))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, move: bool) -> int:
        margins = self.contentsMargins()
        area = rect.marginsRemoved(QMargins(margins))
        x, y, line_height = area.x(), area.y(), 0
        last = len(self._items) - 1
        for index, item in enumerate(self._items):
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and x > area.x():
                x, y, line_height = area.x(), y + line_height + self.spacing(), 0
            width = hint.width()
            if index == last:  # the entry takes the rest of its line
                width = max(area.right() + 1 - x, hint.width())
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self.spacing()
            line_height = max(line_height, hint.height())
        return y + line_height - rect.y() + margins.bottom()


class Chip(QFrame):
    """One recipient: its text, and a button that removes it."""

    removed = Signal(QWidget)
    edit_requested = Signal(QWidget)

    def __init__(self, text: str, problem: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = text
        self.problem = problem
        self.setObjectName("recipientChip")
        self.setProperty("invalid", bool(problem))
        self.setStyleSheet(INVALID_CHIP_STYLE if problem else CHIP_STYLE)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 1, 2, 1)
        layout.setSpacing(2)
        self.label = QLabel(f"{INVALID_SIGN} {text}" if problem else text, self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.label)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("\u00d7")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove_button.setAccessibleName(f"Remove {text}")
        self.remove_button.clicked.connect(lambda: self.removed.emit(self))
        layout.addWidget(self.remove_button)
        self.setToolTip(problem or text)
        self.setAccessibleName(f"Not an address: {text}" if problem else f"Recipient {text}")
        self.setAccessibleDescription(problem)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.selected = False

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        base = INVALID_CHIP_STYLE if self.problem else CHIP_STYLE
        self.setStyleSheet(base + ("Chip { background: palette(highlight); }" if selected else ""))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.edit_requested.emit(self)


class _Entry(QLineEdit):
    """The line where the next recipient is typed."""

    def __init__(self, field: AddressEdit) -> None:
        super().__init__(field)
        self._field = field
        self.setFrame(False)
        self.setMinimumWidth(120)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._field.completer_popup_visible() and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Escape,
            Qt.Key.Key_Tab,
            Qt.Key.Key_Backtab,
        ):
            # The popup's own handling (choose, close) takes these keys.
            event.ignore()
            return
        if (
            event.key() == Qt.Key.Key_Backspace
            and self.cursorPosition() == 0
            and not self.hasSelectedText()
            and self._field.take_back_last()
        ):
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        # Tab with the popup open chooses the highlighted person instead of moving on.
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Tab
            and self._field.completer_popup_visible()
        ):
            index = self._field.completion_popup().currentIndex()
            if index.isValid():
                self._field.completion_popup().hide()
                self._field.insert_completion(str(index.data()))
                return True
        return super().event(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        if not self._field.completer_popup_visible():
            self._field.commit()


class AddressEdit(QFrame):
    """Several recipients, each a chip; typing, completion and checks as described above."""

    validity_changed = Signal(bool)
    changed = Signal()

    def __init__(self, field: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.setAccessibleName(field)
        self.setStyleSheet(FIELD_STYLE)
        self._problem = ""
        self._forwarding = False
        self._chips: list[Chip] = []
        self._layout = FlowLayout(self)
        self._layout.setContentsMargins(3, 3, 3, 3)
        self.editor = _Entry(self)
        self.editor.setObjectName(f"{field.lower()}Entry")
        self.editor.setAccessibleName(f"{field}: type an address")
        self._layout.addWidget(self.editor)
        self.setFocusProxy(self.editor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._completer = QCompleter(self)
        self._completer.setWidget(self.editor)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self._completer.setMaxVisibleItems(MAX_VISIBLE_COMPLETIONS)
        self._completer.activated[str].connect(self.insert_completion)  # type: ignore[index]
        self.editor.textEdited.connect(self._text_edited)

    # -- the text as a whole ----------------------------------------------------------------

    def text(self) -> str:
        """Every recipient, chips and what is being typed, separated by ", "."""
        typed = self.editor.text().strip()
        return ", ".join([chip.text for chip in self._chips] + ([typed] if typed else []))

    def setText(self, text: str) -> None:
        self._clear_chips()
        self.editor.clear()
        self._add_chips(split_recipients(text))
        self._after_change()

    def clear(self) -> None:
        self.setText("")

    def setPlaceholderText(self, text: str) -> None:
        self.editor.setPlaceholderText(text)

    def selectAll(self) -> None:
        """Select every recipient: what is typed next replaces them all."""
        for chip in self._chips:
            chip.set_selected(True)
        self.editor.selectAll()

    def addresses(self) -> str:
        """The recipients, one ", " between each, without empty items or a dangling comma."""
        return ", ".join(split_recipients(self.text()))

    def chips(self) -> list[Chip]:
        return list(self._chips)

    def hasFocus(self) -> bool:
        return self.editor.hasFocus()

    def event(self, event: QEvent) -> bool:
        # Keys sent to the field itself (by tests, or accessibility tools) go to the entry,
        # Tab included (which would otherwise move the focus from here).
        # A key the entry ignores comes back up here: then it goes on to our parent.
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and not self._forwarding:
            self._forwarding = True
            try:
                return QApplication.sendEvent(self.editor, event)
            finally:
                self._forwarding = False
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.editor.setFocus(Qt.FocusReason.MouseFocusReason)

    # -- chips ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Turn everything typed into chips (on leaving the field)."""
        typed = self.editor.text()
        if typed.strip():
            self.editor.clear()
            self._add_chips(split_recipients(typed))
            self._after_change()
        self.validate()

    def take_back_last(self) -> bool:
        """Put the last chip's text back into the entry for editing; False if there is none."""
        if not self._chips:
            return False
        self._edit_chip(self._chips[-1])
        return True

    def _add_chips(self, items: list[str]) -> None:
        problems = self._problems(items)
        for item in items:
            chip = Chip(item, problems.get(item, ""), self)
            chip.removed.connect(self._remove_chip)
            chip.edit_requested.connect(self._edit_chip)
            self._layout.insert_widget(len(self._chips), chip)
            self._chips.append(chip)
            chip.show()

    def _problems(self, items: list[str]) -> dict[str, str]:
        try:
            checked = check_recipients(self.field, ", ".join(items))
        except InvalidInput as error:
            return dict.fromkeys(items, str(error))
        return {item.text: f"{self.field}: {item.problem}" for item in checked if item.problem}

    def _remove_chip(self, chip: QWidget) -> None:
        if chip in self._chips:
            self._chips.remove(chip)
            self._layout.removeWidget(chip)
            chip.deleteLater()
            self._after_change()

    def _edit_chip(self, chip: QWidget) -> None:
        assert isinstance(chip, Chip)
        typed = self.editor.text().strip()
        self._remove_chip(chip)
        if typed:
            self._add_chips(split_recipients(typed))
        self.editor.setText(chip.text)
        self.editor.setFocus()
        self._after_change()

    def _clear_chips(self) -> None:
        for chip in self._chips:
            self._layout.removeWidget(chip)
            chip.deleteLater()
        self._chips.clear()

    def _after_change(self) -> None:
        self.updateGeometry()
        if self._problem or any(chip.problem for chip in self._chips):
            self.validate()
        self.changed.emit()

    # -- typing and completion --------------------------------------------------------------

    def set_completion_model(self, model: QAbstractItemModel) -> None:
        self._completer.setModel(model)

    def completion_popup(self) -> QAbstractItemView:
        popup = self._completer.popup()
        assert popup is not None  # a QCompleter makes its popup when first asked
        return popup

    def completer_popup_visible(self) -> bool:
        return bool(self.completion_popup().isVisible())

    def _text_edited(self, text: str) -> None:
        selected = [chip for chip in self._chips if chip.selected]
        for chip in selected:  # typing over "select all" replaces the chips
            self._remove_chip(chip)
        start = current_item_start(text)
        if start:  # a separator was typed: what is before it is complete
            self._add_chips(split_recipients(text[:start]))
            self.editor.setText(text[start:].lstrip())
            self._after_change()
        elif text != text.lstrip():  # the space after a separator starts nothing
            self.editor.setText(text.lstrip())
        elif self._problem:
            self.validate()
        entry = self.editor.text().strip()
        if len(entry) < MIN_COMPLETION_PREFIX or self._completer.model() is None:
            self.completion_popup().hide()
            return
        self._completer.setCompletionPrefix(entry)
        if self._completer.completionCount() == 0:
            self.completion_popup().hide()
            return
        self.completion_popup().setCurrentIndex(self._completer.completionModel().index(0, 0))
        self._completer.complete(self.editor.rect())

    def insert_completion(self, completion: str) -> None:
        """The chosen person becomes a chip; the entry is free for the next."""
        self.editor.clear()
        self._add_chips([completion])
        self._after_change()

    # -- validation -------------------------------------------------------------------------

    def problem(self) -> str:
        """Why the field does not hold valid addresses ("" when it does, or is empty).

        Each bad item is named by itself, not the whole field."""
        return recipients_problem(self.field, self.text())

    def go_to_problem(self) -> None:
        """Take the first item that is not an address back into the entry, to fix it."""
        self.commit()
        bad = next((chip for chip in self._chips if chip.problem), None)
        if bad is not None:
            self._edit_chip(bad)

    def validate(self) -> bool:
        """Check the field now and show the result; True when it is fine."""
        problem = self.problem()
        if problem != self._problem:
            # The bad chips are marked; the field around them stays as it is.
            self._problem = problem
            self.setToolTip(problem)
            self.setProperty("invalid", bool(problem))
            self.validity_changed.emit(not problem)
        return not problem

    def is_marked_invalid(self) -> bool:
        return bool(self._problem)
