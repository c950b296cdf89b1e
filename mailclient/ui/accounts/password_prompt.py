"""Asking again for a password a server rejected, without a loop of failures.

PasswordPrompter is what the main window talks to: it shows at most one prompt per
account, and after the user cancels one it stays quiet for that account until the user
asks (for example by clicking the account's error). The prompt checks the new password
with the server that rejected the old one before storing it in the keyring, all off the
GUI thread; a wrong one is said so in the prompt, which stays open.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.lifecycle import set_passwords
from mailclient.accounts.model import Account, AuthMethod
from mailclient.accounts.signin import FixedPassword, SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AccountNotFound, AuthenticationFailed
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from mailclient.ui.accounts.oauth_sign_in import SignInPrompt
from mailclient.workers.tasks import Task, error_text

_NAMES: dict[Service, str] = {"imap": "incoming mail (IMAP)", "smtp": "outgoing mail (SMTP)"}
_OTHER: dict[Service, Service] = {"imap": "smtp", "smtp": "imap"}
CHECK_TIMEOUT = 20.0


def _verify_and_store(
    account: Account,
    service: Service,
    password: str,
    also_other: bool,
    credentials: CredentialStore,
) -> None:
    """Sign in with ``password`` to the server that rejected the old one, then store it."""
    typed = FixedPassword(password, account.login)
    if service == "imap":
        imap_client.probe(account, typed, timeout=CHECK_TIMEOUT)
    else:
        smtp_client.probe(account, typed, timeout=CHECK_TIMEOUT)
    services: tuple[Service, ...] = (service, _OTHER[service]) if also_other else (service,)
    set_passwords(credentials, account.name, password, services)


class PasswordPrompt(QDialog):
    """Asks for one account's password again; ``password_saved`` once it works and is stored."""

    password_saved = Signal(str)

    def __init__(
        self,
        account: Account,
        service: Service,
        reason: str,
        credentials: CredentialStore,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("passwordPrompt")
        self.setWindowTitle("Password needed")
        self.setMinimumWidth(520)
        self.account = account
        self.service = service
        self._credentials = credentials
        self._task: Task | None = None

        heading = QLabel(f"<b>Enter the password for {html.escape(account.login)}</b>", self)
        heading.setWordWrap(True)
        self.reason_label = QLabel(
            f"{reason} Enter the current password of the account {account.name!r} to go on "
            f"receiving and sending mail.",
            self,
        )
        self.reason_label.setObjectName("reason")
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)  # may quote the server
        self.reason_label.setWordWrap(True)
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.also_other = QCheckBox(f"Use it for {_NAMES[_OTHER[service]]} too", self)
        self.also_other.setObjectName("alsoOther")
        self.also_other.setChecked(True)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("promptError")
        self.password_edit.textEdited.connect(lambda _: self.error_label.hide())
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.hide()
        form = QFormLayout()
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.also_other)
        self.buttons = QDialogButtonBox(self)
        self.ok_button = self.buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setObjectName("signIn")
        self.ok_button.setDefault(True)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.reason_label)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def submit(self) -> None:
        password = self.password_edit.text()
        if not password:
            self._show_error("Enter the password.")
            return
        self._set_busy(True)
        self.error_label.setText(f"Signing in to {_NAMES[self.service]}…")
        self.error_label.setStyleSheet("")
        self.error_label.show()
        account, service, also = self.account, self.service, self.also_other.isChecked()
        credentials = self._credentials
        task = Task(self)
        task.succeeded.connect(self._on_stored)
        task.failed.connect(self._on_failed)
        task.start(lambda: _verify_and_store(account, service, password, also, credentials))
        self._task = task

    def _on_stored(self, _: object) -> None:
        self._task = None
        self.password_saved.emit(self.account.name)
        self.accept()

    def _on_failed(self, error: Exception) -> None:
        self._task = None
        self._set_busy(False)
        self.password_edit.selectAll()
        self.password_edit.setFocus()
        if isinstance(error, AuthenticationFailed):
            self._show_error(f"This password was refused too. {error}")
        else:
            self._show_error(error_text(error))

    def _show_error(self, text: str) -> None:
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setText(text)
        self.error_label.show()
        self.adjustSize()

    def _set_busy(self, busy: bool) -> None:
        self.ok_button.setEnabled(not busy)
        self.password_edit.setEnabled(not busy)

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        super().done(result)


class PasswordPrompter(QObject):
    """The main window's entry point for rejected passwords.

    Call authentication_failed() whenever a server rejects a stored password
    (AuthenticationFailed). ``password_saved(name)`` says when to retry that account.
    """

    password_saved = Signal(str)

    def __init__(
        self,
        accounts: AccountStore,
        credentials: SignIn | CredentialStore,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self._accounts = accounts
        self._sign_in = credentials if isinstance(credentials, SignIn) else SignIn(credentials)
        self._credentials = self._sign_in.credentials
        self._window = window
        self.prompts: dict[str, PasswordPrompt | SignInPrompt] = {}
        self._declined: set[str] = set()

    def authentication_failed(self, account_name: str, service: Service, reason: str) -> bool:
        """Show a prompt unless one is open or the user declined; True if one is showing."""
        if account_name in self.prompts:
            self.prompts[account_name].raise_()
            return True
        if account_name in self._declined:
            return False
        return self.ask(account_name, service, reason)

    def ask(self, account_name: str, service: Service, reason: str) -> bool:
        """Show the prompt because the user asked for it, even after a Cancel."""
        self._declined.discard(account_name)
        if account_name in self.prompts:
            self.prompts[account_name].raise_()
            return True
        try:
            account = self._accounts.get(account_name)
        except AccountNotFound:
            return False
        prompt: PasswordPrompt | SignInPrompt
        if account.auth is AuthMethod.OAUTH2:
            # Not a password: the account signs in again in the browser.
            prompt = SignInPrompt(account, reason, self._sign_in, self._window)
        else:
            prompt = PasswordPrompt(account, service, reason, self._credentials, self._window)
        prompt.password_saved.connect(self.password_saved)
        prompt.finished.connect(lambda result: self._on_finished(account_name, result))
        self.prompts[account_name] = prompt
        prompt.open()
        return True

    def declined(self, account_name: str) -> bool:
        return account_name in self._declined

    def _on_finished(self, account_name: str, result: int) -> None:
        prompt = self.prompts.pop(account_name, None)
        if result != QDialog.DialogCode.Accepted:
            self._declined.add(account_name)
        if prompt is not None:
            prompt.deleteLater()
