"""OAuth2 in the window: "Sign in with <provider>" in Add account, and "Sign in again".

The provider is the rig's authorization server, named for example.org in an extra
provider file; the browser is a URL handler that signs in on the provider's form.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import AuthMethod
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
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
    assert not identity.password_edit.isEnabled()  # this provider takes no password
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
    assert form.method_label.text() == "OAuth2 with 127.0.0.1, in the browser"
    assert form.sign_in_again_button.isVisible()
    assert not form.password_edit.isEnabled()
    with qtbot.waitSignal(dialog.signed_in, timeout=30_000) as signed:
        form.sign_in_again_button.click()
    assert signed.args == ["alice@example.org"]
    assert dialog.result_label.text() == "Signed in."
    dialog.account_list.setCurrentRow(1)
    assert form.method_label.text() == "Password"
    assert not form.sign_in_again_button.isVisible()
    assert form.password_edit.isEnabled()
    # Test connection of the OAuth2 account uses its sign-in, not a password.
    dialog.account_list.setCurrentRow(0)
    with qtbot.waitSignal(dialog.check.finished, timeout=30_000) as checked:
        dialog.test_connection()
    assert checked.args[0].ok, checked.args[0].html()
