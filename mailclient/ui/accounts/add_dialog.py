"""The Add account dialog: from an address and a password to a working account.

Steps: who you are (name, address, password); the search for the servers, with progress
and Cancel; the settings found, every field editable, with Test connection. Create account
signs in to both servers first, then stores the password in the keyring and the account in
the profile. An account that signs in with OAuth2 (a provider that needs it, servers whose
autoconfig file says so, or the manual setting) is signed in in the browser instead, and
stored once that worked. Everything that touches the network, the keyring or the config
file runs on a worker thread.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.lifecycle import add_account
from mailclient.accounts.model import Account, AuthMethod, validate_email
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AccountExists, AccountNotFound, InvalidInput, MailclientError
from mailclient.discovery import (
    METHOD_TITLES,
    Cancelled,
    Discovery,
    Method,
    Network,
    Step,
    StepState,
    discover,
)
from mailclient.discovery.providers import (
    Provider,
    ProviderDatabase,
    with_provider_oauth,
    with_provider_servers,
)
from mailclient.ui.accounts.form import (
    AccountForm,
    CheckResult,
    ConnectionCheck,
    typed_password,
)
from mailclient.ui.accounts.oauth_sign_in import BrowserSignIn, provider_name
from mailclient.workers.tasks import Task, error_text

_STATE_MARKS = {
    StepState.TRYING: ("…", "#555555"),
    StepState.FOUND: ("✔", "#1b7f3b"),
    StepState.NOTHING: ("\u2013", "#777777"),
    StepState.SKIPPED: ("·", "#777777"),
}


PASSWORD_INTRO = (
    "Enter your email address and its password; mailclient finds your provider's "
    "settings. The password is kept in your system's keyring, never in a file."
)


def _heading(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("pageHeading")
    label.setTextFormat(Qt.TextFormat.PlainText)  # may name a domain the user typed
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def _error_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setStyleSheet("color: #b00020;")
    label.hide()
    return label


class IdentityPage(QWidget):
    """Name, address, password: all a newcomer needs to know."""

    window_size = (600, 330)

    def __init__(self, first_run: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _heading("Welcome to mailclient" if first_run else "Add a mail account", self)
        )
        self.intro = QLabel(PASSWORD_INTRO, self)
        self.intro.setObjectName("intro")
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        layout.addSpacing(12)
        form = QFormLayout()
        self.display_edit = QLineEdit(self)
        self.display_edit.setObjectName("displayName")
        self.display_edit.setPlaceholderText("shown to the people you write to, e.g. Alice Smith")
        self.email_edit = QLineEdit(self)
        self.email_edit.setObjectName("email")
        self.email_edit.setPlaceholderText("you@example.org")
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_password = QCheckBox("Show password", self)
        self.show_password.toggled.connect(
            lambda shown: self.password_edit.setEchoMode(
                QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
            )
        )
        form.addRow("&Your name:", self.display_edit)
        form.addRow("&Email address:", self.email_edit)
        form.addRow("&Password:", self.password_edit)
        form.addRow("", self.show_password)
        self._form = form
        layout.addLayout(form)
        # Shown when the address belongs to a provider that signs in with OAuth2.
        self.oauth_button = QPushButton(self)
        self.oauth_button.setObjectName("oauthSignIn")
        self.oauth_button.hide()
        self.oauth_hint = QLabel(self)
        self.oauth_hint.setObjectName("oauthHint")
        self.oauth_hint.setWordWrap(True)
        self.oauth_hint.hide()
        oauth_row = QHBoxLayout()
        oauth_row.addWidget(self.oauth_button)
        oauth_row.addWidget(self.oauth_hint, 1)
        layout.addLayout(oauth_row)
        self.error_label = _error_label(self)
        self.error_label.setObjectName("identityError")
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        self.manual_button = QPushButton("Set up &manually", self)
        self.manual_button.setObjectName("manualSetup")
        self.cancel_button = QPushButton("Cancel", self)
        self.continue_button = QPushButton("&Continue", self)
        self.continue_button.setObjectName("continue")
        self.continue_button.setDefault(True)
        buttons.addWidget(self.manual_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.continue_button)
        layout.addLayout(buttons)

    def email(self) -> str:
        """The address, validated; raises InvalidInput and says so on the page."""
        try:
            return validate_email("Email address", self.email_edit.text())
        except InvalidInput as error:
            self.show_error(str(error))
            self.email_edit.setFocus()
            raise

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def offer_oauth(self, provider: Provider | None) -> None:
        """Offer "Sign in with <provider>" for its addresses; where the provider takes
        no passwords at all, the password field goes."""
        oauth = provider.oauth if provider is not None else None
        self.oauth_button.setVisible(oauth is not None)
        self.oauth_hint.setVisible(oauth is not None)
        required = oauth is not None and oauth.required
        self.password_edit.setEnabled(not required)
        self._form.setRowVisible(self.password_edit, not required)
        self._form.setRowVisible(self.show_password, not required)
        # Enter signs in where that is the only way in.
        self.oauth_button.setDefault(required)
        self.continue_button.setDefault(not required)
        self.oauth_hint.setVisible(oauth is not None and not required)
        if provider is None or oauth is None:
            self.intro.setText(PASSWORD_INTRO)
            return
        self.oauth_button.setText(f"Sign in with {provider.name}")
        if required:
            self.intro.setText(
                f"Enter your email address, then sign in with {provider.name} in your "
                "browser. mailclient never sees your password there: it keeps only the "
                "permission to read and send your mail, in your system's keyring."
            )
            self.oauth_hint.setText(
                f"{provider.name} takes no passwords from mail programs: sign in in your browser."
            )
        else:
            self.intro.setText(
                f"Enter your email address, then sign in with {provider.name} in your "
                "browser, or enter an app password and Continue. What lets mailclient in "
                "is kept in your system's keyring, never in a file."
            )
            self.oauth_hint.setText("in your browser, or enter an app password above and Continue.")

    def password_needed(self) -> bool:
        """Whether Continue needs a password (not for a provider that takes none)."""
        return self.password_edit.isEnabled()


class SearchPage(QWidget):
    """Progress of the search, one line per method, with Cancel."""

    window_size = (600, 330)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.heading = _heading("Looking for your settings", self)
        layout.addWidget(self.heading)
        layout.addSpacing(12)
        self.browser_label = QLabel(self)
        self.browser_label.setObjectName("waitingForBrowser")
        self.browser_label.setWordWrap(True)
        self.browser_label.hide()
        layout.addWidget(self.browser_label)
        self.steps = QWidget(self)
        grid = QGridLayout(self.steps)
        grid.setContentsMargins(0, 0, 0, 0)
        self._marks: dict[Method, QLabel] = {}
        self._texts: dict[Method, QLabel] = {}
        for row, method in enumerate(Method):
            mark = QLabel(self)
            mark.setFixedWidth(24)
            mark.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
            title = QLabel(f"<b>{METHOD_TITLES[method]}</b>", self)
            title.setAlignment(Qt.AlignmentFlag.AlignTop)
            text = QLabel(self)
            text.setObjectName(f"step-{method.value}")
            text.setTextFormat(Qt.TextFormat.PlainText)  # quotes what servers answered
            text.setWordWrap(True)
            text.setAlignment(Qt.AlignmentFlag.AlignTop)
            text.setStyleSheet("color: palette(placeholder-text);")
            grid.addWidget(mark, row, 0)
            grid.addWidget(title, row, 1)
            grid.addWidget(text, row, 2)
            self._marks[method] = mark
            self._texts[method] = text
        grid.setColumnStretch(2, 1)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(10)
        layout.addWidget(self.steps)
        layout.addSpacing(12)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelSearch")
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)

    def reset(self, domain: str) -> None:
        self.heading.setText(f"Looking for the settings of {domain}")
        self.steps.show()
        self.browser_label.hide()
        for method in Method:
            self._marks[method].clear()
            self._texts[method].setText("Waiting.")

    def show_step(self, step: Step) -> None:
        mark, color = _STATE_MARKS[step.state]
        self._marks[step.method].setText(f"<span style='color:{color}'>{mark}</span>")
        self._texts[step.method].setText(step.text)

    def step_text(self, method: Method) -> str:
        return self._texts[method].text()

    def waiting_for_browser(self, provider: str) -> None:
        self.heading.setText(f"Signing in with {provider}")
        self.steps.hide()
        self.browser_label.setText(
            f"Finish signing in on {provider}'s page, which opened in your browser. "
            "mailclient waits here and never sees your password there."
        )
        self.browser_label.show()


class SettingsPage(QWidget):
    """What was found, every field editable; Test connection and Create account."""

    window_size = (680, 620)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(_heading("Check your settings", self))
        self.found_label = QLabel(self)
        self.found_label.setObjectName("foundBy")
        self.found_label.setWordWrap(True)
        self.found_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.found_label.setMargin(8)
        self.found_label.setTextFormat(Qt.TextFormat.RichText)
        self.found_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.found_label)
        # The check's result sits right under the servers it is about, scrolling with them.
        content = QWidget(self)
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        self.form = AccountForm(content)
        self.result_label = QLabel(content)
        self.result_label.setObjectName("checkResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        content_layout.addWidget(self.form)
        content_layout.addWidget(self.result_label)
        content_layout.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidget(content)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroll_area, 1)
        buttons = QHBoxLayout()
        self.back_button = QPushButton("&Back", self)
        self.test_button = QPushButton("&Test connection", self)
        self.test_button.setObjectName("testConnection")
        self.cancel_button = QPushButton("Cancel", self)
        self.create_button = QPushButton("C&reate account", self)
        self.create_button.setObjectName("createAccount")
        self.create_button.setDefault(True)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.create_button)
        layout.addLayout(buttons)

    def show_found(self, discovery: Discovery | None) -> None:
        if discovery is None:
            text = "Enter your provider's server settings. They usually appear on its help pages."
        else:
            text = html.escape(discovery.summary(), quote=False)
            if discovery.sign_in_summary():
                text += " " + html.escape(discovery.sign_in_summary(), quote=False)
            for note in discovery.notes:
                text += f"<br><b>Note:</b> {html.escape(note, quote=False)}"
        self.found_label.setText(text)

    def show_result(self, text: str) -> None:
        self.result_label.setText(text)
        if text:
            # Below a long form (OAuth2's settings) it would otherwise go unseen.
            self.scroll_area.ensureWidgetVisible(self.result_label)

    def set_busy(self, busy: bool) -> None:
        for button in (self.back_button, self.create_button):
            button.setEnabled(not busy)
        self.form.setEnabled(not busy)
        self.show_auth(busy)

    def show_auth(self, busy: bool = False) -> None:
        """An OAuth2 account is signed in in the browser by Create account; only then
        is there a token to test the servers with."""
        oauth = self.form.auth() is AuthMethod.OAUTH2
        self.test_button.setEnabled(not busy and not oauth)
        self.test_button.setToolTip(
            "Create account signs you in first; test it then under Manage accounts."
            if oauth
            else ""
        )
        self.create_button.setText("Sign in and c&reate account" if oauth else "C&reate account")


class AddAccountDialog(QDialog):
    """Adds one account. ``account_added`` carries it once it and its password are stored."""

    account_added = Signal(Account)

    def __init__(
        self,
        accounts: AccountStore,
        credentials: SignIn | CredentialStore,
        parent: QWidget | None = None,
        *,
        first_run: bool = False,
        network: Network | None = None,
        extra_provider_files: Sequence[Path] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("addAccountDialog")
        self.setWindowTitle("Add account")
        self._accounts = accounts
        self._sign_in = credentials if isinstance(credentials, SignIn) else SignIn(credentials)
        self._credentials = self._sign_in.credentials
        self._network = network
        self._extra_provider_files = tuple(extra_provider_files)
        self._search: Task | None = None
        self._save: Task | None = None
        self._create_after_check = False
        self._browser_from: QWidget | None = None  # the page a browser sign-in began on
        self.discovery: Discovery | None = None

        self.pages = QStackedWidget(self)
        self.identity = IdentityPage(first_run, self)
        self.search = SearchPage(self)
        self.settings = SettingsPage(self)
        for page in (self.identity, self.search, self.settings):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self.pages.currentChanged.connect(self._on_page_changed)
        self._on_page_changed()
        self.check = ConnectionCheck(self)

        self._providers = ProviderDatabase.load(self._extra_provider_files)
        self.settings.form.provider_names = functools.partial(
            provider_name, providers=self._providers
        )
        self.browser = BrowserSignIn(self._sign_in, self)
        self.browser.signed_in.connect(self._on_stored)
        self.browser.failed.connect(self._on_browser_failed)
        self.identity.email_edit.textChanged.connect(self._email_changed)
        self.identity.oauth_button.clicked.connect(self.sign_in_with_provider)
        self.identity.continue_button.clicked.connect(self.start_search)
        self.identity.manual_button.clicked.connect(self.set_up_manually)
        self.identity.cancel_button.clicked.connect(self.reject)
        self.search.cancel_button.clicked.connect(self.cancel_search)
        self.settings.back_button.clicked.connect(self._back_to_identity)
        self.settings.test_button.clicked.connect(self.test_connection)
        self.settings.create_button.clicked.connect(self.create_account)
        self.settings.cancel_button.clicked.connect(self.reject)
        self.settings.form.edited.connect(lambda: self.settings.show_result(""))
        self.settings.form.auth_combo.currentIndexChanged.connect(lambda: self.settings.show_auth())
        self.check.progressed.connect(self.settings.show_result)
        self.check.finished.connect(self._on_checked)

    def _on_page_changed(self) -> None:
        page = self.pages.currentWidget()
        assert isinstance(page, IdentityPage | SearchPage | SettingsPage)
        # A short page in a window sized for the long one looks empty and unfinished.
        self.resize(*page.window_size)
        # Enter presses the page's own main button; a dialog has one default button.
        for button in (self.identity.continue_button, self.settings.create_button):
            button.setDefault(page.isAncestorOf(button))

    # Step 1 → 2: the search.

    def start_search(self) -> None:
        try:
            email = self.identity.email()
        except InvalidInput:
            return
        if self.identity.password_needed() and not self.identity.password_edit.text():
            self.identity.show_error("Enter the password of this address.")
            self.identity.password_edit.setFocus()
            return
        self.identity.show_error("")
        self.search.reset(email.rsplit("@", 1)[1])
        self.pages.setCurrentWidget(self.search)
        task = Task(self)
        task.progressed.connect(self.search.show_step)
        task.succeeded.connect(self._on_found)
        task.failed.connect(self._on_search_failed)
        network, extra = self._network, self._extra_provider_files
        task.start(
            functools.partial(
                discover,
                email,
                network=network,
                extra_provider_files=extra,
                report=task.report,
                cancelled=task.cancel_event,
            )
        )
        self._search = task

    def _provider_of(self, email: str) -> Provider | None:
        domain = email.rpartition("@")[2].strip()
        return self._providers.lookup(domain) if domain else None

    def _email_changed(self, text: str) -> None:
        self.identity.offer_oauth(self._provider_of(text))

    def sign_in_with_provider(self) -> None:
        """The provider's page in the browser; the account is stored once signed in."""
        try:
            email = self.identity.email()
        except InvalidInput:
            return
        provider = self._provider_of(email)
        if provider is None or provider.oauth is None:
            return
        account = with_provider_oauth(with_provider_servers(self._draft(email), provider), provider)
        try:
            account = account.validated()
            self._sign_in.client_for(account)
            self._accounts.get(account.name)
        except AccountNotFound:
            pass
        except MailclientError as error:
            self.identity.show_error(str(error))
            return
        else:
            self.identity.show_error(f"Another account is already called {account.name!r}.")
            return
        self.identity.show_error("")
        self._wait_for_browser(account, provider.name, self.identity)

    def _wait_for_browser(self, account: Account, name: str, back_to: QWidget) -> None:
        """Sign ``account`` in on ``name``'s page, then store it; Cancel or a failure
        goes back to the page ``back_to``."""
        self.search.reset(account.email.rsplit("@", 1)[1])
        self.search.waiting_for_browser(name)
        self._browser_from = back_to
        self.pages.setCurrentWidget(self.search)
        accounts = self._accounts
        self.browser.start(account, lambda: accounts.add(account))

    def _on_browser_failed(self, error: Exception) -> None:
        if self._browser_from is self.settings:
            self.pages.setCurrentWidget(self.settings)
            self.settings.show_result(
                f"<span style='color:#b00020'>{html.escape(error_text(error))}</span>"
            )
            return
        self.pages.setCurrentWidget(self.identity)
        self.identity.show_error(error_text(error))

    def cancel_search(self) -> None:
        back_to = self._browser_from if self.browser.running else None
        self.browser.cancel()
        if self._search is not None:
            self._search.cancel()
            self._search = None
        self.pages.setCurrentWidget(back_to or self.identity)

    def _on_search_failed(self, error: Exception) -> None:
        self._search = None
        if isinstance(error, Cancelled):
            return
        self.pages.setCurrentWidget(self.identity)
        self.identity.show_error(error_text(error))

    def _on_found(self, discovery: Discovery) -> None:
        self._search = None
        self.discovery = discovery
        self._show_settings(discovery.apply(self._draft(discovery.email)), discovery)

    # Step 3: the settings.

    def set_up_manually(self) -> None:
        email = self.identity.email_edit.text().strip()
        self.identity.show_error("")
        self.discovery = None
        self._show_settings(self._draft(email), None)

    def _draft(self, email: str) -> Account:
        return Account(
            name=email,
            email=email,
            display_name=self.identity.display_edit.text().strip(),
            imap_host="",
            smtp_host="",
        )

    def _show_settings(self, account: Account, discovery: Discovery | None) -> None:
        form = self.settings.form
        form.set_account(account)
        form.password_edit.setText(self.identity.password_edit.text())
        domain = account.email.rsplit("@", 1)[-1] if "@" in account.email else "example.org"
        form.imap_host.setPlaceholderText(f"imap.{domain}")
        form.smtp_host.setPlaceholderText(f"smtp.{domain}")
        self.settings.show_found(discovery)
        self.settings.show_result("")
        self.settings.set_busy(False)
        self.pages.setCurrentWidget(self.settings)
        empty = [e for e in (form.email_edit, form.imap_host, form.smtp_host) if not e.text()]
        (empty[0] if empty else self.settings.create_button).setFocus()

    def _back_to_identity(self) -> None:
        self.check.cancel()
        self.settings.set_busy(False)
        self.pages.setCurrentWidget(self.identity)

    def _checked_account(self) -> Account | None:
        try:
            account = self.settings.form.account()
        except InvalidInput:
            return None
        if not self.settings.form.password():
            self.settings.form.show_error(InvalidInput("password", "enter the password"))
            return None
        return account

    def test_connection(self) -> None:
        self._create_after_check = False
        self._run_check()

    def create_account(self) -> None:
        if self.settings.form.auth() is AuthMethod.OAUTH2:
            self._sign_in_and_store()
            return
        self._create_after_check = True
        self._run_check()

    def _sign_in_and_store(self) -> None:
        """The browser sign-in for an OAuth2 account set up on the settings page."""
        try:
            account = self.settings.form.account()
        except InvalidInput:
            return
        try:
            self._sign_in.client_for(account)
            self._accounts.get(account.name)
        except AccountNotFound:
            pass
        except MailclientError as error:
            self.settings.show_result(
                f"<span style='color:#b00020'>{html.escape(str(error))}</span>"
            )
            return
        else:
            self.settings.form.show_error(
                InvalidInput("name", f"another account is already called {account.name!r}")
            )
            return
        self.settings.show_result("")
        self._wait_for_browser(account, provider_name(account, self._providers), self.settings)

    def _run_check(self) -> None:
        account = self._checked_account()
        if account is None:
            return
        password = self.settings.form.password()
        self.settings.set_busy(True)
        self.check.start(account, typed_password(password, account))

    def _on_checked(self, result: CheckResult) -> None:
        self.settings.form.keep_pins(result.account)
        self.settings.show_result(result.html())
        if result.ok and self._create_after_check:
            self._store(result.account)
            return
        self.settings.set_busy(False)

    def _store(self, account: Account) -> None:
        self.settings.show_result(self.settings.result_label.text() + "<br>Saving the account…")
        accounts, credentials = self._accounts, self._credentials
        password = self.settings.form.password()
        task = Task(self)
        task.succeeded.connect(self._on_stored)
        task.failed.connect(self._on_store_failed)
        task.start(functools.partial(add_account, accounts, credentials, account, password))
        self._save = task

    def _on_stored(self, account: Account) -> None:
        self._save = None
        self.account_added.emit(account)
        self.accept()

    def _on_store_failed(self, error: Exception) -> None:
        self._save = None
        self.settings.set_busy(False)
        if isinstance(error, AccountExists):
            self.settings.form.show_error(
                InvalidInput("name", f"another account is already called {error.name!r}")
            )
            return
        self.settings.show_result(
            f"<span style='color:#b00020'>{html.escape(error_text(error))}</span>"
        )

    def done(self, result: int) -> None:
        # Closing stops the search, a browser sign-in and any check; a save in flight
        # still completes.
        self.browser.cancel()
        if self._search is not None:
            self._search.cancel()
        self.check.cancel()
        super().done(result)
