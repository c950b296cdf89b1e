"""OAuth2 in the window: "Sign in with <provider>" in Add account, and "Sign in again".

The provider is the rig's authorization server, named for example.org in an extra
provider file; the browser is a URL handler that signs in on the provider's form.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, AuthMethod
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import SignInExpired
from mailclient.imap import client as imap_client
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog
from mailclient.ui.accounts.oauth_sign_in import SignInPrompt
from mailclient.ui.accounts.password_prompt import PasswordPrompter
from tests.rig import MailServers
from tests.rig.oauth import browse
from tests.support.memory_keyring import MemoryKeyring

CLIENT = ("mailclient-test", "")


class Browser(QObject):
    """Stands in for the desktop's browser: signs in as ``user`` on each page opened."""

    def __init__(self, user: str) -> None:
        super().__init__()
        self.user = user
        self.pages: list[tuple[int, str]] = []

    @Slot(QUrl)
    def open_url(self, url: QUrl) -> None:
        address = url.toString()
        threading.Thread(target=lambda: self.pages.append(browse(address, self.user))).start()


@pytest.fixture
def browser(mail_servers: MailServers) -> Iterator[Browser]:
    opened = Browser(mail_servers.user("alice").address)
    QDesktopServices.setUrlHandler("http", opened, "open_url")
    yield opened
    QDesktopServices.unsetUrlHandler("http")


@pytest.fixture
def provider_file(tmp_path: Path, mail_servers: MailServers) -> Path:
    assert mail_servers.oauth is not None
    path = tmp_path / "providers.json"
    entry = {
        "id": "rig",
        "name": "Rig Mail",
        "domains": ["example.org"],
        "imap": {"host": mail_servers.host, "port": mail_servers.imaps_port, "security": "ssl"},
        "smtp": {"host": mail_servers.host, "port": 587, "security": "starttls"},
        "oauth2": {
            "authorization_endpoint": mail_servers.oauth.authorization_endpoint,
            "token_endpoint": mail_servers.oauth.token_endpoint,
            "scopes": ["openid", "email"],
            "mechanism": "OAUTHBEARER",
            "required": True,
        },
    }
    path.write_text(json.dumps({"version": 1, "providers": [entry]}))
    return path


def test_add_account_signs_in_with_the_provider(
    qtbot: QtBot, tmp_path: Path, provider_file: Path, browser: Browser
) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    keyring = MemoryKeyring()
    sign_in = SignIn(CredentialStore(keyring, profile_id="gui"), lambda provider: CLIENT)
    dialog = AddAccountDialog(accounts, sign_in, extra_provider_files=[provider_file])
    qtbot.addWidget(dialog)
    dialog.show()
    identity = dialog.identity
    assert not identity.oauth_button.isVisible()
    qtbot.keyClicks(identity.email_edit, "alice@example.org")
    assert identity.oauth_button.isVisible()
    assert identity.oauth_button.text() == "Sign in with Rig Mail"
    assert not identity.password_edit.isVisible()  # this provider takes no password
    assert identity.oauth_button.isDefault()
    with qtbot.waitSignal(dialog.account_added, timeout=30_000) as added:
        identity.oauth_button.click()
        assert dialog.pages.currentWidget() is dialog.search
        assert dialog.search.browser_label.isVisible()
    account = added.args[0]
    assert account.auth is AuthMethod.OAUTH2 and account.oauth_provider == "rig"
    assert accounts.get(account.name).oauth_mechanism == "OAUTHBEARER"
    assert browser.pages and browser.pages[0][0] == 200
    [(_, key)] = keyring.secrets
    assert key.endswith("/oauth2")
    config = (tmp_path / "config.json").read_text()
    assert keyring.secrets[("mailclient", key)] not in config


def test_a_provider_without_a_client_id_says_so_in_the_wizard(
    qtbot: QtBot, tmp_path: Path, provider_file: Path
) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="gui"))
    dialog = AddAccountDialog(accounts, sign_in, extra_provider_files=[provider_file])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.identity.email_edit, "alice@example.org")
    dialog.identity.oauth_button.click()
    assert dialog.pages.currentWidget() is dialog.identity
    assert "mailclient has no OAuth2 client ID for rig" in dialog.identity.error_label.text()
    assert accounts.accounts() == []


