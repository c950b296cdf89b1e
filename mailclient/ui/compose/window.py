"""The compose window: write a message, reply or forward, with attachments; never lose a word.

Each window is its own top-level window holding one Draft. What is typed is handed out
as a Draft value (``autosave_requested`` every few seconds when it changed; Save; Send);
the window itself never touches the disk or the network, so it never waits. Checks run
before Send: every address valid, at least one recipient, the size against the server's
limit, and an attachment mentioned but missing. What they decide, and what counts as a
change, are rules without Qt in mime/writing.py; the From addresses in accounts/identities.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QFont,
    QKeySequence,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextListFormat,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QTextEdit,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.identities import Identity, identity_index
from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.core.units import human_size
from mailclient.mime.writing import (
    ConcernKind,
    attachment_size,
    clean_html,
    concerns,
    estimated_size,
    has_changes,
    link_target,
    only_sender_changed,
    over_limit,
    replaced_signature,
    size_warning,
    window_title,
    worth_autosaving,
)
from mailclient.ui.compose.address_edit import AddressEdit
from mailclient.ui.compose.send_later import SendLaterDialog
from mailclient.ui.compose.spelling import (
    OFF,
    SpellHighlighter,
    Spelling,
    language_name,
    words_to_check,
)
from mailclient.ui.widgets.icons import icon

AUTOSAVE_MS = 3000


def local_files(mime: QMimeData) -> list[Path]:
    """The local files of a drag (folders and remote URLs are left out)."""
    if not mime.hasUrls():
        return []
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if p.is_file()]


class BodyEdit(QTextEdit):
    """The body; files dropped on it become attachments instead of text."""

    files_dropped = Signal(list)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.files_dropped.emit(files)
            return
        if not self.acceptRichText():
            self.insertPlainText(source.text())
            return
        super().insertFromMimeData(source)


class AttachmentList(QWidget):
    """The attachments: name and size, a remove button each, and their total."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachments")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.list = QListWidget(self)
        self.list.setObjectName("attachmentList")
        self.list.setAccessibleName("Attachments")
        self.list.setFlow(QListWidget.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setSpacing(3)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.list.setFixedHeight(40)
        layout.addWidget(self.list)
        self.summary = QLabel(self)
        self.summary.setObjectName("attachmentSummary")
        layout.addWidget(self.summary)
        self._entries: list[tuple[Attachment, int]] = []
        remove = QAction("Remove Attachment", self.list)
        remove.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence("Backspace")]
        )
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected)
        self.list.addAction(remove)
        self.remove_action = remove
        self.setVisible(False)

    def attachments(self) -> tuple[Attachment, ...]:
        return tuple(a for a, _ in self._entries)

    def sizes(self) -> list[int]:
        return [s for _, s in self._entries]

    def total(self) -> int:
        return sum(self.sizes())

    def add(self, attachment: Attachment, size: int) -> None:
        self._entries.append((attachment, size))
        self._rebuild()

    def remove(self, row: int) -> None:
        if 0 <= row < len(self._entries):
            del self._entries[row]
            self._rebuild()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.list.selectedIndexes()}, reverse=True)
        for row in rows:
            del self._entries[row]
        if rows:
            self._rebuild()

    def _context_menu(self, position: QPoint) -> None:
        if not self.list.selectedIndexes():
            return
        menu = QMenu(self)
        menu.addAction(self.remove_action)
        menu.exec(self.list.viewport().mapToGlobal(position))

    def _rebuild(self) -> None:
        self.list.clear()
        for row, (attachment, size) in enumerate(self._entries):
            name = attachment.filename or (attachment.path.name if attachment.path else "")
            item = QListWidgetItem(self.list)
            item.setToolTip(str(attachment.path) if attachment.path else name)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{name}, {human_size(size)}")
            chip = QWidget()
            chip.setObjectName("attachmentChip")
            chip.setStyleSheet(
                "#attachmentChip { background: palette(alternate-base); border: 1px solid "
                "palette(mid); border-radius: 4px; }"
            )
            row_layout = QHBoxLayout(chip)
            row_layout.setContentsMargins(6, 2, 2, 2)
            row_layout.setSpacing(6)
            symbol = QLabel(chip)
            symbol.setPixmap(icon("attachment").pixmap(16, 16))
            row_layout.addWidget(symbol)
            label = QLabel(f"{name}  <span style='color: gray'>{human_size(size)}</span>", chip)
            label.setObjectName("attachmentLabel")
            row_layout.addWidget(label)
            button = QToolButton(chip)
            button.setObjectName("removeAttachment")
            button.setText("✕")
            button.setAutoRaise(True)
            button.setToolTip(f"Remove {name}")
            button.setAccessibleName(f"Remove {name}")
            button.clicked.connect(lambda _=False, r=row: self.remove(r))
            row_layout.addWidget(button)
            item.setSizeHint(chip.sizeHint() + QSize(0, 2))
            self.list.setItemWidget(item, chip)
        count = len(self._entries)
        self.summary.setText(
            f"{count} attachment{'s' if count != 1 else ''}, {human_size(self.total())}"
            if count
            else ""
        )
        self.setVisible(bool(count))
        self.changed.emit()


