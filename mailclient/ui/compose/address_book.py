"""The address book window: browse, search, edit, merge, delete, import and export contacts.

Beside the contacts the user keeps, it lists everyone mail was exchanged with who is not
one of them yet ("From your mail"), to be added with one click. Every read and write runs
off the GUI thread, one at a time and in order, on the contacts file of the profile.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.contact import Contact
from mailclient.core.errors import InvalidInput
from mailclient.mime.compose import parse_addresses
from mailclient.store.addresses import KnownAddress, known_addresses
from mailclient.store.contacts import ContactBook
from mailclient.workers.tasks import error_text, run_task

T = TypeVar("T")
MAX_COLLECTED_SHOWN = 500
MAX_VCARD_BYTES = 50 * 1024 * 1024


class Contacts(QObject):
    """The profile's address book for the window: every job in order, off the GUI thread."""

    changed = Signal()  # contacts were added, edited, merged or deleted
    failed = Signal(str)

    def __init__(self, contacts_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path = contacts_path
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def run(self, job: Callable[[ContactBook], T], done: Callable[[T], None]) -> None:
        """``job(book)`` on the contacts thread, then ``done(result)`` here."""
        path = self.path

        def work() -> T:
            with ContactBook(path) as book:
                return job(book)

        run_task(self, work, done, lambda error: self.failed.emit(error_text(error)), self._pool)

    def change(self, job: Callable[[ContactBook], Any], done: Callable[[Any], None]) -> None:
        """Like run(), for a job that changes contacts: ``changed`` follows."""

        def finished(result: Any) -> None:
            done(result)
            self.changed.emit()

        self.run(job, finished)

    def add(self, name: str, address: str) -> None:
        """Add a person (from a message header); an address already kept is left as it is."""

        def job(book: ContactBook) -> None:
            if book.owner(address) is None:
                book.save(Contact(name=name, addresses=(address,)))

        self.change(job, lambda _: None)


def checked_addresses(text: str) -> tuple[str, ...]:
    """The addresses typed one per line (or separated by commas); refuses a bad one."""
    return tuple(m.addr for m in parse_addresses("Addresses", text.replace("\n", ",")))


class AddressBookWindow(QMainWindow):
    """The address book; one per main window, raised when asked for again."""

    def __init__(
        self,
        contacts: Contacts,
        store_path: Path,
        own_addresses: Collection[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("addressBook")
        self.setWindowTitle("Address Book")
        self.contacts = contacts
        self._store_path = store_path
        self._own = list(own_addresses)
        self._shown: list[Contact] = []
        self._collected: list[KnownAddress] = []
        self._current: Contact | None = None
        self._build()
        contacts.changed.connect(self.refresh)
        contacts.failed.connect(self._show_problem)
        self.resize(820, 560)
        self.refresh()

    # -- construction -----------------------------------------------------------------------

    def _build(self) -> None:
        toolbar = QToolBar("Address Book", self)
        toolbar.setObjectName("addressBookToolbar")
        toolbar.setMovable(False)
        self.new_action = self._action(toolbar, "&New Contact", self.new_contact, "Ctrl+N")
        self.delete_action = self._action(toolbar, "&Delete", self.delete_selected, "Del")
        self.merge_action = self._action(toolbar, "&Merge", self.merge_selected, "Ctrl+M")
        toolbar.addSeparator()
        self.import_action = self._action(toolbar, "&Import vCard…", self.choose_import)
        self.export_action = self._action(toolbar, "&Export vCard…", self.choose_export)
        self._action(toolbar, "Close", self.close, "Ctrl+W").setVisible(False)
        self._action(toolbar, "Close", self.close, "Escape").setVisible(False)
        self.addToolBar(toolbar)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        self.search = QLineEdit(left)
        self.search.setObjectName("contactSearch")
        self.search.setPlaceholderText("Search names, addresses and notes")
        self.search.setAccessibleName("Search contacts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _: self.refresh())
        left_layout.addWidget(self.search)
        self.list = QListWidget(left)
        self.list.setObjectName("contactList")
        self.list.setAccessibleName("Contacts")
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.currentRowChanged.connect(self._show_current)
        self.list.itemSelectionChanged.connect(self._update_actions)
        left_layout.addWidget(self.list, 3)
        collected_label = QLabel("From your mail, not in the address book:", left)
        left_layout.addWidget(collected_label)
        self.collected = QListWidget(left)
        self.collected.setObjectName("collectedList")
        self.collected.setAccessibleName("People from your mail")
        self.collected.itemActivated.connect(lambda _: self.add_collected())
        left_layout.addWidget(self.collected, 2)
        self.add_collected_button = QPushButton("&Add to Address Book", left)
        self.add_collected_button.clicked.connect(self.add_collected)
        left_layout.addWidget(self.add_collected_button)

        right = QWidget(self)
        form = QFormLayout(right)
        self.name_edit = QLineEdit(right)
        self.name_edit.setObjectName("contactName")
        self.name_edit.setAccessibleName("Name")
        form.addRow("&Name:", self.name_edit)
        self.addresses_edit = QPlainTextEdit(right)
        self.addresses_edit.setObjectName("contactAddresses")
        self.addresses_edit.setAccessibleName("Addresses, one per line, the preferred first")
        self.addresses_edit.setTabChangesFocus(True)
        self.addresses_edit.setPlaceholderText("One per line; the first is used when writing")
        form.addRow("A&ddresses:", self.addresses_edit)
        self.notes_edit = QPlainTextEdit(right)
        self.notes_edit.setObjectName("contactNotes")
        self.notes_edit.setAccessibleName("Notes")
        self.notes_edit.setTabChangesFocus(True)
        form.addRow("N&otes:", self.notes_edit)
        self.save_button = QPushButton("&Save", right)
        self.save_button.setObjectName("saveContact")
        self.save_button.clicked.connect(self.save_current)
        form.addRow("", self.save_button)
        self.problem = QLabel(right)
        self.problem.setObjectName("contactProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("QLabel { color: #b00020; }")
        form.addRow("", self.problem)

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self._update_actions()

    def _action(
        self, toolbar: QToolBar, text: str, slot: Callable[[], object], shortcut: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _=False: slot())
        toolbar.addAction(action)
        self.addAction(action)
        return action

    # -- reading ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the contacts (matching the search) and the people from mail again."""
        query = self.search.text()
        store_path, own = self._store_path, self._own

        def job(book: ContactBook) -> tuple[list[Contact], list[KnownAddress]]:
            kept = book.contacts(query)
            everyone = book.contacts()
            taken = {a.lower() for c in everyone for a in c.addresses}
            collected = [] if not store_path.exists() else known_addresses(store_path, own)
            needle = query.strip().casefold()
            others = [
                k
                for k in collected
                if k.address.lower() not in taken
                and (needle in k.address.casefold() or needle in k.name.casefold())
            ]
            return kept, others[:MAX_COLLECTED_SHOWN]

        self.contacts.run(job, self._show)

    def _show(self, result: tuple[list[Contact], list[KnownAddress]]) -> None:
        kept, collected = result
        current_id = self._current.id if self._current is not None else None
        self._shown, self._collected = kept, collected
        self.list.blockSignals(True)
        self.list.clear()
        for contact in kept:
            first = contact.addresses[0] if contact.addresses else ""
            text = f"{contact.name}  <{first}>" if contact.name and first else contact.label()
            self.list.addItem(QListWidgetItem(text))
        self.list.blockSignals(False)
        rows = [i for i, c in enumerate(kept) if c.id == current_id]
        if rows:
            self.list.setCurrentRow(rows[0])
        elif current_id is not None:
            self._edit(None)
        self.collected.clear()
        for known in collected:
            self.collected.addItem(known.text())
        self._update_actions()

    def _show_current(self, row: int) -> None:
        self._edit(self._shown[row] if 0 <= row < len(self._shown) else None)

    def _edit(self, contact: Contact | None) -> None:
        self._current = contact
        self.name_edit.setText(contact.name if contact else "")
        self.addresses_edit.setPlainText("\n".join(contact.addresses) if contact else "")
        self.notes_edit.setPlainText(contact.notes if contact else "")
        self.problem.clear()

    def _update_actions(self) -> None:
        selected = len(self.list.selectedItems())
        self.delete_action.setEnabled(selected > 0)
        self.merge_action.setEnabled(selected > 1)
        self.add_collected_button.setEnabled(self.collected.count() > 0)

    def selected_contacts(self) -> list[Contact]:
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        return [self._shown[r] for r in rows if r < len(self._shown)]

    # -- changing ---------------------------------------------------------------------------

    def new_contact(self) -> None:
        self.list.clearSelection()
        self._edit(None)
        self.name_edit.setFocus()

    def save_current(self) -> None:
        try:
            addresses = checked_addresses(self.addresses_edit.toPlainText())
        except InvalidInput as error:
            self.problem.setText(str(error))
            return
        contact = Contact(
            name=self.name_edit.text().strip(),
            addresses=addresses,
            notes=self.notes_edit.toPlainText().strip(),
            id=self._current.id if self._current else None,
        )
        self.contacts.change(lambda book: book.save(contact), self._saved)

    def _saved(self, contact: Contact) -> None:
        self._current = contact
        self.problem.clear()
        self.statusBar().showMessage(f"Saved {contact.label()}", 3000)

    def delete_selected(self) -> None:
        chosen = self.selected_contacts()
        if not chosen:
            return
        names = ", ".join(c.label() for c in chosen[:3]) + (" …" if len(chosen) > 3 else "")
        answer = QMessageBox.question(
            self,
            "Delete contacts",
            f"Delete {names} from the address book?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        ids = [c.id for c in chosen if c.id is not None]
        self._current = None
        self.contacts.change(lambda book: book.delete(ids), lambda _: self._edit(None))

    def merge_selected(self) -> None:
        ids = [c.id for c in self.selected_contacts() if c.id is not None]
        if len(ids) > 1:
            self.contacts.change(lambda book: book.merge(ids), self._merged)

    def _merged(self, contact: Contact) -> None:
        self._current = contact
        self.statusBar().showMessage(f"Merged into {contact.label()}", 3000)

    def add_collected(self) -> None:
        row = self.collected.currentRow()
        if not 0 <= row < len(self._collected):
            row = 0 if self._collected else -1
        if row < 0:
            return
        known = self._collected[row]
        contact = Contact(name=known.name, addresses=(known.address,))
        self.contacts.change(lambda book: book.save(contact), self._saved)

    # -- files ------------------------------------------------------------------------------

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import contacts", "", "vCard files (*.vcf *.vcard);;All files (*)"
        )
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        def job(book: ContactBook) -> int:
            # vCards (vobject, dateutil, pytz: 3 MiB) are loaded when first asked for.
            from mailclient.mime.vcard import read_vcards

            if not path.is_file() or path.stat().st_size > MAX_VCARD_BYTES:
                raise InvalidInput("vCard", f"{path} is not a vCard file of a sensible size")
            text = path.read_bytes().decode("utf-8", errors="replace")
            return book.import_contacts(read_vcards(text))

        self.contacts.change(
            job, lambda count: self.statusBar().showMessage(f"Imported {count} contacts", 5000)
        )

    def choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export contacts", "contacts.vcf", "vCard files (*.vcf)"
        )
        if path:
            self.export_file(Path(path))

    def export_file(self, path: Path) -> None:
        chosen = self.selected_contacts()

        def job(book: ContactBook) -> int:
            from mailclient.mime.vcard import write_vcards

            contacts = chosen or book.contacts()
            path.write_text(write_vcards(contacts), encoding="utf-8")
            return len(contacts)

        self.contacts.run(
            job, lambda count: self.statusBar().showMessage(f"Exported {count} contacts", 5000)
        )

    def _show_problem(self, text: str) -> None:
        if self.isVisible():
            self.problem.setText(text)
