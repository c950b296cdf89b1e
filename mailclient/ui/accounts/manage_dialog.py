"""The Manage accounts dialog: list, edit, remove and reorder accounts.

Per account: every server setting (with Test connection), the display name, the signature,
extra sender addresses (identities), whether the server saves sent mail itself, and the
certificates trusted for its servers. Changes are written on Save, off the GUI thread;
``accounts_changed`` tells the main window to re-read the accounts.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.lifecycle import remove_account, rename_account, set_passwords
from mailclient.accounts.model import Account, AuthMethod, PinnedCertificate
from mailclient.accounts.signin import Authenticator, SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import InvalidInput
from mailclient.core.profile import Profile
from mailclient.discovery import Network
from mailclient.discovery.providers import ProviderDatabase
from mailclient.store.mail import MailStore
from mailclient.store.renaming import rename_account_data
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.form import (
    AccountForm,
    CheckResult,
    ConnectionCheck,
    typed_password,
)
from mailclient.ui.accounts.oauth_sign_in import BrowserSignIn, provider_name
from mailclient.workers.tasks import Task, error_text

T = TypeVar("T")
SENDING_HELP = (
    "Mail you send is normally copied to your Sent folder by mailclient. Some providers "
    "(Gmail, for example) already keep a copy of everything sent through them; tick this "
    "for such a server, or every message appears twice."
)


class ManageAccountsDialog(QDialog):
    """Edits the accounts of one profile.

    Removing an account also deletes its mail kept in the store at ``mail_store_path``
    (the profile's store), on a worker thread, after its config and passwords are gone.
    """

    accounts_changed = Signal()
    account_renamed = Signal(str, str)  # old name, new name: before accounts_changed
    signed_in = Signal(str)  # an OAuth2 account signed in again: reconnect it

    def __init__(
        self,
        accounts: AccountStore,
        credentials: SignIn | CredentialStore,
        parent: QWidget | None = None,
        *,
        mail_store_path: Path | None = None,
        network: Network | None = None,
        extra_provider_files: Sequence[Path] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("manageAccountsDialog")
        self.setWindowTitle("Accounts")
        self.resize(980, 700)
        self._accounts = accounts
        self._sign_in = credentials if isinstance(credentials, SignIn) else SignIn(credentials)
        self._credentials = self._sign_in.credentials
        self._mail_store_path = mail_store_path
        self._network = network
        self._extra_provider_files = tuple(extra_provider_files)
        self._current: Account | None = None
        self._dirty = False
        self._loading = False
        self._task: Task | None = None
        self.add_dialog: AddAccountDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.rename_box: QInputDialog | None = None

        self.account_list = QListWidget(self)
        self.account_list.setObjectName("accountList")
        self.account_list.setAccessibleName("Accounts")
        self.account_list.setMinimumWidth(240)
        self.account_list.setSpacing(3)
        self.account_list.currentRowChanged.connect(self._on_row_changed)
        self.add_button = QPushButton("&Add…", self)
        self.add_button.setObjectName("addAccount")
        self.remove_button = QPushButton("&Remove…", self)
        self.remove_button.setObjectName("removeAccount")
        self.rename_button = QPushButton("Re&name…", self)
        self.rename_button.setObjectName("renameAccount")
        self.up_button = QPushButton("Move &up", self)
        self.up_button.setObjectName("moveUp")
        self.down_button = QPushButton("Move &down", self)
        self.down_button.setObjectName("moveDown")
        self.add_button.clicked.connect(self.add_account)
        self.remove_button.clicked.connect(self.confirm_remove)
        self.rename_button.clicked.connect(self.ask_rename)
        self.up_button.clicked.connect(lambda: self.move_account(-1))
        self.down_button.clicked.connect(lambda: self.move_account(1))
        left = QVBoxLayout()
        left.addWidget(self.account_list, 1)
        row1 = QHBoxLayout()
        row1.addWidget(self.add_button)
        row1.addWidget(self.rename_button)
        row1.addWidget(self.remove_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.up_button)
        row2.addWidget(self.down_button)
        left.addLayout(row1)
        left.addLayout(row2)

        self.tabs = QTabWidget(self)
        self.form = AccountForm(
            self, with_name=False, password_hint="unchanged", sign_in_again=True
        )
        self.form.provider_names = functools.partial(
            provider_name, providers=ProviderDatabase.load(self._extra_provider_files)
        )
        self.form.edited.connect(self._mark_dirty)
        self.form.sign_in_again_button.clicked.connect(self.sign_in_again)
        self.browser = BrowserSignIn(self._sign_in, self)
        self.browser.signed_in.connect(self._signed_in)
        self.browser.failed.connect(lambda error: self._show_error(error_text(error)))
        server_tab = QWidget(self)
        server_layout = QVBoxLayout(server_tab)
        server_layout.addWidget(self.form)
        self.pins_box = QGroupBox("Certificates you trusted", server_tab)
        pins_layout = QHBoxLayout(self.pins_box)
        self.pin_list = QListWidget(self.pins_box)
        self.pin_list.setObjectName("pinList")
        self.pin_list.setMaximumHeight(70)
        # The middle of a fingerprint gives way; the full one is in the tooltip.
        self.pin_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.pin_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.forget_pin_button = QPushButton("&Forget", self.pins_box)
        self.forget_pin_button.setObjectName("forgetPin")
        self.forget_pin_button.clicked.connect(self.forget_pin)
        pins_layout.addWidget(self.pin_list, 1)
        pins_layout.addWidget(self.forget_pin_button, 0, Qt.AlignmentFlag.AlignTop)
        server_layout.addWidget(self.pins_box)
        server_layout.addStretch(1)
        self.tabs.addTab(server_tab, "Account and servers")

        sending_tab = QWidget(self)
        sending = QFormLayout(sending_tab)
        self.signature_edit = QPlainTextEdit(sending_tab)
        self.signature_edit.setObjectName("signature")
        self.signature_edit.setPlaceholderText('Added below what you write, after a line "-- "')
        self.identities_edit = QPlainTextEdit(sending_tab)
        self.identities_edit.setObjectName("identities")
        self.identities_edit.setPlaceholderText("one address per line, e.g. info@example.org")
        self.identities_edit.setMaximumHeight(110)
        self.server_saves_sent = QCheckBox("The server saves sent mail itself", sending_tab)
        self.server_saves_sent.setObjectName("serverSavesSent")
        sent_help = QLabel(SENDING_HELP, sending_tab)
        sent_help.setWordWrap(True)
        sent_help.setStyleSheet("color: palette(placeholder-text);")
        sending.addRow("&Signature:", self.signature_edit)
        sending.addRow("&Other addresses:", self.identities_edit)
        sending.addRow("", self.server_saves_sent)
        sending.addRow("", sent_help)
        self.signature_edit.textChanged.connect(self._mark_dirty)
        self.identities_edit.textChanged.connect(self._mark_dirty)
        self.server_saves_sent.toggled.connect(self._mark_dirty)
        self.tabs.addTab(sending_tab, "Sending")

        self.title = QLabel(self)
        self.title.setObjectName("accountTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.result_label = QLabel(self)
        self.result_label.setObjectName("checkResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QPushButton("&Test connection", self)
        self.test_button.setObjectName("testConnection")
        self.save_button = QPushButton("&Save", self)
        self.save_button.setObjectName("saveAccount")
        self.revert_button = QPushButton("Re&vert", self)
        self.close_button = QPushButton("Close", self)
        self.test_button.clicked.connect(self.test_connection)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self._revert)
        self.close_button.clicked.connect(self.reject)
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addStretch(1)
        actions.addWidget(self.revert_button)
        actions.addWidget(self.save_button)
        right = QVBoxLayout()
        right.addWidget(self.title)
        right.addWidget(self.tabs, 1)
        right.addWidget(self.result_label)
        right.addLayout(actions)
        self.editor = QWidget(self)
        self.editor.setLayout(right)
        self.empty_label = QLabel("No accounts yet. Add one to start reading mail.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        body = QHBoxLayout()
        body.addLayout(left)
        body.addWidget(self.editor, 1)
        body.addWidget(self.empty_label, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addLayout(bottom)

        self.check = ConnectionCheck(self)
        self.check.progressed.connect(self.result_label.setText)
        self.check.finished.connect(self._on_checked)
        self.reload()

    # The list.

    def reload(self, select: str | None = None) -> None:
        """Re-read the accounts; keep ``select`` (or the current account) selected."""
        keep = select or (self._current.name if self._current else None)
        self._loading = True
        self.account_list.clear()
        for account in self._accounts.accounts():
            item = QListWidgetItem(f"{account.name}\n{account.email}")
            item.setData(Qt.ItemDataRole.UserRole, account.name)
            self.account_list.addItem(item)
        self._loading = False
        names = self.names()
        row = names.index(keep) if keep in names else (0 if names else -1)
        self._current = None
        self.account_list.setCurrentRow(row)
        if row == -1:
            self._show(None)
        self._update_buttons()

    def names(self) -> list[str]:
        return [
            self.account_list.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.account_list.count())
        ]

    def _on_row_changed(self, row: int) -> None:
        if self._loading:
            return
        names = self.names()
        target = names[row] if 0 <= row < len(names) else None
        if self._current is not None and target == self._current.name:
            return
        if self._dirty and self._current is not None:
            # Unsaved edits: go back to the edited account and ask first.
            self._loading = True
            self.account_list.setCurrentRow(names.index(self._current.name))
            self._loading = False
            self._ask_discard(lambda: self._select(target))
            return
        self._select(target)

    def _select(self, name: str | None) -> None:
        account = next((a for a in self._accounts.accounts() if a.name == name), None)
        if name in self.names():
            self._loading = True
            self.account_list.setCurrentRow(self.names().index(name))
            self._loading = False
        self._show(account)
        self._update_buttons()

    def _show(self, account: Account | None) -> None:
        self.check.cancel()
        self._current = account
        self.editor.setVisible(account is not None)
        self.empty_label.setVisible(account is None)
        self.result_label.clear()
        if account is None:
            return
        self._loading = True
        self.title.setText(account.name)
        self.form.set_account(account)
        self.form.password_edit.clear()
        self.signature_edit.setPlainText(account.signature)
        self.identities_edit.setPlainText("\n".join(account.identities))
        self.server_saves_sent.setChecked(account.server_saves_sent)
        self._show_pins(account.pinned_certificates)
        self._loading = False
        self._set_dirty(False)

    def _show_pins(self, pins: Sequence[PinnedCertificate]) -> None:
        self.pin_list.clear()
        for pin in pins:
            item = QListWidgetItem(f"{pin.host}:{pin.port}   SHA-256 {pin.fingerprint}")
            item.setToolTip(f"SHA-256 {pin.fingerprint}")
            item.setData(Qt.ItemDataRole.UserRole, (pin.host, pin.port))
            self.pin_list.addItem(item)
        self.pins_box.setVisible(bool(pins))
        if pins:
            self.pin_list.setCurrentRow(0)

    def _update_buttons(self) -> None:
        row, count = self.account_list.currentRow(), self.account_list.count()
        busy = self._task is not None
        self.remove_button.setEnabled(row >= 0 and not busy)
        self.rename_button.setEnabled(row >= 0 and not busy)
        self.up_button.setEnabled(row > 0 and not busy)
        self.down_button.setEnabled(0 <= row < count - 1 and not busy)
        self.add_button.setEnabled(not busy)

    def _mark_dirty(self) -> None:
        if not self._loading:
            self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)

    def _revert(self) -> None:
        self._show(self._current)

    def _ask_discard(self, then: Callable[[], None]) -> None:
        assert self._current is not None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved changes",
            f"Save the changes to {self._current.name}?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Save:
                self.save(then=then)
            elif button == QMessageBox.StandardButton.Discard:
                self._set_dirty(False)
                then()

        box.finished.connect(answered)
        self.confirm_box = box
        box.open()

    # Editing one account.

    def edited_account(self) -> Account:
        """The current account as the fields describe it; raises InvalidInput."""
        assert self._current is not None
        base = self.form.account()
        identities = tuple(
            line.strip() for line in self.identities_edit.toPlainText().splitlines() if line.strip()
        )
        edited = replace(
            base,
            signature=self.signature_edit.toPlainText(),
            identities=identities,
            server_saves_sent=self.server_saves_sent.isChecked(),
        )
        try:
            return edited.validated()
        except InvalidInput as error:
            if error.field == "identity":
                self.tabs.setCurrentIndex(1)
            self._show_error(str(error))
            raise

    def _show_error(self, text: str) -> None:
        self.result_label.setText(f"<span style='color:#b00020'>{html.escape(text)}</span>")

    def save(self, *, then: Callable[[], None] | None = None) -> None:
        if self._current is None:
            return
        try:
            account = self.edited_account()
        except InvalidInput:
            return
        name, password = self._current.name, self.form.password()
        before = self._current
        switched = account.auth is AuthMethod.PASSWORD and before.auth is not AuthMethod.PASSWORD
        if switched and not password:
            self._show_error("Enter the password to sign in with from now on.")
            self.form.password_edit.setFocus()
            return
        # A new sign-in server (or a first one) needs signing in there once saved.
        sign_in_after = account.auth is AuthMethod.OAUTH2 and _sign_in_changed(before, account)
        accounts, credentials = self._accounts, self._credentials

        def write() -> Account:
            if switched or sign_in_after:
                # The sign-in it no longer uses must not stay behind in the keyring; gone
                # before the new settings are, so that no connection made with them sends
                # a refresh token to a sign-in server that did not issue it.
                credentials.delete_account(name)
            saved = accounts.update(name, account)
            if password:
                set_passwords(credentials, name, password)
            return saved

        def saved(account: Account) -> None:
            self._current = account
            self.reload(select=account.name)
            self.result_label.setText("Saved.")
            self.accounts_changed.emit()
            if sign_in_after:
                self.sign_in_again()
            if then is not None:
                then()

        self._run(write, saved)

    def sign_in_again(self) -> None:
        """The OAuth2 sign-in in the browser for the account shown; its workers use the
        new sign-in at their next connection."""
        if self._current is None:
            return
        self.form.sign_in_again_button.setEnabled(False)
        self.result_label.setText("Waiting for the sign-in in your browser…")
        self.browser.start(self._current)

    def _signed_in(self, account: object) -> None:
        self.form.sign_in_again_button.setEnabled(True)
        self.result_label.setText("Signed in.")
        if isinstance(account, Account):
            self.signed_in.emit(account.name)

    def test_connection(self) -> None:
        if self._current is None:
            return
        try:
            account = self.edited_account()
        except InvalidInput:
            return
        if account.auth is AuthMethod.OAUTH2 and _sign_in_changed(self._current, account):
            # The refresh token in the keyring is the old sign-in server's: never sent to
            # another one.
            self._show_error(
                "Save first: the new sign-in server is signed in to in your browser, "
                "then the connection can be tested."
            )
            return
        typed, sign_in = self.form.password(), self._sign_in

        def stored() -> tuple[Authenticator, Authenticator]:
            auth = sign_in.authenticator(account)
            return auth, auth

        self.test_button.setEnabled(False)
        self.check.start(account, typed_password(typed, account) if typed else stored)

    def _on_checked(self, result: CheckResult) -> None:
        self.test_button.setEnabled(True)
        self.result_label.setText(result.html())
        if self._current is not None and result.account.pinned_certificates != (
            self.form.account().pinned_certificates
        ):
            self.form.keep_pins(result.account)
            self._show_pins(result.account.pinned_certificates)
            self._set_dirty(True)
            self.result_label.setText(
                result.html() + "<br>Save to keep the certificate you trusted."
            )

    def forget_pin(self) -> None:
        item = self.pin_list.currentItem()
        if item is None or self._current is None:
            return
        host, port = item.data(Qt.ItemDataRole.UserRole)
        try:
            account = self.form.account().with_pin(host, port, None)
        except InvalidInput:
            return
        self.form.keep_pins(account)
        self._show_pins(account.pinned_certificates)
        self._set_dirty(True)

    # Adding, removing, reordering.

    def add_account(self) -> None:
        dialog = AddAccountDialog(
            self._accounts,
            self._sign_in,
            self,
            network=self._network,
            extra_provider_files=self._extra_provider_files,
        )
        dialog.account_added.connect(self._on_added)
        self.add_dialog = dialog
        dialog.open()

    def _on_added(self, account: Account) -> None:
        self._dirty = False
        self.reload(select=account.name)
        self.accounts_changed.emit()

    def confirm_remove(self) -> None:
        if self._current is None:
            return
        account = self._current
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Remove account",
            f"Remove the account {account.name} ({account.email})?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(
            "Its stored passwords and the mail kept on this computer are deleted. "
            "The mail on the server is not touched."
        )
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        remove.setObjectName("confirmRemove")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda button: self.remove(account.name) if button is remove else None
        )
        self.confirm_box = box
        box.open()

    def ask_rename(self) -> None:
        if self._current is None:
            return
        old = self._current.name
        box = QInputDialog(self)
        box.setObjectName("renameAccountBox")
        box.setWindowTitle("Rename account")
        box.setLabelText(
            f"New name for the account {old}. Its passwords, its mail kept here and its "
            "unsent messages go with it; the server does not see the name."
        )
        box.setTextValue(old)
        box.textValueSelected.connect(lambda new: self.rename(old, new.strip()))
        self.rename_box = box
        box.open()

    def rename(self, old: str, new: str) -> None:
        """Rename account ``old`` (config, keyring, stored mail, outbox, drafts)."""
        if new == old:
            return
        accounts, credentials, store_path = self._accounts, self._credentials, self._mail_store_path

        def move_data(source: str, target: str) -> None:
            if store_path is not None:
                drafts = Profile(store_path.parent).drafts_dir
                rename_account_data(store_path, drafts, source, target)

        def work() -> Account:
            return rename_account(accounts, credentials, old, new, move_data)

        def renamed(result: object) -> None:
            assert isinstance(result, Account)
            self._current = None
            self._dirty = False
            self.reload(select=result.name)
            self.account_renamed.emit(old, result.name)
            self.accounts_changed.emit()

        self._run(work, renamed)

    def remove(self, name: str) -> None:
        accounts, credentials, store_path = self._accounts, self._credentials, self._mail_store_path

        def work() -> None:
            remove_account(accounts, credentials, name)
            if store_path is not None and store_path.exists():
                with MailStore.open(store_path) as store:
                    store.forget_account(name)

        def removed(_: object) -> None:
            self._current = None
            self._dirty = False
            self.reload()
            self.accounts_changed.emit()

        self._run(work, removed)

    def move_account(self, offset: int) -> None:
        names = self.names()
        row = self.account_list.currentRow()
        target = row + offset
        if not (0 <= row < len(names) and 0 <= target < len(names)):
            return
        names[row], names[target] = names[target], names[row]
        moved = names[target]
        accounts = self._accounts

        def moved_done(_: object) -> None:
            self.reload(select=moved)
            self.accounts_changed.emit()

        self._run(functools.partial(accounts.reorder, names), moved_done)

    def _run(self, work: Callable[[], T], done: Callable[[T], object]) -> None:
        task = Task(self)

        def finished(result: T) -> None:
            self._task = None
            self._update_buttons()
            done(result)

        def failed(error: Exception) -> None:
            self._task = None
            self._update_buttons()
            self._show_error(error_text(error))

        task.succeeded.connect(finished)
        task.failed.connect(failed)
        self._task = task
        self._update_buttons()
        task.start(work)

    def done(self, result: int) -> None:
        if self._dirty and self._current is not None:
            self._ask_discard(lambda: self.done(result))
            return
        self.check.cancel()
        self.browser.cancel()
        super().done(result)


def _sign_in_changed(before: Account, after: Account) -> bool:
    """Whether ``after`` signs in somewhere ``before`` did not (as another client)."""
    return (
        before.auth,
        before.oauth_authorization_endpoint,
        before.oauth_token_endpoint,
        before.oauth_client_id,
        before.oauth_scopes,
    ) != (
        after.auth,
        after.oauth_authorization_endpoint,
        after.oauth_token_endpoint,
        after.oauth_client_id,
        after.oauth_scopes,
    )
