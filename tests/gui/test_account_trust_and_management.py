"""Certificates, managing accounts and asking for a password again, in the window's dialogs.

A second Dovecot from the rig presents a self-signed certificate; the tests rewrite its
certificate and reload it, as a server's administrator (or an attacker) would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QDialog, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.lifecycle import add_account
from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import CertificateChanged, PasswordMissing
from mailclient.core.tls import certificate_fingerprint, pem_to_der
from mailclient.discovery import Network, Protocol
from mailclient.imap import client as imap_client
from mailclient.store.mail import MailStore, RemoteFolder
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.certificate_dialog import CertificatePrompter
from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog
from mailclient.ui.accounts.password_prompt import PasswordPrompter
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers
from tests.support.loopback import CertKey
from tests.support.self_signed import SelfSignedDovecot

WAIT = 30_000


@pytest.fixture(autouse=True)
def _no_stray_tasks() -> Iterator[None]:
    yield
    QThreadPool.globalInstance().waitForDone(WAIT)


def test_self_signed_refused_then_trusted_then_warned_again(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
    self_signed_dovecot: SelfSignedDovecot,
) -> None:
    alice = mail_servers.user("alice")
    dialog = AddAccountDialog(accounts, credentials, network=Network())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.identity.email_edit.setText(alice.address)
    dialog.identity.password_edit.setText(alice.password)
    dialog.identity.manual_button.click()
    form = dialog.settings.form
    form.name_edit.setText("selfhosted")
    form.imap_host.setText("127.0.0.1")
    form.imap_port.setValue(self_signed_dovecot.port)
    form.smtp_host.setText("localhost")
    form.smtp_port.setValue(mail_servers.submission_port)
    form.ca_file_edit.setText(str(mail_servers.ca_file))

    # Refused by default: the user is asked, says no, and no account exists.
    dialog.settings.create_button.click()
    qtbot.waitUntil(lambda: dialog.check.dialog is not None, timeout=WAIT)
    question = dialog.check.dialog
    assert not question.changed
    assert question.certificate.fingerprint == _fingerprint(self_signed_dovecot.current)
    assert "self-signed" in question.explanation.text()
    question.refuse_button.click()
    qtbot.waitUntil(dialog.settings.create_button.isEnabled, timeout=WAIT)
    assert "IMAP server 127.0.0.1" in dialog.settings.result_label.text()
    assert "not trusted" in dialog.settings.result_label.text()
    assert accounts.accounts() == []

    # Trusted after accepting its fingerprint: the account is created with the pin.
    dialog.settings.create_button.click()
    qtbot.waitUntil(lambda: dialog.check.dialog is not None, timeout=WAIT)
    with qtbot.waitSignal(dialog.account_added, timeout=WAIT) as added:
        dialog.check.dialog.trust_button.click()
    account: Account = added.args[0]
    pinned = account.pinned_pem("127.0.0.1", self_signed_dovecot.port)
    assert (
        pinned is not None
        and pinned.strip() == self_signed_dovecot.current.cert_pem.decode().strip()
    )
    assert accounts.get("selfhosted").pinned_certificates == account.pinned_certificates
    assert imap_client.probe(account, FixedPassword(alice.password), timeout=10).folder_count >= 1

    # A new certificate is never accepted silently: the connection fails before the login.
    self_signed_dovecot.renew()
    with pytest.raises(CertificateChanged):
        imap_client.probe(account, FixedPassword(alice.password), timeout=10)

    # The window asks again, saying the certificate changed; trusting it updates the pin.
    prompter = CertificatePrompter(accounts, dialog)
    assert prompter.certificate_refused("selfhosted", Protocol.IMAP)
    qtbot.waitUntil(lambda: "selfhosted" in prompter.dialogs, timeout=WAIT)
    again = prompter.dialogs["selfhosted"]
    assert again.changed
    assert again.heading.text() == "<b>The certificate of 127.0.0.1 has changed</b>"
    with qtbot.waitSignal(prompter.certificate_trusted, timeout=WAIT):
        again.trust_button.click()
    renewed = AccountStore(accounts.path).get("selfhosted")
    assert renewed.pinned_pem("127.0.0.1", self_signed_dovecot.port) != pinned
    assert imap_client.probe(renewed, FixedPassword(alice.password), timeout=10).folder_count >= 1

    # Refused in the window: no second question for this account until the user asks.
    self_signed_dovecot.renew()
    assert prompter.certificate_refused("selfhosted", Protocol.IMAP)
    qtbot.waitUntil(lambda: "selfhosted" in prompter.dialogs, timeout=WAIT)
    prompter.dialogs["selfhosted"].refuse_button.click()
    assert not prompter.certificate_refused("selfhosted", Protocol.IMAP)
    assert prompter.declined("selfhosted")
    assert AccountStore(accounts.path).get("selfhosted") == renewed


def _fingerprint(cert: CertKey) -> str:
    return certificate_fingerprint(pem_to_der(cert.cert_pem.decode()))


def test_two_accounts_added_edited_reordered_removed(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "profile" / "mail.sqlite3"
    dialog = ManageAccountsDialog(accounts, credentials, mail_store_path=store_path)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.empty_label.isVisible() and not dialog.editor.isVisible()

    for user, name in (("alice", "Work"), ("bob", "Home")):
        dialog.add_button.click()
        add = dialog.add_dialog
        assert add is not None
        add.identity.email_edit.setText(mail_servers.user(user).address)
        add.identity.password_edit.setText(mail_servers.user(user).password)
        add.identity.manual_button.click()
        add.settings.form.set_account(rig_account(mail_servers, user, name=name, host="localhost"))
        add.settings.form.password_edit.setText(mail_servers.user(user).password)
        with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
            add.settings.create_button.click()
    assert dialog.names() == ["Work", "Home"]
    assert dialog.title.text() == "Home"

    # Edit: display name, signature, identities, the sent-copy switch.
    dialog.account_list.setCurrentRow(0)
    assert dialog.title.text() == "Work"
    qtbot.keyClicks(dialog.form.display_edit, "Alice Liddell")
    dialog.signature_edit.setPlainText("Alice\nWonderland Ltd")
    dialog.identities_edit.setPlainText("info@example.org\n\nsales@example.org\n")
    dialog.server_saves_sent.setChecked(True)
    assert dialog.save_button.isEnabled()
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        dialog.save_button.click()
    work = AccountStore(accounts.path).get("Work")
    assert work.display_name == "Alice Liddell"
    assert work.signature == "Alice\nWonderland Ltd"
    assert work.identities == ("info@example.org", "sales@example.org")
    assert work.server_saves_sent
    assert not dialog.save_button.isEnabled()

    # A bad identity is named and nothing is saved.
    dialog.identities_edit.setPlainText("not an address")
    dialog.save_button.click()
    assert "identity" in dialog.result_label.text()
    assert dialog.tabs.currentIndex() == 1
    dialog.revert_button.click()
    assert dialog.identities_edit.toPlainText() == "info@example.org\nsales@example.org"

    # Test connection with the stored password.
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "Outgoing mail: signed in" in dialog.result_label.text(), timeout=WAIT)
    assert "Incoming mail: signed in" in dialog.result_label.text()

    # Reorder.
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        dialog.down_button.click()
    assert [a.name for a in AccountStore(accounts.path).accounts()] == ["Home", "Work"]
    assert dialog.names() == ["Home", "Work"] and dialog.title.text() == "Work"

    # Remove, after a confirmation: config, passwords and cached mail go.
    with MailStore.open(store_path) as mail:
        mail.sync_folder_list("Work", [RemoteFolder("INBOX", "/")])
        assert [f.account for f in mail.folders()] == ["Work"]
    dialog.remove_button.click()
    box = dialog.confirm_box
    assert box is not None and "Work" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert dialog.names() == ["Home", "Work"]
    dialog.remove_button.click()
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        dialog.confirm_box.findChild(QPushButton, "confirmRemove").click()
    assert [a.name for a in AccountStore(accounts.path).accounts()] == ["Home"]
    with pytest.raises(PasswordMissing):
        credentials.get_password("Work", "imap")
    assert credentials.get_password("Home", "imap") == mail_servers.user("bob").password
    with MailStore.open(store_path) as mail:
        assert mail.folders() == []
    assert dialog.names() == ["Home"]


def test_unsaved_changes_are_not_lost_silently(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore, mail_servers: MailServers
) -> None:
    add_account(
        accounts, credentials, rig_account(mail_servers, "alice", name="A", host="localhost"), "x"
    )
    add_account(
        accounts, credentials, rig_account(mail_servers, "bob", name="B", host="localhost"), "x"
    )
    dialog = ManageAccountsDialog(accounts, credentials)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.signature_edit.setPlainText("edited")
    dialog.account_list.setCurrentRow(1)
    assert dialog.title.text() == "A"  # still on the edited account, asked first
    box = dialog.confirm_box
    assert box is not None
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        box.button(QMessageBox.StandardButton.Save).click()
    qtbot.waitUntil(lambda: dialog.title.text() == "B", timeout=WAIT)
    assert AccountStore(accounts.path).get("A").signature == "edited"


def test_password_prompt_checks_stores_and_does_not_loop(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore, mail_servers: MailServers
) -> None:
    alice = mail_servers.user("alice")
    add_account(
        accounts,
        credentials,
        rig_account(mail_servers, "alice", name="Work", host="localhost"),
        "old",
    )
    window = QDialog()
    qtbot.addWidget(window)
    prompter = PasswordPrompter(accounts, credentials, window)
    reason = "The IMAP server localhost rejected the password for alice@example.org."

    assert prompter.authentication_failed("Work", "imap", reason)
    prompt = prompter.prompts["Work"]
    assert reason in prompt.reason_label.text()
    # A second failure while the prompt is open does not open another one.
    assert prompter.authentication_failed("Work", "imap", reason)
    assert list(prompter.prompts) == ["Work"]

    prompt.password_edit.setText("still-wrong")
    prompt.ok_button.click()
    qtbot.waitUntil(lambda: "refused too" in prompt.error_label.text(), timeout=WAIT)
    assert prompt.isVisible()
    assert credentials.get_password("Work", "imap") == "old"

    prompt.password_edit.setText(alice.password)
    with qtbot.waitSignal(prompter.password_saved, timeout=WAIT) as saved:
        prompt.ok_button.click()
    assert saved.args == ["Work"]
    assert credentials.get_password("Work", "imap") == alice.password
    assert credentials.get_password("Work", "smtp") == alice.password
    assert prompter.prompts == {}

    # Cancel: no new prompt on the next failures, until the user asks for one.
    assert prompter.authentication_failed("Work", "smtp", reason)
    prompter.prompts["Work"].reject()
    assert not prompter.authentication_failed("Work", "smtp", reason)
    assert prompter.declined("Work")
    assert prompter.ask("Work", "smtp", reason)
    assert "Work" in prompter.prompts
    prompter.prompts["Work"].reject()