def test_a_refused_sign_in_asks_once_to_sign_in_again(
    qtbot: QtBot, tmp_path: Path, provider_file: Path, browser: Browser
) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="gui"), lambda provider: CLIENT)
    adding = AddAccountDialog(accounts, sign_in, extra_provider_files=[provider_file])
    qtbot.addWidget(adding)
    qtbot.keyClicks(adding.identity.email_edit, "alice@example.org")
    with qtbot.waitSignal(adding.account_added, timeout=30_000):
        adding.identity.oauth_button.click()
    window = QWidget()
    qtbot.addWidget(window)
    prompter = PasswordPrompter(accounts, sign_in, window)
    name = "alice@example.org"
    reason = "Account must be signed in again (revoked)."
    assert prompter.authentication_failed(name, "imap", reason)
    assert prompter.authentication_failed(name, "smtp", reason)  # the same prompt, raised
    [prompt] = prompter.prompts.values()
    assert isinstance(prompt, SignInPrompt)
    # Not a shipped provider: the button names the sign-in server instead.
    assert prompt.sign_in_button.text() == "&Sign in with 127.0.0.1"
    prompt.reject()
    # Declined: the next failure stays quiet until the user asks.
    assert not prompter.authentication_failed(name, "imap", reason)
    assert prompter.prompts == {}
    assert prompter.ask(name, "imap", reason)
    [prompt] = prompter.prompts.values()
    assert isinstance(prompt, SignInPrompt)
    with qtbot.waitSignal(prompter.password_saved, timeout=30_000) as saved:
        prompt.sign_in_button.click()
    assert saved.args == [name]
    assert prompter.prompts == {}


def test_manage_accounts_shows_the_method_and_signs_in_again(
    qtbot: QtBot, tmp_path: Path, provider_file: Path, browser: Browser, mail_servers: MailServers
) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="gui"), lambda provider: CLIENT)
    adding = AddAccountDialog(accounts, sign_in, extra_provider_files=[provider_file])
    qtbot.addWidget(adding)
    qtbot.keyClicks(adding.identity.email_edit, "alice@example.org")
    with qtbot.waitSignal(adding.account_added, timeout=30_000):
        adding.identity.oauth_button.click()
    # The rig's servers: its CA, its submission port.
    added = replace(
        accounts.accounts()[0],
        ca_file=str(mail_servers.ca_file),
        smtp_port=mail_servers.submission_port,
    )
    accounts.update(added.name, added)
    password_account = replace(added, name="home", auth=AuthMethod.PASSWORD, oauth_provider="")
    accounts.add(password_account)
    dialog = ManageAccountsDialog(accounts, sign_in, mail_store_path=tmp_path / "mail.sqlite3")
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    assert form.auth_combo.currentText() == "OAuth2"
    assert form.method_label.text() == "in your browser, with 127.0.0.1"
    assert form.sign_in_again_button.isVisible()
    # A listed provider's sign-in needs no settings of its own.
    assert not form.password_edit.isVisible() and not form.oauth_box.isVisible()
    with qtbot.waitSignal(dialog.signed_in, timeout=30_000) as signed:
        form.sign_in_again_button.click()
    assert signed.args == ["alice@example.org"]
    assert dialog.result_label.text() == "Signed in."
    dialog.account_list.setCurrentRow(1)
    assert form.auth_combo.currentText() == "Password"
    assert form.method_label.text() == "kept in your system's keyring"
    assert not form.sign_in_again_button.isVisible()
    assert form.password_edit.isVisible() and not form.oauth_box.isVisible()
    # Test connection of the OAuth2 account uses its sign-in, not a password.
    dialog.account_list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.check.finished, timeout=30_000) as checked:
        dialog.test_connection()
    assert checked.args[0].ok, checked.args[0].html()


def test_the_intro_says_how_the_address_signs_in(qtbot: QtBot, tmp_path: Path) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    dialog = AddAccountDialog(accounts, SignIn(CredentialStore(MemoryKeyring(), profile_id="g")))
    qtbot.addWidget(dialog)
    identity = dialog.identity
    qtbot.keyClicks(identity.email_edit, "ann@outlook.com")
    assert "password" not in identity.intro.text().split(".")[0]
    assert "sign in with Outlook.com in your browser" in identity.intro.text()
    assert "never sees your password" in identity.intro.text()
    identity.email_edit.setText("ann@gmail.com")
    assert "or enter an app password" in identity.intro.text()
    identity.email_edit.setText("ann@example.net")
    assert identity.intro.text().startswith("Enter your email address and its password")


