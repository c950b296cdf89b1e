"""The account settings form (every field, editable) and the connection check behind its
"Test connection" button, shared by the Add account and Manage accounts dialogs.

Authentication is a password or OAuth2. An OAuth2 account of a listed provider signs in
with that provider's endpoints and client ID; one of a server of one's own (a company's
Keycloak, say) names its sign-in server: an issuer whose endpoints "Look up" finds (on a
worker thread), or the endpoints themselves, and the client ID registered there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.model import (
    DEFAULT_IMAP_PORT,
    DEFAULT_SMTP_PORT,
    Account,
    AuthMethod,
    Security,
)
from mailclient.accounts.oauth2 import discover as discover_endpoints
from mailclient.accounts.signin import Authenticator, FixedPassword
from mailclient.core.errors import CertificateNotTrusted, InvalidInput, MailclientError
from mailclient.discovery import Endpoint, Network, Protocol, ServerCertificate, fetch_certificate
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from mailclient.ui.accounts.certificate_dialog import CertificateDialog
from mailclient.ui.accounts.keep_fields import KeepFields
from mailclient.ui.accounts.oauth_sign_in import provider_name
from mailclient.workers.tasks import Task, error_text

CHECK_TIMEOUT = 20.0
SECURITY_CHOICES = (("SSL/TLS", Security.SSL), ("STARTTLS", Security.STARTTLS))
AUTH_CHOICES = (("Password", AuthMethod.PASSWORD), ("OAuth2", AuthMethod.OAUTH2))
# What a server of one's own is asked for when no scopes are given (as by the command
# line's --oauth-issuer): who the person is, for the mail server to find the mailbox.
DEFAULT_SCOPES = ("openid", "email")
# Interesting IMAP extensions, named in the check's report when the server has them.
_IMAP_FEATURES = ("IDLE", "CONDSTORE", "QRESYNC", "MOVE")


class AccountForm(QWidget):
    """Every field of an account. ``account()`` returns it validated or raises InvalidInput."""

    edited = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        with_name: bool = True,
        password_hint: str = "",
        sign_in_again: bool = False,
    ) -> None:
        super().__init__(parent)
        self._base: Account | None = None
        self._offer_sign_in_again = sign_in_again
        # The dialogs name providers from the same list (with any extra files) they use.
        self.provider_names: Callable[[Account], str] = provider_name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        you = QGroupBox("You", self)
        form = QFormLayout(you)
        self.name_edit = self._line("accountName", "what this account is called in mailclient")
        self.display_edit = self._line("displayName", "shown to the people you write to")
        self.email_edit = self._line("email", "you@example.org")
        self.username_edit = self._line("username", "the address, unless your provider says")
        self._password_hint = password_hint
        self.password_edit = self._line("password", password_hint)
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        if with_name:
            form.addRow("Account &name:", self.name_edit)
        else:
            self.name_edit.hide()
        form.addRow("&Your name:", self.display_edit)
        form.addRow("&Email address:", self.email_edit)
        form.addRow("&User name:", self.username_edit)
        # How the account signs in: a password, or OAuth2 in the browser.
        self.auth_combo = QComboBox(you)
        self.auth_combo.setObjectName("authentication")
        for text, method in AUTH_CHOICES:
            self.auth_combo.addItem(text, method)
        self.auth_combo.currentIndexChanged.connect(self._on_auth_changed)
        self.method_label = QLabel(you)
        self.method_label.setObjectName("signInMethod")
        self.method_label.setTextFormat(Qt.TextFormat.PlainText)
        self.method_label.setStyleSheet("color: palette(placeholder-text);")
        self.sign_in_again_button = QPushButton("Sign &in again…", you)
        self.sign_in_again_button.setObjectName("signInAgain")
        self.sign_in_again_button.hide()
        method_row = QHBoxLayout()
        method_row.addWidget(self.auth_combo)
        method_row.addWidget(self.method_label, 1)
        method_row.addWidget(self.sign_in_again_button)
        # A row whose field is a layout has no buddy of its own: its label needs one.
        form.addRow(_buddy_label("&Authentication:", self.auth_combo, you), method_row)
        form.addRow("&Password:", self.password_edit)
        self._you_form = form
        layout.addWidget(you)

        self.oauth_box = QGroupBox("OAuth2 sign-in server", self)
        self.oauth_box.setObjectName("oauthBox")
        oauth_form = QFormLayout(self.oauth_box)
        self.issuer_edit = self._line("oauthIssuer", "https://sso.example.org/realms/staff")
        self.lookup_button = QPushButton("&Look up", self.oauth_box)
        self.lookup_button.setObjectName("oauthLookUp")
        self.lookup_button.setToolTip("Find the endpoints this issuer announces")
        self.lookup_button.clicked.connect(self.look_up_issuer)
        issuer_row = QHBoxLayout()
        issuer_row.addWidget(self.issuer_edit, 1)
        issuer_row.addWidget(self.lookup_button)
        self.authorization_edit = self._line("oauthAuthorization", "https://…/authorize")
        self.token_edit = self._line("oauthToken", "https://…/token")
        self.client_id_edit = self._line("oauthClientId", "registered with the sign-in server")
        self.scopes_edit = self._line("oauthScopes", " ".join(DEFAULT_SCOPES))
        self.lookup_label = QLabel(self.oauth_box)
        self.lookup_label.setObjectName("oauthLookUpResult")
        self.lookup_label.setTextFormat(Qt.TextFormat.PlainText)
        self.lookup_label.setWordWrap(True)
        self.lookup_label.hide()
        oauth_form.addRow(_buddy_label("I&ssuer:", self.issuer_edit, self.oauth_box), issuer_row)
        oauth_form.addRow("", self.lookup_label)
        oauth_form.addRow("Au&thorization URL:", self.authorization_edit)
        oauth_form.addRow("T&oken URL:", self.token_edit)
        oauth_form.addRow("&Client ID:", self.client_id_edit)
        oauth_form.addRow("Sco&pes:", self.scopes_edit)
        self.oauth_box.hide()
        self._lookup: Task | None = None
        layout.addWidget(self.oauth_box)

        servers = QGroupBox("Servers", self)
        grid = QGridLayout(servers)
        for column, title in enumerate(("", "Server", "Port", "Security")):
            header = QLabel(title, servers)
            header.setObjectName("serverHeader")
            grid.addWidget(header, 0, column)
        self.imap_host = self._line("imapHost", "imap.example.org")
        self.imap_port = self._port("imapPort")
        self.imap_security = self._security("imapSecurity", self.imap_port, DEFAULT_IMAP_PORT)
        self.smtp_host = self._line("smtpHost", "smtp.example.org")
        self.smtp_port = self._port("smtpPort")
        self.smtp_security = self._security("smtpSecurity", self.smtp_port, DEFAULT_SMTP_PORT)
        rows = (
            ("Incoming (IMAP):", self.imap_host, self.imap_port, self.imap_security),
            ("Outgoing (SMTP):", self.smtp_host, self.smtp_port, self.smtp_security),
        )
        for row, (label, host, port, security) in enumerate(rows, start=1):
            grid.addWidget(QLabel(label, servers), row, 0)
            grid.addWidget(host, row, 1)
            grid.addWidget(port, row, 2)
            grid.addWidget(security, row, 3)
        grid.setColumnStretch(1, 1)
        ca_row = QHBoxLayout()
        self.ca_file_edit = self._line("caFile", "none: the certificate authorities of this system")
        browse = QPushButton("Browse…", servers)
        browse.setObjectName("caFileBrowse")
        browse.clicked.connect(self._browse_ca_file)
        ca_row.addWidget(self.ca_file_edit, 1)
        ca_row.addWidget(browse)
        grid.addWidget(QLabel("CA certificate:", servers), 3, 0)
        grid.addLayout(ca_row, 3, 1, 1, 3)
        layout.addWidget(servers)
        self.keep_fields = KeepFields(self)
        self.keep_fields.edited.connect(self._on_edited)
        layout.addWidget(self.keep_fields)

        self.error_label = QLabel(self)
        self.error_label.setObjectName("formError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self._fields = {
            "name": self.name_edit,
            "display name": self.display_edit,
            "email": self.email_edit,
            "username": self.username_edit,
            "IMAP host": self.imap_host,
            "SMTP host": self.smtp_host,
            "CA file": self.ca_file_edit,
            "authorization endpoint": self.authorization_edit,
            "token endpoint": self.token_edit,
            "client ID": self.client_id_edit,
        }

    def _line(self, name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.textEdited.connect(self._on_edited)
        return edit

    def _port(self, name: str) -> QSpinBox:
        spin = QSpinBox(self)
        spin.setObjectName(name)
        spin.setRange(1, 65535)
        spin.setGroupSeparatorShown(False)
        spin.valueChanged.connect(self._on_edited)
        return spin

    def _security(self, name: str, port: QSpinBox, defaults: dict[Security, int]) -> QComboBox:
        combo = QComboBox(self)
        combo.setObjectName(name)
        for text, security in SECURITY_CHOICES:
            combo.addItem(text, security)

        def follow(index: int) -> None:
            # Keep a default port in step with the security; a custom port is left alone.
            chosen = Security(combo.itemData(index))
            if port.value() in defaults.values():
                port.setValue(defaults[chosen])
            self._on_edited()

        combo.currentIndexChanged.connect(follow)
        return combo

    def _on_edited(self) -> None:
        self.error_label.hide()
        for edit in self._fields.values():
            edit.setStyleSheet("")
        self.edited.emit()

    def _browse_ca_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a CA certificate", "", "Certificates (*.pem *.crt *.cer);;All files (*)"
        )
        if path:
            self.ca_file_edit.setText(path)
            self._on_edited()

    def set_account(self, account: Account) -> None:
        self._base = account
        blocked = [w.blockSignals(True) for w in self._signal_widgets()]
        self.name_edit.setText(account.name)
        self.display_edit.setText(account.display_name)
        self.email_edit.setText(account.email)
        self.username_edit.setText(account.username)
        self.imap_host.setText(account.imap_host)
        self.imap_port.setValue(account.imap_port)
        _select(self.imap_security, account.imap_security)
        self.smtp_host.setText(account.smtp_host)
        self.smtp_port.setValue(account.smtp_port)
        _select(self.smtp_security, account.smtp_security)
        self.ca_file_edit.setText(account.ca_file or "")
        self.keep_fields.set_account(account)
        self.issuer_edit.clear()
        self.lookup_label.hide()
        self.authorization_edit.setText(account.oauth_authorization_endpoint)
        self.token_edit.setText(account.oauth_token_endpoint)
        self.client_id_edit.setText(account.oauth_client_id)
        self.client_id_edit.setPlaceholderText(
            f"the one configured for {self.provider_names(account)}"
            if account.oauth_provider
            else "registered with the sign-in server"
        )
        self.scopes_edit.setText(" ".join(account.oauth_scopes))
        self.auth_combo.setCurrentIndex(max(0, self.auth_combo.findData(account.auth)))
        self._show_auth()
        # Signing in again only makes sense for what is saved (Manage accounts).
        self.sign_in_again_button.setVisible(
            account.auth is AuthMethod.OAUTH2 and self._offer_sign_in_again
        )
        for widget, was in zip(self._signal_widgets(), blocked, strict=True):
            widget.blockSignals(was)
        self._on_edited()

    def auth(self) -> AuthMethod:
        return AuthMethod(self.auth_combo.currentData())

    def _on_auth_changed(self) -> None:
        self._show_auth()
        saved = self._base is not None and self._base.auth is self.auth()
        self.sign_in_again_button.setVisible(
            saved and self.auth() is AuthMethod.OAUTH2 and self._offer_sign_in_again
        )
        self._on_edited()

    def _show_auth(self) -> None:
        oauth = self.auth() is AuthMethod.OAUTH2
        self._you_form.setRowVisible(self.password_edit, not oauth)
        base = self._base
        # A listed provider's sign-in needs no settings: they come with the provider.
        listed = base is not None and bool(base.oauth_provider)
        self.oauth_box.setVisible(oauth and not listed)
        if not oauth:
            self.method_label.setText("kept in your system's keyring")
            return
        authorize = self.authorization_edit.text().strip()
        name = ""
        if base is not None and listed and authorize == base.oauth_authorization_endpoint:
            name = self.provider_names(base)
        host = QUrl(authorize).host()
        self.method_label.setText(f"in your browser, with {name or host or 'your sign-in server'}")

    def look_up_issuer(self) -> None:
        """Fill in the endpoints the issuer announces (OpenID Connect Discovery or RFC
        8414), fetched on a worker thread."""
        issuer = self.issuer_edit.text().strip()
        if not issuer:
            self._show_lookup("Enter the issuer's address first.", error=True)
            return
        if "://" not in issuer:
            issuer = "https://" + issuer
        if self._lookup is not None:
            self._lookup.cancel()
        self.lookup_button.setEnabled(False)
        self._show_lookup(f"Asking {QUrl(issuer).host() or issuer}…", error=False)
        task = Task(self)
        task.succeeded.connect(self._on_looked_up)
        task.failed.connect(self._on_lookup_failed)
        task.start(functools.partial(discover_endpoints, issuer))
        self._lookup = task

    def _on_looked_up(self, endpoints: tuple[str, str]) -> None:
        self._lookup = None
        self.lookup_button.setEnabled(True)
        self.authorization_edit.setText(endpoints[0])
        self.token_edit.setText(endpoints[1])
        self._show_lookup("Found its endpoints.", error=False)
        self._on_edited()
        self._show_auth()

    def _on_lookup_failed(self, error: Exception) -> None:
        self._lookup = None
        self.lookup_button.setEnabled(True)
        self._show_lookup(error_text(error), error=True)

    def _show_lookup(self, text: str, *, error: bool) -> None:
        self.lookup_label.setText(text)
        self.lookup_label.setStyleSheet("color: #b00020;" if error else "")
        self.lookup_label.show()

    def _signal_widgets(self) -> list[QWidget]:
        return [
            *self._fields.values(),
            self.imap_port,
            self.smtp_port,
            self.imap_security,
            self.smtp_security,
            self.auth_combo,
            self.issuer_edit,
        ]

    def account(self) -> Account:
        """The account the fields describe, validated; fields not shown come from the last
        set_account(). Raises InvalidInput and marks the field."""
        base = self._base or Account(name="", email="", imap_host="", smtp_host="")
        account = replace(
            base,
            name=self.name_edit.text() if self.name_edit.isVisibleTo(self) else base.name,
            display_name=self.display_edit.text(),
            email=self.email_edit.text(),
            username=self.username_edit.text(),
            imap_host=self.imap_host.text(),
            imap_port=self.imap_port.value(),
            imap_security=Security(self.imap_security.currentData()),
            smtp_host=self.smtp_host.text(),
            smtp_port=self.smtp_port.value(),
            smtp_security=Security(self.smtp_security.currentData()),
            ca_file=self.ca_file_edit.text().strip() or None,
            auth=self.auth(),
        )
        account = self.keep_fields.applied(account)
        try:
            if account.auth is AuthMethod.OAUTH2:
                account = self._with_oauth(account)
            return account.validated()
        except InvalidInput as error:
            self.show_error(error)
            raise

    def _with_oauth(self, account: Account) -> Account:
        authorize = self.authorization_edit.text().strip()
        token = self.token_edit.text().strip()
        if not authorize and not token:
            hint = "press Look up" if self.issuer_edit.text().strip() else "enter an issuer"
            raise InvalidInput(
                "authorization endpoint", f"{hint} to find the sign-in server's endpoints"
            )
        scopes = tuple(self.scopes_edit.text().replace(",", " ").split())
        # Endpoints changed by hand are no longer the listed provider's.
        same = authorize == account.oauth_authorization_endpoint and (
            token == account.oauth_token_endpoint
        )
        provider = account.oauth_provider if same else ""
        client_id = self.client_id_edit.text().strip()
        if not provider and not client_id:
            raise InvalidInput("client ID", "enter the one registered with the sign-in server")
        return replace(
            account,
            oauth_provider=provider,
            oauth_authorization_endpoint=authorize,
            oauth_token_endpoint=token,
            oauth_scopes=scopes or (account.oauth_scopes if provider else DEFAULT_SCOPES),
            oauth_client_id=client_id,
            oauth_mechanism=account.oauth_mechanism if same else "",
        )

    def show_error(self, error: InvalidInput) -> None:
        self.error_label.setText(str(error))
        self.error_label.show()
        edit = self._fields.get(error.field)
        if edit is not None:
            edit.setStyleSheet("border: 1px solid #b00020;")
            edit.setFocus()

    def password(self) -> str:
        return self.password_edit.text()

    def keep_pins(self, account: Account) -> None:
        """Adopt the certificates trusted during a check of ``account``."""
        if self._base is not None:
            self._base = replace(self._base, pinned_certificates=account.pinned_certificates)


def _buddy_label(text: str, buddy: QWidget, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def _select(combo: QComboBox, security: Security) -> None:
    combo.setCurrentIndex(max(0, combo.findData(security)))


@dataclass(frozen=True)
class ServerOutcome:
    """How one server answered the check, in plain words."""

    protocol: Protocol
    ok: bool
    text: str
    error: Exception | None = None


@dataclass(frozen=True)
class CheckResult:
    account: Account  # with any certificate the user chose to trust during the check
    imap: ServerOutcome
    smtp: ServerOutcome

    @property
    def ok(self) -> bool:
        return self.imap.ok and self.smtp.ok

    def html(self) -> str:
        """Both outcomes as rich text: a mark and a sentence per server."""
        rows = "".join(_outcome_row(o) for o in (self.imap, self.smtp))
        return f"<table cellspacing='2'>{rows}</table>"


def _outcome_row(outcome: ServerOutcome) -> str:
    color, mark = ("#1b7f3b", "✔") if outcome.ok else ("#b00020", "✘")
    return (
        f"<tr><td style='color:{color}; font-size:large; padding-right:6px'>{mark}</td>"
        f"<td>{escape(outcome.text, quote=False)}</td></tr>"
    )


# The credentials to check with, for IMAP and SMTP: called on the worker thread.
Credentials = Callable[[], tuple[Authenticator, Authenticator]]


def typed_password(password: str, account: Account) -> Credentials:
    """Both servers with a password typed in the form (not stored yet)."""
    typed = FixedPassword(password, account.login)
    return lambda: (typed, typed)


def probe_both(account: Account, credentials: Credentials) -> tuple[ServerOutcome, ServerOutcome]:
    """Log in to both servers (blocking; run off the GUI thread) and say what happened."""
    imap_auth, smtp_auth = credentials()
    try:
        imap = imap_client.probe(account, imap_auth, timeout=CHECK_TIMEOUT)
        features = [f for f in _IMAP_FEATURES if f in imap.capabilities]
        extra = f"; it supports {', '.join(features)}" if features else ""
        folders = "1 folder" if imap.folder_count == 1 else f"{imap.folder_count} folders"
        imap_outcome = ServerOutcome(
            Protocol.IMAP,
            True,
            f"Incoming mail: signed in to {imap.host}:{imap.port} as {account.login}, "
            f"{folders}{extra}.",
        )
    except MailclientError as error:
        imap_outcome = ServerOutcome(Protocol.IMAP, False, str(error), error)
    try:
        smtp = smtp_client.probe(account, smtp_auth, timeout=CHECK_TIMEOUT)
        size = (
            f"messages up to {smtp.max_size / 1_000_000:.0f} MB"
            if smtp.max_size
            else "no size limit announced"
        )
        smtp_outcome = ServerOutcome(
            Protocol.SMTP,
            True,
            f"Outgoing mail: signed in to {smtp.host}:{smtp.port} as {account.login}, {size}.",
        )
    except MailclientError as error:
        smtp_outcome = ServerOutcome(Protocol.SMTP, False, str(error), error)
    return imap_outcome, smtp_outcome


class ConnectionCheck(QObject):
    """Logs in to both servers off the GUI thread; asks about untrusted certificates.

    When a server's certificate is not trusted, it is fetched (no credentials sent) and
    shown in a CertificateDialog; if the user trusts it, it is pinned on the account and
    the check runs again. ``finished`` carries a CheckResult.
    """

    finished = Signal(CheckResult)
    progressed = Signal(str)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self._account: Account | None = None
        self._passwords: Credentials = typed_password("", Account("", "", "", ""))
        self._asked: set[Endpoint] = set()
        self._trusted: set[str] = set()  # fingerprints the user trusted during this check
        self._task: Task | None = None
        self._outcomes: tuple[ServerOutcome, ServerOutcome] | None = None
        self.dialog: CertificateDialog | None = None

    @property
    def running(self) -> bool:
        return self._account is not None

    def start(self, account: Account, passwords: Credentials) -> None:
        self.cancel()
        self._account = account
        self._passwords = passwords
        self._asked = set()
        self._trusted = set()
        self._probe()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = None
        self._account = None

    def _probe(self) -> None:
        account, passwords = self._account, self._passwords
        assert account is not None
        self.progressed.emit(
            f"Signing in to {account.imap_host} and {account.smtp_host}…"
            if account.imap_host != account.smtp_host
            else f"Signing in to {account.imap_host}…"
        )
        self._task = Task(self)
        self._task.succeeded.connect(self._on_probed)
        self._task.failed.connect(self._on_task_failed)
        self._task.start(lambda: probe_both(account, passwords))

    def _on_probed(self, outcomes: tuple[ServerOutcome, ServerOutcome]) -> None:
        self._outcomes = outcomes
        account = self._account
        assert account is not None
        for outcome in outcomes:
            if not isinstance(outcome.error, CertificateNotTrusted):
                continue
            endpoint = Endpoint.of(account, outcome.protocol)
            if endpoint in self._asked:
                continue
            self._asked.add(endpoint)
            self.progressed.emit(f"Fetching the certificate of {endpoint.host}…")
            network = Network(ca_file=account.ca_file, timeout=CHECK_TIMEOUT)
            self._task = Task(self)
            self._task.succeeded.connect(self._on_certificate)
            self._task.failed.connect(lambda error: self._finish_with_note(error_text(error)))
            self._task.start(functools.partial(fetch_certificate, endpoint, network))
            return
        self._finish()

    def _on_certificate(self, certificate: ServerCertificate) -> None:
        account = self._account
        assert account is not None
        endpoint = certificate.endpoint
        if certificate.fingerprint in self._trusted and certificate.valid_now():
            # The user trusted this very certificate moments ago, for the other server.
            self._trust(certificate)
            return
        pinned = account.pinned_pem(endpoint.host, endpoint.port)
        self.progressed.emit(f"Check the certificate of {endpoint.host} before going on.")
        self.dialog = CertificateDialog(certificate, pinned, self._window)
        self.dialog.accepted.connect(lambda: self._trust(certificate))
        self.dialog.rejected.connect(self._finish)
        self.dialog.open()

    def _trust(self, certificate: ServerCertificate) -> None:
        account = self._account
        assert account is not None
        endpoint = certificate.endpoint
        self._trusted.add(certificate.fingerprint)
        # A certificate the usual checks accept needs no pin: renewals then pass silently.
        pem = certificate.pem if certificate.problem is not None else None
        self._account = account.with_pin(endpoint.host, endpoint.port, pem)
        self._probe()

    def _on_task_failed(self, error: Exception) -> None:
        account = self._account
        assert account is not None
        text = error_text(error)
        self._emit(
            CheckResult(
                account,
                ServerOutcome(Protocol.IMAP, False, text),
                ServerOutcome(Protocol.SMTP, False, text),
            )
        )

    def _finish_with_note(self, note: str) -> None:
        assert self._outcomes is not None
        imap, smtp = self._outcomes
        self._outcomes = (
            replace(imap, text=f"{imap.text} {note}") if not imap.ok else imap,
            smtp,
        )
        self._finish()

    def _finish(self) -> None:
        account, outcomes = self._account, self._outcomes
        assert account is not None and outcomes is not None
        self._emit(CheckResult(account, *outcomes))

    def _emit(self, result: CheckResult) -> None:
        self._task = None
        self._account = None
        self.dialog = None
        self.finished.emit(result)
