"""Signing an OAuth2 account in from the window: the browser step, and "Sign in again".

The sign-in itself (loopback server, token endpoint, keyring) runs on a worker thread; the
browser is opened on the GUI thread through QDesktopServices. SignInPrompt is what the
PasswordPrompter shows instead of a password field when an OAuth2 account must sign in
again, so the rule "one prompt per account, then quiet until asked" holds for both.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.model import Account
from mailclient.accounts.oauth2 import SignInCancelled, sign_in_account
from mailclient.accounts.signin import SignIn
from mailclient.discovery.providers import ProviderDatabase
from mailclient.workers.tasks import Task, error_text


def provider_name(account: Account, providers: ProviderDatabase | None = None) -> str:
    """The name to show on the button: the provider's (in ``providers``, else the shipped
    list), or the sign-in server's host."""
    from urllib.parse import urlsplit

    provider = (providers or ProviderDatabase.load()).by_id(account.oauth_provider)
    if provider is not None:
        return provider.name
    return urlsplit(account.oauth_authorization_endpoint).hostname or "your provider"


class BrowserSignIn(QObject):
    """One browser sign-in at a time: start(), then ``signed_in`` or ``failed``.

    ``then`` runs on the worker thread after the refresh token is stored (adding the
    account, say); its result is what ``signed_in`` carries.
    """

    signed_in = Signal(object)  # what ``then`` returned: its receiver knows the type
    failed = Signal(Exception)  # a cancelled sign-in is not reported
    _open_requested = Signal(str)

    def __init__(self, sign_in: SignIn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sign_in = sign_in
        self._task: Task | None = None
        self.opened: list[str] = []  # the addresses shown in the browser
        # Emitted from the worker thread: the browser opens on this (the GUI) thread.
        self._open_requested.connect(self._open)

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, account: Account, then: Callable[[], object] | None = None) -> None:
        self.cancel()
        sign_in, ask_open = self._sign_in, self._open_requested.emit
        task = Task(self)
        task.succeeded.connect(self._on_done)
        task.failed.connect(self._on_failed)
        cancelled = task.cancel_event

        def run() -> object:
            sign_in_account(sign_in, account, ask_open, cancelled=cancelled)
            return then() if then is not None else account

        task.start(run)
        self._task = task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _open(self, url: str) -> None:
        self.opened.append(url)
        QDesktopServices.openUrl(QUrl(url, QUrl.ParsingMode.StrictMode))

    def _on_done(self, result: object) -> None:
        self._task = None
        self.signed_in.emit(result)

    def _on_failed(self, error: Exception) -> None:
        self._task = None
        if not isinstance(error, SignInCancelled) or "timed out" in str(error):
            self.failed.emit(error)


class SignInPrompt(QDialog):
    """Asks to sign an OAuth2 account in again; ``password_saved`` once it did."""

    password_saved = Signal(str)

    def __init__(
        self, account: Account, reason: str, sign_in: SignIn, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signInPrompt")
        self.setWindowTitle("Sign in again")
        self.setMinimumWidth(520)
        self.account = account
        name = provider_name(account)
        heading = QLabel(f"<b>Sign in again to {html.escape(account.email)}</b>", self)
        heading.setWordWrap(True)
        self.reason_label = QLabel(
            f"{reason} Sign in with {name} in your browser to go on receiving and sending "
            "mail; mailclient never sees your password there.",
            self,
        )
        self.reason_label.setObjectName("reason")
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_label.setWordWrap(True)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("signInStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.hide()
        self.buttons = QDialogButtonBox(self)
        self.sign_in_button = QPushButton(f"&Sign in with {name}", self)
        self.sign_in_button.setObjectName("signInWithProvider")
        self.sign_in_button.setDefault(True)
        self.buttons.addButton(self.sign_in_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        self.sign_in_button.clicked.connect(self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self.browser = BrowserSignIn(sign_in, self)
        self.browser.signed_in.connect(self._on_signed_in)
        self.browser.failed.connect(self._on_failed)

    def submit(self) -> None:
        self.sign_in_button.setEnabled(False)
        self._show_status("Waiting for the sign-in in your browser…", error=False)
        self.browser.start(self.account)

    def _on_signed_in(self, _: object) -> None:
        self.password_saved.emit(self.account.name)
        self.accept()

    def _on_failed(self, error: Exception) -> None:
        self.sign_in_button.setEnabled(True)
        self._show_status(error_text(error), error=True)

    def _show_status(self, text: str, *, error: bool) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("color: #b00020;" if error else "")
        self.status_label.show()

    def done(self, result: int) -> None:
        self.browser.cancel()
        super().done(result)
