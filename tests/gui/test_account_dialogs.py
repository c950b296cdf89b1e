"""The account dialogs against the real Dovecot, Postfix and Secret Service of the test rig.

Discovery is pointed at loopback servers through a Network (an HTTPS server with a
test-CA certificate for autoconfig.example.org, a provider file, routed host names), so
nothing here reaches the Internet.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Security
from mailclient.accounts.signin import FixedPassword
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import PasswordMissing
from mailclient.discovery import Method, Network
from mailclient.imap import client as imap_client
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from tests.rig import MailServers
from tests.support.loopback import HttpsServer, Response, loopback_route, no_srv_records

WAIT = 30_000  # ms; generous for a loaded machine, a passing test never waits this long
OFFLINE = Network(
    route=loopback_route({}), srv_lookup=no_srv_records, imap_guesses=(), smtp_guesses=()
)


@pytest.fixture(autouse=True)
def _no_stray_tasks() -> Iterator[None]:
    yield
    # A task still running would post into widgets that pytest-qt has already closed.
    QThreadPool.globalInstance().waitForDone(WAIT)


def provider_file(tmp_path: Path, servers: MailServers, domain: str = "example.org") -> Path:
    """A provider list with one entry for the rig's servers, as an administrator might add."""
    path = tmp_path / "providers.json"
    entry = {
        "id": "rig",
        "name": "Test rig",
        "domains": [domain],
        "imap": {"host": "localhost", "port": servers.imaps_port, "security": "ssl"},
        "smtp": {"host": "localhost", "port": servers.submission_port, "security": "starttls"},
    }
    path.write_text(json.dumps({"version": 1, "providers": [entry]}))
    return path


def open_dialog(qtbot: QtBot, dialog: AddAccountDialog) -> AddAccountDialog:
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def search(qtbot: QtBot, dialog: AddAccountDialog, address: str, password: str) -> None:
    dialog.identity.display_edit.setText("Test User")
    dialog.identity.email_edit.setText(address)
    dialog.identity.password_edit.setText(password)
    dialog.identity.continue_button.click()
    assert dialog.pages.currentWidget() is dialog.search
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.settings, timeout=WAIT)


def test_found_in_the_provider_list_then_created(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
    tmp_path: Path,
) -> None:
    alice = mail_servers.user("alice")
    dialog = open_dialog(
        qtbot,
        AddAccountDialog(
            accounts,
            credentials,
            first_run=True,
            network=OFFLINE,
            extra_provider_files=[provider_file(tmp_path, mail_servers)],
        ),
    )
    search(qtbot, dialog, alice.address, alice.password)
    assert "known providers: Test rig" in dialog.settings.found_label.text()
    assert dialog.search.step_text(Method.PROVIDERS) == "Found: Test rig."
    assert dialog.search.step_text(Method.AUTOCONFIG) == "Not needed."
    form = dialog.settings.form
    assert (form.imap_host.text(), form.imap_port.value()) == ("localhost", mail_servers.imaps_port)
    assert form.smtp_port.value() == mail_servers.submission_port
    assert form.smtp_security.currentText() == "STARTTLS"
    form.ca_file_edit.setText(str(mail_servers.ca_file))  # the servers' private CA

    with qtbot.waitSignal(dialog.account_added, timeout=WAIT) as added:
        dialog.settings.create_button.click()
    account = added.args[0]
    assert accounts.accounts() == [account]
    assert (account.name, account.display_name) == (alice.address, "Test User")
    assert credentials.get_password(account.name, "smtp") == alice.password
    password = credentials.get_password(account.name, "imap")
    assert imap_client.probe(account, FixedPassword(password), timeout=10).folder_count >= 1
    assert "Signing in" not in dialog.settings.result_label.text()
    assert not dialog.isVisible()


def test_found_by_autoconfig_over_https(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
) -> None:
    document = f"""<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.org">
  <incomingServer type="imap"><hostname>localhost</hostname>
    <port>{mail_servers.imap_port}</port><socketType>STARTTLS</socketType>
    <username>%EMAILADDRESS%</username></incomingServer>
  <outgoingServer type="smtp"><hostname>localhost</hostname>
    <port>{mail_servers.smtps_port}</port><socketType>SSL</socketType>
    <username>%EMAILADDRESS%</username></outgoingServer>
</emailProvider></clientConfig>""".encode()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    mail_servers.certs.ca.issue_cert("autoconfig.example.org").configure_cert(server_context)
    routes = {"/mail/config-v1.1.xml": Response(body=document)}
    with HttpsServer(server_context, routes) as https:
        network = Network(
            route=loopback_route({("autoconfig.example.org", 443): https.port}),
            https_context=mail_servers.ssl_context(),
            srv_lookup=no_srv_records,
        )
        dialog = open_dialog(qtbot, AddAccountDialog(accounts, credentials, network=network))
        bob = mail_servers.user("bob")
        search(qtbot, dialog, bob.address, bob.password)
    assert dialog.search.step_text(Method.PROVIDERS) == "example.org is not a known provider."
    assert dialog.search.step_text(Method.AUTOCONFIG) == "Found at autoconfig.example.org."
    assert "configuration file at https://autoconfig.example.org/" in (
        dialog.settings.found_label.text()
    )
    form = dialog.settings.form
    assert (form.imap_port.value(), form.imap_security.currentText()) == (
        mail_servers.imap_port,
        "STARTTLS",
    )
    assert (form.smtp_port.value(), form.smtp_security.currentText()) == (
        mail_servers.smtps_port,
        "SSL/TLS",
    )
    form.ca_file_edit.setText(str(mail_servers.ca_file))
    dialog.settings.test_button.click()
    qtbot.waitUntil(lambda: "Outgoing mail: signed in" in _result(dialog), timeout=WAIT)
    assert "Incoming mail: signed in to localhost" in _result(dialog)
    assert accounts.accounts() == []  # a test stores nothing