def test_continue_for_a_provider_without_passwords_signs_in_from_the_settings(
    qtbot: QtBot, tmp_path: Path, provider_file: Path, browser: Browser
) -> None:
    accounts = AccountStore(tmp_path / "config.json")
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="gui"), lambda provider: CLIENT)
    dialog = AddAccountDialog(accounts, sign_in, extra_provider_files=[provider_file])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.identity.email_edit, "alice@example.org")
    dialog.identity.continue_button.click()  # no password: this provider takes none
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.settings, timeout=10_000)
    settings = dialog.settings
    assert settings.form.auth_combo.currentText() == "OAuth2"
    assert settings.form.method_label.text() == "in your browser, with Rig Mail"
    assert not settings.form.oauth_box.isVisible()  # the provider's own settings
    assert "you sign in in your browser" in settings.found_label.text()
    assert settings.create_button.text() == "Sign in and c&reate account"
    assert not settings.test_button.isEnabled()
    with qtbot.waitSignal(dialog.account_added, timeout=30_000) as added:
        settings.create_button.click()
        assert dialog.pages.currentWidget() is dialog.search
        assert "Finish signing in on Rig Mail's page" in dialog.search.browser_label.text()
    assert added.args[0].auth is AuthMethod.OAUTH2
    assert added.args[0].oauth_provider == "rig"


def test_a_server_of_ones_own_signs_in_with_the_issuer_looked_up(
    qtbot: QtBot, tmp_path: Path, mail_servers: MailServers, browser: Browser
) -> None:
    assert mail_servers.oauth is not None
    accounts = AccountStore(tmp_path / "config.json")
    keyring = MemoryKeyring()
    sign_in = SignIn(CredentialStore(keyring, profile_id="gui"))  # no provider's client IDs
    dialog = AddAccountDialog(accounts, sign_in)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClicks(dialog.identity.email_edit, "alice@example.org")
    dialog.identity.manual_button.click()
    form = dialog.settings.form
    assert not form.oauth_box.isVisible()
    form.auth_combo.setCurrentIndex(form.auth_combo.findText("OAuth2"))
    assert form.oauth_box.isVisible() and not form.password_edit.isVisible()
    form.imap_host.setText(mail_servers.host)
    form.imap_port.setValue(mail_servers.imaps_port)
    form.smtp_host.setText(mail_servers.host)
    form.smtp_port.setValue(mail_servers.submission_port)
    form.ca_file_edit.setText(str(mail_servers.ca_file))
    dialog.create_account()  # nothing to sign in with yet
    assert "enter an issuer" in form.error_label.text()
    form.issuer_edit.setText(mail_servers.oauth.issuer)
    form.lookup_button.click()
    qtbot.waitUntil(lambda: form.token_edit.text() != "", timeout=10_000)
    assert form.authorization_edit.text() == mail_servers.oauth.authorization_endpoint
    assert form.token_edit.text() == mail_servers.oauth.token_endpoint
    assert form.method_label.text() == "in your browser, with 127.0.0.1"
    dialog.create_account()
    assert form.error_label.text() == "client ID: enter the one registered with the sign-in server"
    form.client_id_edit.setText(CLIENT[0])
    form.scopes_edit.setText("openid email")
    with qtbot.waitSignal(dialog.account_added, timeout=30_000) as added:
        dialog.settings.create_button.click()
    account = added.args[0]
    assert (account.auth, account.oauth_provider) == (AuthMethod.OAUTH2, "")
    assert account.oauth_client_id == CLIENT[0]
    assert account.oauth_token_endpoint == mail_servers.oauth.token_endpoint
    assert account.oauth_scopes == ("openid", "email")
    # Signed in for real: its servers take the token.
    assert imap_client.probe(account, sign_in.authenticator(account), timeout=10).folder_count


def test_manage_accounts_switches_a_password_account_to_oauth2_and_back(
    qtbot: QtBot, tmp_path: Path, mail_servers: MailServers, browser: Browser
) -> None:
    assert mail_servers.oauth is not None
    accounts = AccountStore(tmp_path / "config.json")
    keyring = MemoryKeyring()
    sign_in = SignIn(CredentialStore(keyring, profile_id="gui"))
    accounts.add(password_account(mail_servers))
    dialog = ManageAccountsDialog(accounts, sign_in, mail_store_path=tmp_path / "mail.sqlite3")
    qtbot.addWidget(dialog)
    dialog.show()
    form = dialog.form
    assert form.auth_combo.currentText() == "Password"
    form.auth_combo.setCurrentIndex(form.auth_combo.findText("OAuth2"))
    assert dialog.save_button.isEnabled()
    assert not form.sign_in_again_button.isVisible()  # nothing saved to sign in to yet
    form.issuer_edit.setText(mail_servers.oauth.issuer)
    form.lookup_button.click()
    qtbot.waitUntil(lambda: form.token_edit.text() != "", timeout=10_000)
    form.client_id_edit.setText(CLIENT[0])
    form.scopes_edit.setText("openid email")
    with qtbot.waitSignal(dialog.signed_in, timeout=30_000) as signed:
        dialog.save()  # saved, then signed in at the new sign-in server
    assert signed.args == ["home"]
    saved = accounts.get("home")
    assert saved.auth is AuthMethod.OAUTH2 and saved.oauth_client_id == CLIENT[0]
    assert sign_in.credentials.get_password("home", "oauth2")
    assert form.sign_in_again_button.isVisible()
    # Back to a password: it must be given.
    form.auth_combo.setCurrentIndex(form.auth_combo.findText("Password"))
    dialog.save()
    assert "Enter the password" in dialog.result_label.text()
    assert accounts.get("home").auth is AuthMethod.OAUTH2
    form.password_edit.setText(mail_servers.user("alice").password)
    with qtbot.waitSignal(dialog.accounts_changed, timeout=10_000):
        dialog.save()
    assert accounts.get("home").auth is AuthMethod.PASSWORD
    assert sign_in.credentials.get_password("home", "imap") == mail_servers.user("alice").password
    assert [key for _, key in keyring.secrets if key.endswith("/oauth2")] == []


