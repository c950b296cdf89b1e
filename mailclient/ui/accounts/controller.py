"""The main window's accounts: adding and managing them, and answering servers that refuse.

AccountsController opens the Add account dialog (on first run too) and the Manage accounts
dialog from the window, and after every change hands the new list to the window's folder
pane and to the mail workers. When a worker reports that a server rejected the stored
password, it asks for a new one (once per account; see PasswordPrompter) and connects
again once it is saved; when a certificate is not, or no longer, trusted, it shows it
(CertificatePrompter) and connects again once the user trusts it. Everything that touches
the keyring, the config file or the network runs in those dialogs' tasks, off this thread.

The dialogs and prompts (and server discovery behind them) are imported when first
needed: a window that never shows them starts without loading them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.model import Account
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AuthenticationFailed, CertificateNotTrusted, PasswordMissing
from mailclient.store.mail import MailStore
from mailclient.ui.widgets.error_bar import ShownError
from mailclient.workers.events import WorkFailed
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.discovery import Network, Protocol
    from mailclient.ui.accounts.add_dialog import AddAccountDialog
    from mailclient.ui.accounts.certificate_dialog import CertificatePrompter
    from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog
    from mailclient.ui.accounts.password_prompt import PasswordPrompter
    from mailclient.ui.window.main_window import MainWindow
    from mailclient.workers.mail import MailWorkers

NO_PASSWORD = "The keyring holds no password for this account."


def _forget_account(store_path: Path, name: str) -> None:
    with MailStore.open(store_path) as store:
        store.forget_account(name)


class AccountsController(QObject):
    """Account dialogs and server refusals for one main window and its mail workers."""

    accounts_changed = Signal(list)  # list[Account], after the window and workers follow

    def __init__(
        self,
        window: MainWindow,
        accounts: AccountStore,
        credentials: SignIn | CredentialStore,
        mail: MailWorkers | None,
        store_path: Path,
        *,
        network: Network | None = None,
        extra_provider_files: Sequence[Path] = (),
    ) -> None:
        """``network`` and ``extra_provider_files`` go to the account dialogs' discovery."""
        super().__init__(window)
        self._window = window
        self._accounts = accounts
        # The window's SignIn is shared with the workers: a new sign-in reaches them.
        self._sign_in = credentials if isinstance(credentials, SignIn) else SignIn(credentials)
        self._credentials = self._sign_in.credentials
        self._mail = mail
        self._store_path = store_path
        self._network = network
        self._extra_provider_files = tuple(extra_provider_files)
        self.add_dialog: AddAccountDialog | None = None
        self.manage_dialog: ManageAccountsDialog | None = None
        self._passwords: PasswordPrompter | None = None
        self._certificates: CertificatePrompter | None = None

        window.add_account_requested.connect(self.add_account)
        window.manage_accounts_requested.connect(self.manage_accounts)
        if mail is not None:
            # After the window's own handler, so that the error shown for a refused
            # password or certificate offers to fix it rather than to fail again.
            mail.failed.connect(self._work_failed)
            mail.account_stopped.connect(self._account_stopped)

    @property
    def passwords(self) -> PasswordPrompter:
        if self._passwords is None:
            from mailclient.ui.accounts.password_prompt import PasswordPrompter

            self._passwords = PasswordPrompter(self._accounts, self._sign_in, self._window)
            self._passwords.password_saved.connect(self._password_saved)
        return self._passwords

    @property
    def certificates(self) -> CertificatePrompter:
        if self._certificates is None:
            from mailclient.ui.accounts.certificate_dialog import CertificatePrompter

            self._certificates = CertificatePrompter(self._accounts, self._window)
            self._certificates.certificate_trusted.connect(self._certificate_trusted)
        return self._certificates

    # -- dialogs ----------------------------------------------------------------------------

    def add_account(self) -> AddAccountDialog:
        """Show the Add account dialog (the first-run version while there is no account)."""
        if self.add_dialog is not None:
            self.add_dialog.raise_()
            self.add_dialog.activateWindow()
            return self.add_dialog
        from mailclient.ui.accounts.add_dialog import AddAccountDialog

        dialog = AddAccountDialog(
            self._accounts,
            self._sign_in,
            self._window,
            first_run=not self._accounts.accounts(),
            network=self._network,
            extra_provider_files=self._extra_provider_files,
        )
        dialog.account_added.connect(lambda _account: self.reload())
        dialog.finished.connect(lambda _result: self._add_dialog_closed(dialog))
        self.add_dialog = dialog
        dialog.open()
        return dialog

    def _add_dialog_closed(self, dialog: AddAccountDialog) -> None:
        if self.add_dialog is dialog:
            self.add_dialog = None
        dialog.deleteLater()

    def manage_accounts(self) -> ManageAccountsDialog:
        if self.manage_dialog is not None:
            self.manage_dialog.raise_()
            self.manage_dialog.activateWindow()
            return self.manage_dialog
        from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog

        dialog = ManageAccountsDialog(
            self._accounts,
            self._sign_in,
            self._window,
            mail_store_path=self._store_path,
            network=self._network,
            extra_provider_files=self._extra_provider_files,
        )
        dialog.account_renamed.connect(self._window.account_renamed)
        dialog.accounts_changed.connect(self.reload)
        dialog.signed_in.connect(self._password_saved)
        dialog.finished.connect(lambda _result: self._manage_dialog_closed(dialog))
        self.manage_dialog = dialog
        dialog.open()
        return dialog

    def _manage_dialog_closed(self, dialog: ManageAccountsDialog) -> None:
        if self.manage_dialog is dialog:
            self.manage_dialog = None
        dialog.deleteLater()

    def reload(self) -> list[Account]:
        """The accounts changed (added, edited, removed, reordered, a certificate pinned):
        the window and the workers follow. The store already holds them: no file access."""
        accounts = self._accounts.accounts()
        self._window.set_accounts(accounts)
        if self._mail is not None:
            self._mail.set_accounts(accounts)
        self.accounts_changed.emit(accounts)
        return accounts

    # -- servers that refuse ----------------------------------------------------------------

    def authentication_failed(self, name: str, service: Service, reason: str) -> bool:
        """A server rejected the stored password: ask for it (once). True if asking.

        For the IMAP workers' failures and for anyone else who logs in (sending mail).
        """
        asking = self.passwords.authentication_failed(name, service, reason)
        self._window.error_bar.show_error(
            ShownError(
                f"{name}: {reason}",
                lambda: self.passwords.ask(name, service, reason),
                key=f"account:{name}",
            )
        )
        return asking

    def certificate_refused(self, name: str, protocol: Protocol, reason: str) -> bool:
        """A server's certificate is not trusted: show it and let the user decide."""
        asking = self.certificates.certificate_refused(name, protocol)
        self._window.error_bar.show_error(
            ShownError(
                f"{name}: {reason}",
                lambda: self.certificates.ask(name, protocol),
                key=f"account:{name}",
            )
        )
        return asking

    def _work_failed(self, failure: WorkFailed) -> None:
        error = failure.error
        if not failure.account or error is None:
            return
        if isinstance(error, AuthenticationFailed):
            self.authentication_failed(failure.account, "imap", str(error))
        elif isinstance(error, PasswordMissing):
            self.authentication_failed(failure.account, "imap", NO_PASSWORD)
        elif isinstance(error, CertificateNotTrusted):
            from mailclient.discovery import Protocol

            self.certificate_refused(failure.account, Protocol.IMAP, str(error))

    def _password_saved(self, name: str) -> None:
        self._window.error_bar.clear_key(f"account:{name}")
        if self._mail is not None:
            self._mail.reconnect(name)

    def _certificate_trusted(self, name: str) -> None:
        self._window.error_bar.clear_key(f"account:{name}")
        # The pin is part of the account: the workers restart it with the new settings.
        self.reload()

    def _account_stopped(self, name: str) -> None:
        if any(a.name == name for a in self._accounts.accounts()):
            return
        # A removed account's sync may have written after the Manage accounts dialog
        # cleared its mail from the store; now that its threads are gone, clear again.
        run_task(
            self,
            lambda: _forget_account(self._store_path, name),
            lambda _: None,
            lambda error: self._window.error_bar.show_error(ShownError(error_text(error))),
        )