def test_found_by_a_tested_guess(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
) -> None:
    # mail.example.org is the rig on 127.0.0.1; imap. and smtp.example.org do not exist.
    # The rig's ports stand in for 993 and 465 in the lists of ports a guess is tried on.
    network = Network(
        route=loopback_route({"mail.example.org": None}),
        srv_lookup=no_srv_records,
        ca_file=str(mail_servers.ca_file),
        imap_guesses=((mail_servers.imaps_port, Security.SSL),),
        smtp_guesses=((mail_servers.smtps_port, Security.SSL),),
        timeout=10,
    )
    dialog = open_dialog(qtbot, AddAccountDialog(accounts, credentials, network=network))
    search(qtbot, dialog, "carol@example.org", "whatever")
    assert dialog.search.step_text(Method.GUESS) == (
        f"mail.example.org:{mail_servers.imaps_port} and "
        f"mail.example.org:{mail_servers.smtps_port} answered."
    )
    assert "by trying common server names" in dialog.settings.found_label.text()
    form = dialog.settings.form
    assert (form.imap_host.text(), form.imap_port.value()) == (
        "mail.example.org",
        mail_servers.imaps_port,
    )
    assert (form.smtp_host.text(), form.smtp_port.value()) == (
        "mail.example.org",
        mail_servers.smtps_port,
    )


def test_wrong_password_is_shown_and_nothing_is_stored(
    qtbot: QtBot,
    accounts: AccountStore,
    credentials: CredentialStore,
    mail_servers: MailServers,
) -> None:
    dialog = open_dialog(qtbot, AddAccountDialog(accounts, credentials, network=OFFLINE))
    dialog.identity.email_edit.setText("alice@example.org")
    dialog.identity.password_edit.setText("not-the-password")
    dialog.identity.manual_button.click()
    assert dialog.pages.currentWidget() is dialog.settings
    form = dialog.settings.form
    form.imap_host.setText("localhost")
    form.imap_port.setValue(mail_servers.imaps_port)
    form.smtp_host.setText("localhost")
    form.smtp_port.setValue(mail_servers.submission_port)
    form.ca_file_edit.setText(str(mail_servers.ca_file))
    dialog.settings.create_button.click()
    qtbot.waitUntil(
        lambda: "Outgoing mail" in _result(dialog) or "SMTP" in _result(dialog), timeout=WAIT
    )
    qtbot.waitUntil(dialog.settings.create_button.isEnabled, timeout=WAIT)
    assert "The IMAP server localhost rejected the password for alice@example.org" in (
        _result(dialog)
    )
    assert "The SMTP server localhost rejected the password" in _result(dialog)
    assert dialog.isVisible()
    assert accounts.accounts() == []
    with pytest.raises(PasswordMissing):
        credentials.get_password("alice@example.org", "imap")


def test_missing_fields_are_named_before_any_connection(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore
) -> None:
    dialog = open_dialog(qtbot, AddAccountDialog(accounts, credentials, network=OFFLINE))
    dialog.identity.email_edit.setText("not an address")
    dialog.identity.continue_button.click()
    assert dialog.pages.currentWidget() is dialog.identity
    assert "not an email address" in dialog.identity.error_label.text()
    dialog.identity.email_edit.setText("alice@example.org")
    qtbot.keyClick(dialog.identity.email_edit, Qt.Key.Key_Return)
    assert "Enter the password" in dialog.identity.error_label.text()
    dialog.identity.manual_button.click()
    dialog.settings.test_button.click()
    assert dialog.settings.form.error_label.text() == "IMAP host: a server name is required"
    assert not dialog.check.running


def test_cancel_stops_the_search(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore
) -> None:
    # A server that accepts the connection and never answers keeps the search waiting.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        network = Network(
            route=loopback_route({("autoconfig.example.org", 443): silent.getsockname()[1]}),
            srv_lookup=no_srv_records,
            timeout=3,
        )
        dialog = open_dialog(qtbot, AddAccountDialog(accounts, credentials, network=network))
        dialog.identity.email_edit.setText("alice@example.org")
        dialog.identity.password_edit.setText("pw")
        dialog.identity.continue_button.click()
        qtbot.waitUntil(
            lambda: "Asking autoconfig.example.org" in dialog.search.step_text(Method.AUTOCONFIG),
            timeout=WAIT,
        )
        dialog.search.cancel_button.click()
        assert dialog.pages.currentWidget() is dialog.identity
        QThreadPool.globalInstance().waitForDone(WAIT)
        qtbot.wait(50)  # let anything the worker posted arrive
        assert dialog.pages.currentWidget() is dialog.identity


def _result(dialog: AddAccountDialog) -> str:
    return dialog.settings.result_label.text()