def password_account(mail_servers: MailServers) -> Account:
    alice = mail_servers.user("alice")
    return Account(
        name="home",
        email=alice.address,
        imap_host=mail_servers.host,
        imap_port=mail_servers.imaps_port,
        smtp_host=mail_servers.host,
        smtp_port=mail_servers.submission_port,
        ca_file=str(mail_servers.ca_file),
    )


class TokenServer:
    """A token endpoint on loopback that refuses every grant and keeps what it was sent:
    another sign-in server than the one an account's refresh token comes from."""

    def __init__(self) -> None:
        self.received: list[str] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(self.rfile.read(length).decode("utf-8", "replace"))
                body = b'{"error": "invalid_grant"}'
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def other_token_server() -> Iterator[TokenServer]:
    server = TokenServer()
    yield server
    server.close()


def signed_in_oauth_account(
    tmp_path: Path, mail_servers: MailServers
) -> tuple[AccountStore, SignIn]:
    """The account "home" signed in at the rig's sign-in server, its refresh token kept."""
    assert mail_servers.oauth is not None
    accounts = AccountStore(tmp_path / "config.json")
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="gui"))
    accounts.add(
        replace(
            password_account(mail_servers),
            auth=AuthMethod.OAUTH2,
            oauth_authorization_endpoint=mail_servers.oauth.authorization_endpoint,
            oauth_token_endpoint=mail_servers.oauth.token_endpoint,
            oauth_client_id=CLIENT[0],
            oauth_scopes=("openid", "email"),
        )
    )
    sign_in.credentials.set_password("home", "oauth2", REFRESH_TOKEN)
    return accounts, sign_in


REFRESH_TOKEN = "refresh-token-of-the-rig-sign-in-server"


def test_a_new_token_endpoint_never_receives_the_old_refresh_token_after_saving(
    qtbot: QtBot,
    tmp_path: Path,
    mail_servers: MailServers,
    browser: Browser,
    other_token_server: TokenServer,
) -> None:
    accounts, sign_in = signed_in_oauth_account(tmp_path, mail_servers)
    dialog = ManageAccountsDialog(accounts, sign_in, mail_store_path=tmp_path / "mail.sqlite3")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.form.token_edit.setText(other_token_server.url)
    with qtbot.waitSignal(dialog.accounts_changed, timeout=10_000):
        dialog.save()
    saved = accounts.get("home")
    assert saved.oauth_token_endpoint == other_token_server.url
    # What the account's workers do at their next connection, as the dialog said it saved.
    with pytest.raises(SignInExpired):
        sign_in.authenticator(saved).secret("imap")
    # The browser sign-in that follows the save trades its code there, nothing else.
    qtbot.waitUntil(lambda: "Waiting" not in dialog.result_label.text(), timeout=30_000)
    assert not any(REFRESH_TOKEN in body for body in other_token_server.received)


def test_testing_a_new_token_endpoint_does_not_send_it_the_old_refresh_token(
    qtbot: QtBot, tmp_path: Path, mail_servers: MailServers, other_token_server: TokenServer
) -> None:
    accounts, sign_in = signed_in_oauth_account(tmp_path, mail_servers)
    dialog = ManageAccountsDialog(accounts, sign_in, mail_store_path=tmp_path / "mail.sqlite3")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.form.token_edit.setText(other_token_server.url)
    dialog.test_connection()
    qtbot.waitUntil(lambda: not dialog.check.running, timeout=30_000)
    assert "Save" in dialog.result_label.text()
    assert not any(REFRESH_TOKEN in body for body in other_token_server.received)
    assert sign_in.credentials.get_password("home", "oauth2") == REFRESH_TOKEN