class ComposeWindow(QMainWindow):
    """One message being written. See the module docstring for what leaves it, and how."""

    send_requested = Signal(Draft)
    autosave_requested = Signal(Draft)  # keep it on this computer
    save_requested = Signal(Draft, bool)  # closing: keep it in the Drafts folder
    send_later_requested = Signal(Draft, datetime)  # the time to send it at
    discarded = Signal(Draft)  # closed without keeping the changes
    closed = Signal()

    def __init__(
        self,
        draft: Draft,
        identities: Sequence[Identity],
        *,
        size_limit: Callable[[str], int | None] = lambda account: None,
        unsaved: bool = False,
        on_server: bool = False,
        spelling: Spelling | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``unsaved``: the draft itself is not kept anywhere yet (one recovered after a
        crash), so closing asks even without changes. ``on_server``: a version of it is in
        the Drafts folder, which sending must remove. ``spelling``: the dictionaries, when
        the text is to be checked."""
        super().__init__(parent)
        self._spelling = spelling
        self._language = OFF
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setObjectName("composeWindow")
        self._draft = draft
        self._identities = list(identities)
        self._size_limit = size_limit
        self.on_server = on_server or bool(draft.replaces)
        self._finished = False  # sent or discarded: close without asking
        self._build(draft)
        self._start_spelling()
        self._baseline: Draft | None = None if unsaved else self.draft()
        self._autosaved = self.draft()
        self._autosave = QTimer(self)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self._autosave_if_changed)
        self._autosave.start()
        self.resize(820, 680)
        self._update_title()
        self._place_focus(draft)

    # -- construction -----------------------------------------------------------------------

    def _build(self, draft: Draft) -> None:
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)

        self.from_box = QComboBox(central)
        self.from_box.setObjectName("fromBox")
        self.from_box.setAccessibleName("From")
        for identity in self._identities:
            self.from_box.addItem(identity.label, identity)
        self.from_box.setCurrentIndex(identity_index(self._identities, draft.account, draft.sender))
        self._signature = self._current_identity().signature if self._identities else ""
        self.from_box.currentIndexChanged.connect(self._identity_changed)
        form.addRow("&From:", self.from_box)

        self.to_edit = AddressEdit("To", central)
        self.to_edit.setObjectName("toEdit")
        self.to_edit.setText(draft.to)
        self.to_edit.setPlaceholderText("Recipients, separated by commas")
        form.addRow("&To:", self.to_edit)
        self.cc_edit = AddressEdit("Cc", central)
        self.cc_edit.setObjectName("ccEdit")
        self.cc_edit.setText(draft.cc)
        self.cc_label = QLabel("&Cc:", central)
        self.cc_label.setBuddy(self.cc_edit)
        form.addRow(self.cc_label, self.cc_edit)
        self.bcc_edit = AddressEdit("Bcc", central)
        self.bcc_edit.setObjectName("bccEdit")
        self.bcc_edit.setText(draft.bcc)
        self.bcc_edit.setPlaceholderText("Hidden from the other recipients")
        self.bcc_label = QLabel("&Bcc:", central)
        self.bcc_label.setBuddy(self.bcc_edit)
        form.addRow(self.bcc_label, self.bcc_edit)
        self.subject_edit = QLineEdit(draft.subject, central)
        self.subject_edit.setObjectName("subjectEdit")
        self.subject_edit.setAccessibleName("Subject")
        self.subject_edit.textChanged.connect(self._update_title)
        form.addRow("&Subject:", self.subject_edit)
        layout.addLayout(form)

        self.attachment_list = AttachmentList(central)
        for attachment in draft.attachments:
            self.attachment_list.add(attachment, attachment_size(attachment))
        self.attachment_list.changed.connect(self._check_size)
        layout.addWidget(self.attachment_list)

        self.warning = QLabel(central)
        self.warning.setObjectName("composeWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(
            "QLabel { background: #fff4e5; color: #663c00; border: 1px solid #ffb74d; "
            "border-radius: 3px; padding: 4px 8px; }"
        )
        self.warning.hide()
        layout.addWidget(self.warning)

        self.body_edit = BodyEdit(central)
        self.body_edit.setObjectName("bodyEdit")
        self.body_edit.setAccessibleName("Message text")
        self.body_edit.setTabChangesFocus(True)
        self.body_edit.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.body_edit.document().setDocumentMargin(8)
        self.body_edit.files_dropped.connect(self.add_files)
        if draft.html is not None:
            self.body_edit.setAcceptRichText(True)
            self.body_edit.setHtml(draft.html)
        else:
            self.body_edit.setAcceptRichText(False)
            self.body_edit.setPlainText(draft.body)
        layout.addWidget(self.body_edit, 1)
        self.setCentralWidget(central)

        self._build_actions(draft.html is not None)
        self.cc_label.setVisible(bool(draft.cc))
        self.cc_edit.setVisible(bool(draft.cc))
        self.bcc_label.setVisible(bool(draft.bcc))
        self.bcc_edit.setVisible(bool(draft.bcc))
        self.show_cc_action.setChecked(bool(draft.cc))
        self.show_bcc_action.setChecked(bool(draft.bcc))
        for widget in (self.to_edit.editor, self.cc_edit.editor, self.bcc_edit.editor):
            widget.installEventFilter(self)
        self.subject_edit.installEventFilter(self)
        self.body_edit.viewport().installEventFilter(self)
        self.attachment_list.list.viewport().installEventFilter(self)
        self.setAcceptDrops(True)
        self._check_size()

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str = "", icon_name: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setToolTip(f"{text.replace('&', '')} ({shortcut})")
        action.triggered.connect(lambda _=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self, rich: bool) -> None:
        self.send_action = self._action("&Send", self.send, "Ctrl+Return", "sent")
        self.send_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.send_action.setObjectName("sendAction")
        self.send_later_action = self._action(
            "Send &Later…", self.send_later, "Ctrl+Shift+Return", "sent"
        )
        self.send_later_action.setShortcuts(
            [QKeySequence("Ctrl+Shift+Return"), QKeySequence("Ctrl+Shift+Enter")]
        )
        self.send_later_action.setObjectName("sendLaterAction")
        self.save_action = self._action("Sa&ve Draft", self.save, "Ctrl+S", "drafts")
        self.attach_action = self._action(
            "&Attach…", self.choose_files, "Ctrl+Shift+A", "attachment"
        )
        self.show_cc_action = self._action("Cc", lambda: self._show_field("cc"), "Ctrl+Shift+C")
        self.show_cc_action.setCheckable(True)
        self.show_bcc_action = self._action("Bcc", lambda: self._show_field("bcc"), "Ctrl+Shift+B")
        self.show_bcc_action.setCheckable(True)
        self.rich_action = self._action("&Rich Text", self._rich_toggled)
        self.rich_action.setCheckable(True)
        self.rich_action.setChecked(rich)
        self.rich_action.setToolTip("Format the text (bold, italic, lists, links)")
        self.bold_action = self._action("Bold", self._bold, "Ctrl+B")
        self.italic_action = self._action("Italic", self._italic, "Ctrl+I")
        self.bullets_action = self._action("• List", lambda: self._list(numbered=False))
        self.numbers_action = self._action("1. List", lambda: self._list(numbered=True))
        self.link_action = self._action("Link…", self.insert_link, "Ctrl+K")
        # Escape reaches the window only when no popup (completion, a menu) took it first.
        self.close_action = self._action("&Close", self.close, "Ctrl+W")
        self.close_action.setObjectName("closeAction")
        self._action("Close", self._escape, "Escape").setObjectName("escapeAction")
        bold_font = QFont()
        bold_font.setBold(True)
        self.bold_action.setFont(bold_font)
        italic_font = QFont()
        italic_font.setItalic(True)
        self.italic_action.setFont(italic_font)

        toolbar = QToolBar("Compose", self)
        toolbar.setObjectName("composeToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.send_action)
        toolbar.addAction(self.send_later_action)
        send_button = toolbar.widgetForAction(self.send_action)
        send_button.setObjectName("sendButton")
        send_button.setStyleSheet("QToolButton { font-weight: bold; padding: 3px 10px; }")
        toolbar.addSeparator()
        toolbar.addAction(self.attach_action)
        toolbar.addAction(self.save_action)
        toolbar.addSeparator()
        toolbar.addAction(self.show_cc_action)
        toolbar.addAction(self.show_bcc_action)
        toolbar.addSeparator()
        toolbar.addAction(self.rich_action)
        self.language_menu = QMenu("Spelling", self)
        self.language_menu.setObjectName("languageMenu")
        self.language_button = QToolButton(self)
        self.language_button.setObjectName("languageButton")
        self.language_button.setAccessibleName("Spelling language")
        self.language_button.setToolTip("The language the text is checked in")
        self.language_button.setMenu(self.language_menu)
        self.language_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.language_button.setVisible(self._spelling is not None)
        toolbar.addSeparator()
        toolbar.addWidget(self.language_button)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

        format_bar = QToolBar("Format", self)
        format_bar.setObjectName("formatToolbar")
        format_bar.setMovable(False)
        format_bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (
            self.bold_action,
            self.italic_action,
            self.bullets_action,
            self.numbers_action,
            self.link_action,
        ):
            format_bar.addAction(action)
        self.addToolBarBreak()
        self.addToolBar(format_bar)
        self.format_bar = format_bar
        self._set_rich_enabled(rich)

    def _place_focus(self, draft: Draft) -> None:
        if draft.kind in (DraftKind.REPLY, DraftKind.REPLY_ALL) and draft.to:
            cursor = self.body_edit.textCursor()
            cursor.movePosition(QTextCursor.MoveOperation.Start)
            self.body_edit.setTextCursor(cursor)
            self.body_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.to_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- the draft --------------------------------------------------------------------------

    def account_renamed(self, old: str, new: str) -> None:
        """Offer account ``old``'s addresses under its new name ``new``, the chosen one kept."""
        self._identities = [
            replace(i, account=new) if i.account == old else i for i in self._identities
        ]
        for index, identity in enumerate(self._identities):
            self.from_box.setItemData(index, identity)
            self.from_box.setItemText(index, identity.label)
        if self._draft.account == old:
            self._draft = replace(self._draft, account=new)

    def _current_identity(self) -> Identity:
        identity = self.from_box.currentData()
        assert isinstance(identity, Identity)
        return identity

    @property
    def key(self) -> str:
        return self._draft.key

    def is_rich(self) -> bool:
        return self.rich_action.isChecked()

    def draft(self) -> Draft:
        """What the window holds now."""
        identity = self._current_identity() if self._identities else None
        html: str | None = None
        if self.is_rich():
            html = clean_html(self.body_edit.toHtml())
            body = plain_alternative(self.body_edit)
        else:
            body = self.body_edit.toPlainText()
        return replace(
            self._draft,
            account=identity.account if identity else self._draft.account,
            sender=identity.sender if identity else self._draft.sender,
            to=self.to_edit.addresses(),
            cc=self.cc_edit.addresses(),
            bcc=self.bcc_edit.addresses(),
            subject=self.subject_edit.text(),
            body=body,
            html=html,
            attachments=self.attachment_list.attachments(),
        )

    def has_changes(self) -> bool:
        """Whether closing now would lose something."""
        return has_changes(self._baseline, self.draft())

    def _autosave_if_changed(self) -> None:
        current = self.draft()
        if not worth_autosaving(current, self._autosaved, self._baseline):
            return
        self._autosaved = current
        self.autosave_requested.emit(current)

    def _update_title(self) -> None:
        self.setWindowTitle(window_title(self.subject_edit.text()))

    def _identity_changed(self, index: int) -> None:
        """Another From: its account's signature replaces the one in the text.

        Choosing another From in an untouched message is not a change worth a question
        when the window closes."""
        # The box shows the new From already: compare the rest with what was there.
        untouched = only_sender_changed(self._baseline, self.draft())
        self._replace_signature()
        if untouched:
            self._baseline = self.draft()
        if self._spelling is not None and self._spelling.ready:
            self._use_language(self._spelling.language_for(self._current_identity().sender))

    def _replace_signature(self) -> None:
        new = self._current_identity().signature
        text = None
        if not self.is_rich():
            text = replaced_signature(
                self.body_edit.toPlainText(), self._signature, new, self._draft.kind
            )
        self._signature = new
        if text is None:
            self._check_size()
            return
        cursor = self.body_edit.textCursor()
        position = cursor.position()
        self.body_edit.setPlainText(text)
        cursor = self.body_edit.textCursor()
        cursor.setPosition(min(position, len(text)))
        self.body_edit.setTextCursor(cursor)
        self._check_size()

    # -- spelling ---------------------------------------------------------------------------

    def _start_spelling(self) -> None:
        self.highlighter = SpellHighlighter(self.body_edit.document(), None)
        self.body_edit.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.body_edit.customContextMenuRequested.connect(self._body_menu)
        if self._spelling is None:
            return
        self._spelling.loaded.connect(self._dictionary_loaded)
        if self._spelling.ready:
            self._dictionary_loaded("")

    def _dictionary_loaded(self, language: str) -> None:
        spelling = self._spelling
        if spelling is None:
            return
        if not language:  # the list of languages arrived
            self._use_language(spelling.language_for(self._current_identity().sender))
        elif language == self._language:
            self._use_language(language)

    def _use_language(self, language: str) -> None:
        spelling = self._spelling
        if spelling is None:
            return
        self._language = language
        dictionary = spelling.dictionary(language)
        self.highlighter.set_check(dictionary.check if dictionary else None)
        self.language_button.setText(language_name(language) if language else "No spelling")
        self.language_menu.clear()
        group = QActionGroup(self.language_menu)
        for code in [*spelling.languages, OFF]:
            action = self.language_menu.addAction(language_name(code) if code else "Off")
            action.setCheckable(True)
            action.setChecked(code == language)
            action.setData(code)
            action.setActionGroup(group)
            action.triggered.connect(lambda _=False, code=code: self.choose_language(code))
        if not spelling.languages:
            self.language_menu.actions()[0].setText("Off (no dictionaries installed)")

    def choose_language(self, language: str) -> None:
        """Check the text in ``language`` (OFF: not at all), and remember it for this From."""
        if self._spelling is not None and self._identities:
            self._spelling.remember(self._current_identity().sender, language)
        self._use_language(language)

    def spelling_actions(self, cursor: QTextCursor) -> list[QAction]:
        """Suggestions and "Add to Dictionary" for a misspelled word at ``cursor``."""
        spelling = self._spelling
        dictionary = spelling.dictionary(self._language) if spelling else None
        if spelling is None or dictionary is None:
            return []
        block, column = cursor.block(), cursor.positionInBlock()
        for start, length in words_to_check(block.text()):
            if start <= column <= start + length:
                word = block.text()[start : start + length]
                break
        else:
            return []
        if not self.highlighter.is_misspelled(word):
            return []
        word_cursor = QTextCursor(block)
        word_cursor.setPosition(block.position() + start)
        word_cursor.setPosition(block.position() + start + length, QTextCursor.MoveMode.KeepAnchor)
        actions = []
        for suggestion in dictionary.suggest(word):
            action = QAction(suggestion, self)
            font = action.font()
            font.setBold(True)
            action.setFont(font)
            action.triggered.connect(lambda _=False, text=suggestion: word_cursor.insertText(text))
            actions.append(action)
        if not actions:
            none = QAction("(no suggestions)", self)
            none.setEnabled(False)
            actions.append(none)
        add = QAction(f"Add “{word}” to Dictionary", self)
        add.triggered.connect(lambda _=False: self._add_word(word))
        actions.append(add)
        return actions

    def _add_word(self, word: str) -> None:
        if self._spelling is not None:
            self._spelling.add_word(word)
            self.highlighter.rehighlight()

    def _body_menu(self, position: QPoint) -> None:
        menu = self.body_edit.createStandardContextMenu(position)
        actions = self.spelling_actions(self.body_edit.cursorForPosition(position))
        if actions:
            first = menu.actions()[0] if menu.actions() else None
            menu.insertActions(first, actions)  # type: ignore[arg-type]
            menu.insertSeparator(first)  # type: ignore[arg-type]
        if self._spelling is not None:
            menu.addSeparator()
            menu.addMenu(self.language_menu)
        menu.exec(self.body_edit.viewport().mapToGlobal(position))
        menu.deleteLater()

    # -- fields -----------------------------------------------------------------------------

    def _show_field(self, which: str) -> None:
        action = self.show_cc_action if which == "cc" else self.show_bcc_action
        label, edit = (
            (self.cc_label, self.cc_edit) if which == "cc" else (self.bcc_label, self.bcc_edit)
        )
        visible = action.isChecked()
        if not visible and edit.text().strip():
            # Hiding a field that holds addresses would send to people no longer shown.
            action.setChecked(True)
            edit.setFocus()
            return
        label.setVisible(visible)
        edit.setVisible(visible)
        if visible:
            edit.setFocus()

    def set_completion_model(self, model: object) -> None:
        for edit in (self.to_edit, self.cc_edit, self.bcc_edit):
            edit.set_completion_model(model)  # type: ignore[arg-type]

    # -- attachments ------------------------------------------------------------------------

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach files")
        self.add_files([Path(p) for p in paths])

    def add_files(self, paths: Sequence[Path]) -> None:
        for path in paths:
            try:
                size = path.stat().st_size
            except OSError as error:
                QMessageBox.warning(
                    self, "Cannot attach", f"{path} cannot be attached: {error.strerror}."
                )
                continue
            self.attachment_list.add(Attachment(path=path, filename=path.name), size)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragEnterEvent | QDropEvent
        ):
            if local_files(event.mimeData()):
                event.acceptProposedAction()
                return True
        elif event.type() == QEvent.Type.Drop and isinstance(event, QDropEvent):
            files = local_files(event.mimeData())
            if files:
                event.acceptProposedAction()
                self.add_files(files)
                return True
        return super().eventFilter(watched, event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.add_files(files)

    def message_size(self) -> int:
        return estimated_size(self.body_edit.toPlainText(), self.attachment_list.sizes())

    def _limit(self) -> int | None:
        """The largest message the current account's server accepts, if it said."""
        return self._size_limit(self._current_identity().account) if self._identities else None

    def _check_size(self) -> None:
        size, limit = self.message_size(), self._limit()
        if limit is None or not over_limit(size, limit):
            self.warning.hide()
            return
        self.warning.setText(size_warning(size, limit))
        self.warning.show()

    # -- rich text ---------------------------------------------------------------------------

    def _set_rich_enabled(self, rich: bool) -> None:
        self.format_bar.setVisible(rich)
        for action in (
            self.bold_action,
            self.italic_action,
            self.bullets_action,
            self.numbers_action,
            self.link_action,
        ):
            action.setEnabled(rich)

    def _rich_toggled(self) -> None:
        rich = self.is_rich()
        if rich:
            text = self.body_edit.toPlainText()
            self.body_edit.setAcceptRichText(True)
            self.body_edit.setPlainText(text)
        else:
            text = plain_alternative(self.body_edit)
            self.body_edit.setAcceptRichText(False)
            self.body_edit.setPlainText(text)
        self._set_rich_enabled(rich)
        self.body_edit.setFocus()

    def _merge_format(self, change: Callable[[QTextCharFormat], None]) -> None:
        """Format the selection, or what is typed next when nothing is selected."""
        fmt = QTextCharFormat()
        change(fmt)
        self.body_edit.mergeCurrentCharFormat(fmt)

    def _bold(self) -> None:
        bold = self.body_edit.fontWeight() < QFont.Weight.Bold
        self._merge_format(
            lambda f: f.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        )

    def _italic(self) -> None:
        italic = not self.body_edit.fontItalic()
        self._merge_format(lambda f: f.setFontItalic(italic))

    def _list(self, *, numbered: bool) -> None:
        cursor = self.body_edit.textCursor()
        style = QTextListFormat.Style.ListDecimal if numbered else QTextListFormat.Style.ListDisc
        current = cursor.currentList()
        if current is not None and current.format().style() == style:
            # Pressed again: the paragraph leaves the list.
            block_format = cursor.blockFormat()
            current.remove(cursor.block())
            block_format.setIndent(0)
            cursor.setBlockFormat(block_format)
            return
        cursor.createList(style)

    def insert_link(self) -> None:
        cursor = self.body_edit.textCursor()
        url, ok = QInputDialog.getText(self, "Insert link", "Link address (https://…):")
        url = url.strip()
        if not ok or not url:
            return
        url = link_target(url)
        fmt = QTextCharFormat()
        fmt.setAnchor(True)
        fmt.setAnchorHref(QUrl(url).toString())
        fmt.setFontUnderline(True)
        fmt.setForeground(self.palette().link())
        text = cursor.selectedText() or url
        cursor.insertText(text, fmt)
        cursor.insertText("", QTextCharFormat())
        self.body_edit.setCurrentCharFormat(QTextCharFormat())

    # -- sending, saving, closing -------------------------------------------------------------

    def _problem_field(self) -> tuple[AddressEdit, str] | None:
        for edit in (self.to_edit, self.cc_edit, self.bcc_edit):
            if not edit.validate():
                return edit, edit.problem()
        return None

    def _ask(self, title: str, text: str, yes: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        go = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep Writing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(go)
        box.exec()
        return box.clickedButton() is go

    def _ask_about_attachment(self, title: str, text: str) -> bool:
        """Attach now (then keep writing), send without, or keep writing; True to send."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        attach = box.addButton("&Attach…", QMessageBox.ButtonRole.ActionRole)
        send = box.addButton("&Send Without Attachment", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep Writing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(attach)
        box.exec()
        if box.clickedButton() is attach:
            self.choose_files()
        return box.clickedButton() is send

    def check_before_sending(self) -> bool:
        """Every check a person would want before the message leaves; True to send."""
        problem = self._problem_field()
        if problem is not None:
            edit, text = problem
            if edit is not self.to_edit:
                which = "cc" if edit is self.cc_edit else "bcc"
                (self.show_cc_action if which == "cc" else self.show_bcc_action).setChecked(True)
                self._show_field(which)
            QMessageBox.warning(self, "Check the addresses", text)
            edit.setFocus()
            edit.go_to_problem()
            return False
        for concern in concerns(self.draft(), self.message_size(), self._limit()):
            if concern.blocking:
                QMessageBox.warning(self, concern.title, concern.text)
                if concern.kind is ConcernKind.NO_RECIPIENT:
                    self.to_edit.setFocus()
                return False
            if concern.kind is ConcernKind.ATTACHMENT_FORGOTTEN:
                go_on = self._ask_about_attachment(concern.title, concern.text)
            elif concern.kind is ConcernKind.TOO_LARGE:
                go_on = self._ask(concern.title, concern.text, "Send Anyway")
            else:
                go_on = self._ask(concern.title, concern.text, "Send Without Subject")
                if not go_on:
                    self.subject_edit.setFocus()
            if not go_on:
                return False
        return True

    def send(self) -> None:
        """Check, hand the message over, and close: sending goes on in the background."""
        if not self.check_before_sending():
            return
        self._finished = True
        self._autosave.stop()
        self.send_requested.emit(self.draft())
        self.close()

    def send_later(self) -> None:
        """Check, ask when, and hand the message over to wait in the outbox until then."""
        if not self.check_before_sending():
            return
        dialog = SendLaterDialog(datetime.now().astimezone(), self)
        if not dialog.exec() or dialog.chosen() is None:
            return
        self._finished = True
        self._autosave.stop()
        self.send_later_requested.emit(self.draft(), dialog.chosen())
        self.close()

    def show_problem(self, message: str) -> None:
        """Something went wrong with this draft in the background (saving it, say)."""
        self.statusBar().showMessage(message)

    def save(self) -> None:
        """Keep the draft in the account's Drafts folder (and here until it is there)."""
        draft = self.draft()
        self._baseline = draft
        self._autosaved = draft
        self.on_server = True
        self.save_requested.emit(draft, False)
        self.statusBar().showMessage("Draft saved", 3000)

    def _escape(self) -> None:
        """Escape closes an open list of suggestions first, then the window."""
        for edit in (self.to_edit, self.cc_edit, self.bcc_edit):
            if edit.completer_popup_visible():
                edit.completion_popup().hide()
                return
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._finished and self.has_changes():
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Save draft?",
                "Save this message as a draft before closing?",
                parent=self,
            )
            save = box.addButton("&Save", QMessageBox.ButtonRole.AcceptRole)
            discard = box.addButton("&Discard", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton("&Cancel", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(save)
            box.exec()
            clicked = box.clickedButton()
            if clicked is save:
                self.save_requested.emit(self.draft(), True)
            elif clicked is discard:
                self.discarded.emit(self.draft())
            else:
                event.ignore()
                return
        elif not self._finished:
            self.discarded.emit(self.draft())
        self._finished = True
        self._autosave.stop()
        self.closed.emit()
        super().closeEvent(event)


def plain_alternative(edit: QTextEdit) -> str:
    """The text of a rich-text body as plain text: list items marked, links spelled out."""
    lines = []
    block: QTextBlock = edit.document().begin()
    while block.isValid():
        text = _block_text(block)
        text_list = block.textList()
        if text_list is not None:
            indent = "  " * max(text_list.format().indent() - 1, 0)
            style = text_list.format().style()
            numbered = style in (
                QTextListFormat.Style.ListDecimal,
                QTextListFormat.Style.ListLowerAlpha,
                QTextListFormat.Style.ListUpperAlpha,
                QTextListFormat.Style.ListLowerRoman,
                QTextListFormat.Style.ListUpperRoman,
            )
            marker = f"{text_list.itemNumber(block) + 1}." if numbered else "-"
            text = f"{indent}{marker} {text}"
        lines.append(text)
        block = block.next()
    return "\n".join(lines)


def _block_text(block: QTextBlock) -> str:
    parts = []
    iterator = block.begin()
    while not iterator.atEnd():
        fragment = iterator.fragment()
        if fragment.isValid():
            text = fragment.text().replace("\u2028", "\n")
            fmt = fragment.charFormat()
            href = fmt.anchorHref() if fmt.isAnchor() else ""
            target = href.removeprefix("mailto:")
            if href and target not in text:
                text = f"{text} <{target}>"
            parts.append(text)
        iterator += 1
    return "".join(parts)
