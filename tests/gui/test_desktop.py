"""The whole window as ``mailclient`` opens it (mailclient.app.gui.open_window), against the rig.

Accounts are added, edited and removed through the dialogs the window opens; passwords
go to the rig's real Secret Service; mail comes from the real Dovecot and Postfix; new-mail
notifications go to a stand-in notification service on the rig's private session bus.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from mailclient.accounts.lifecycle import add_account
from mailclient.accounts.model import Security
from mailclient.accounts.preferences import NEVER, Preferences, load_preferences
from mailclient.accounts.store import AccountStore
from mailclient.app.desktop import Desktop
from mailclient.app.gui import open_window
from mailclient.app.services import Services
from mailclient.core.profile import Profile
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.password_prompt import PasswordPrompt
from mailclient.ui.mailbox.message_model import Column
from mailclient.ui.window.preferences import AFTER_DELAY, NOT_BY_ITSELF
from mailclient.workers.mail import MailWorkers
from tests.integration.imap_helpers import account as rig_account
from tests.integration.sign_in_proxy import SignInProxy
from tests.rig import MailServers, SecretService
from tests.support.idle_log import IdleLog, idle_log
from tests.support.notifications import FakeNotificationService
from tests.support.self_signed import SelfSignedDovecot

WAIT = 30_000


def message(subject: str, sender: str = "Carol <carol@example.org>") -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Jun 2024 09:00:00 +0000"
    m.set_content(f"This is {subject}.\n")
    return m.as_bytes(policy=SMTP)


pytestmark = pytest.mark.mail_users("alice", "bob")


@pytest.fixture
def idle() -> Iterator[IdleLog]:
    """Counts the IDLE commands the account's watcher starts (see tests.support.idle_log)."""
    with idle_log() as counted:
        yield counted


@pytest.fixture
def services(tmp_path: Path, secret_service: SecretService) -> Iterator[Services]:
    services = Services.open(Profile(tmp_path / "profile").ensure())
    yield services
    for account in AccountStore(services.accounts.path).accounts():
        services.credentials.delete_account(account.name)


class Running:
    """The window of a profile, opened the way ``mailclient`` opens it."""

    def __init__(self, qtbot: QtBot, services: Services) -> None:
        self.qtbot = qtbot
        _, self.window, self.store = open_window(services)
        self.desktop = Desktop.of(self.window)
        assert isinstance(self.desktop.mail, MailWorkers)
        self.mail: MailWorkers = self.desktop.mail
        self.synced: list[str] = []
        self.stopped: list[str] = []
        self.mail.synced.connect(lambda event: self.synced.append(event.account))
        self.mail.account_stopped.connect(self.stopped.append)
        qtbot.waitExposed(self.window)

    def start(self) -> None:
        """As run_gui does once the window is up."""
        self.window.start()
        self.desktop.start()

    def close(self) -> None:
        self.window.close()
        self.store.close()
        running = [t.objectName() for t in self.mail.findChildren(QThread) if t.isRunning()]
        assert running == [], "threads left running after the window closed"
        assert not self.desktop.bus.isRunning()

    def folder_names(self, account: str) -> list[str]:
        model = self.window.folder_model
        index = model.index_of_account(account)
        if not index.isValid():
            return []
        return [model.index(r, 0, index).data() for r in range(model.rowCount(index))]

    def subjects(self) -> list[str]:
        model = self.window.message_model
        return [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]

    def wait(self, condition: Callable[[], Any]) -> None:
        self.qtbot.waitUntil(lambda: bool(condition()), timeout=WAIT)


@pytest.fixture
def running(qtbot: QtBot, services: Services) -> Iterator[Callable[[], Running]]:
    opened: list[Running] = []

    def open_it() -> Running:
        opened.append(Running(qtbot, services))
        return opened[-1]

    yield open_it
    for app in opened:
        app.close()


def fill_add_dialog(dialog: AddAccountDialog, servers: MailServers, user: str, name: str) -> None:
    """What a person types: address and password, then (the rig is not a provider) the
    servers by hand."""
    dialog.identity.email_edit.setText(servers.user(user).address)
    dialog.identity.password_edit.setText(servers.user(user).password)
    dialog.identity.manual_button.click()
    dialog.settings.form.set_account(rig_account(servers, user, name=name, host="localhost"))
    dialog.settings.form.password_edit.setText(servers.user(user).password)


def test_accounts_added_edited_and_removed_from_the_window(
    qtbot: QtBot, servers: MailServers, services: Services, running: Callable[[], Running]
) -> None:
    servers.append("alice", "INBOX", message("For alice"))
    servers.append("bob", "INBOX", message("For bob"))
    app = running()
    window = app.window
    app.start()

    # First run: the welcome page, and the Add account dialog over it.
    assert window.pages.currentWidget() is window.welcome
    dialog = app.desktop.accounts.add_dialog
    assert dialog is not None and dialog.isVisible()
    fill_add_dialog(dialog, servers, "alice", "Work")
    dialog.settings.create_button.click()
    app.wait(lambda: {"Inbox", "Sent", "Trash"} <= set(app.folder_names("Work")))
    assert app.desktop.accounts.add_dialog is None
    assert window.pages.currentWidget() is window.mail_page
    app.wait(lambda: "For alice" in app.subjects())  # All inboxes

    # File ▸ Add Account: the second one.
    window.add_account_action.trigger()
    second = app.desktop.accounts.add_dialog
    assert second is not None and second is not dialog
    fill_add_dialog(second, servers, "bob", "Home")
    second.settings.create_button.click()
    app.wait(lambda: "Inbox" in app.folder_names("Home"))
    assert "Inbox" in app.folder_names("Work")
    app.wait(lambda: sorted(app.subjects()) == ["For alice", "For bob"])
    assert AccountStore(services.accounts.path).get("Home").email == "bob@example.org"

    # File ▸ Manage Accounts: Work moves to IMAP with STARTTLS; the workers follow.
    window.manage_accounts_action.trigger()
    manage = app.desktop.accounts.manage_dialog
    assert manage is not None and manage.names() == ["Work", "Home"]
    manage.account_list.setCurrentRow(0)
    form = manage.form
    form.imap_security.setCurrentIndex(form.imap_security.findData(Security.STARTTLS))
    form.imap_port.setValue(servers.imap_port)
    app.synced.clear()
    with qtbot.waitSignal(manage.accounts_changed, timeout=WAIT):
        manage.save_button.click()
    edited = AccountStore(services.accounts.path).get("Work")
    assert (edited.imap_security, edited.imap_port) == (Security.STARTTLS, servers.imap_port)
    app.wait(lambda: "Work" in app.stopped)  # the old connections ended
    app.wait(lambda: "Work" in app.synced)  # and the new ones synced
    assert not window.error_bar.isVisible(), window.error_bar.label.text()
    servers.append("alice", "INBOX", message("After the edit"))
    window.get_mail_action.trigger()
    app.wait(lambda: "After the edit" in app.subjects())

    # Remove Home: its folders and its mail leave the window and the store.
    manage.account_list.setCurrentRow(1)
    manage.remove_button.click()
    assert manage.confirm_box is not None
    with qtbot.waitSignal(manage.accounts_changed, timeout=WAIT):
        manage.confirm_box.findChild(QPushButton, "confirmRemove").click()
    assert app.folder_names("Home") == []
    assert not window.folder_model.index_of_account("Home").isValid()
    app.wait(lambda: "For bob" not in app.subjects())
    app.wait(lambda: "Home" in app.stopped)
    app.wait(lambda: app.store.folders("Home") == [])
    assert "Inbox" in app.folder_names("Work")
    manage.close_button.click()
    assert app.desktop.accounts.manage_dialog is None


def test_a_rejected_password_is_asked_once_then_the_account_syncs(
    qtbot: QtBot,
    servers: MailServers,
    services: Services,
    running: Callable[[], Running],
    idle: IdleLog,
) -> None:
    alice = servers.user("alice")
    add_account(
        services.accounts,
        services.credentials,
        rig_account(servers, "alice", name="Work", host="localhost"),
        "old",
    )
    servers.append("alice", "INBOX", message("Behind the password"))
    app = running()
    app.start()
    prompter = app.desktop.accounts.passwords
    app.wait(lambda: "Work" in prompter.prompts)
    prompt = prompter.prompts["Work"]
    assert "rejected the password" in prompt.reason_label.text()
    app.wait(app.window.error_bar.isVisible)
    assert "rejected the password" in app.window.error_bar.label.text()
    # The sync lane and IDLE both failed; the user sees one question, not a loop of them.
    qtbot.wait(500)
    assert len([p for p in app.window.findChildren(PasswordPrompt) if p.isVisible()]) == 1

    prompt.password_edit.setText(alice.password)
    with qtbot.waitSignal(prompter.password_saved, timeout=WAIT):
        prompt.ok_button.click()
    app.wait(lambda: "Behind the password" in app.subjects())
    assert services.credentials.get_password("Work", "imap") == alice.password
    app.wait(lambda: idle.started("Work") > 0)  # IDLE came back with the new password too
    app.wait(lambda: not app.window.error_bar.isVisible())
    assert prompter.prompts == {}


def test_a_login_cut_off_is_tried_again_without_asking_for_the_password(
    qtbot: QtBot,
    servers: MailServers,
    services: Services,
    running: Callable[[], Running],
    idle: IdleLog,
) -> None:
    proxy = SignInProxy((servers.host, servers.imaps_port), servers.certs)
    try:
        # The first two logins (of the sync lane and IDLE, say) lose their connection.
        proxy.cut_sign_ins = 2
        account = replace(
            rig_account(servers, "alice", name="Work", host="localhost"), imap_port=proxy.port
        )
        add_account(
            services.accounts, services.credentials, account, servers.user("alice").password
        )
        servers.append("alice", "INBOX", message("Behind a cut"))
        app = running()
        app.start()
        app.wait(lambda: "Behind a cut" in app.subjects())
        app.wait(lambda: idle.started("Work") > 0)
        assert proxy.cuts == 2
        assert app.desktop.accounts.passwords.prompts == {}
        assert app.window.findChildren(PasswordPrompt) == []
        assert "rejected" not in app.window.error_bar.label.text()
    finally:
        proxy.close()


def test_an_untrusted_certificate_is_shown_then_trusted_and_the_account_syncs(
    qtbot: QtBot,
    servers: MailServers,
    services: Services,
    running: Callable[[], Running],
    self_signed_dovecot: SelfSignedDovecot,
) -> None:
    alice = servers.user("alice")
    account = replace(
        rig_account(servers, "alice", name="Work", host="localhost"),
        imap_host="127.0.0.1",
        imap_port=self_signed_dovecot.port,
    )
    add_account(services.accounts, services.credentials, account, alice.password)
    servers.append("alice", "INBOX", message("Behind a self-signed certificate"))
    app = running()
    app.start()
    certificates = app.desktop.accounts.certificates
    app.wait(lambda: "Work" in certificates.dialogs)
    question = certificates.dialogs["Work"]
    assert "self-signed" in question.explanation.text()
    assert "not trusted" in app.window.error_bar.label.text()
    assert app.subjects() == []
    with qtbot.waitSignal(certificates.certificate_trusted, timeout=WAIT):
        question.trust_button.click()
    app.wait(lambda: "Behind a self-signed certificate" in app.subjects())
    pinned = AccountStore(services.accounts.path).get("Work")
    assert pinned.pinned_pem("127.0.0.1", self_signed_dovecot.port) is not None
    app.wait(lambda: not app.window.error_bar.isVisible())


def deliver_over_smtp(servers: MailServers, subject: str) -> None:
    """Bob sends alice a message through the rig's Postfix (SMTPS, authenticated)."""
    bob = servers.user("bob")
    m = EmailMessage()
    m["From"] = "Bob Builder <bob@example.org>"
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m.set_content("Sent through Postfix while the window watched.\n")
    with smtplib.SMTP_SSL(
        servers.host, servers.smtps_port, context=servers.ssl_context(), timeout=30
    ) as smtp:
        smtp.login(bob.username, bob.password)
        smtp.send_message(m)


def test_new_mail_over_idle_is_notified_and_the_click_opens_it(
    qtbot: QtBot,
    servers: MailServers,
    services: Services,
    secret_service: SecretService,
    running: Callable[[], Running],
    idle: IdleLog,
) -> None:
    alice = servers.user("alice")
    add_account(
        services.accounts,
        services.credentials,
        rig_account(servers, "alice", name="Work", host="localhost"),
        alice.password,
    )
    servers.append("alice", "INBOX", message("Unread from before"))
    servers.append("alice", "Projects", message("Elsewhere"))
    with FakeNotificationService(secret_service.bus_address) as service:
        app = running()
        window = app.window
        app.start()
        app.wait(lambda: "Unread from before" in app.subjects())
        app.wait(lambda: idle.started("Work") > 0)
        app.wait(lambda: "Work" in app.synced)
        qtbot.wait(300)
        # Mail that was there at start-up is not news.
        assert service.calls == []

        # Look at another folder, so that opening the message has to switch back.
        projects = app.store.folder_by_name("Work", "Projects")
        assert projects is not None
        window.folder_view.setCurrentIndex(window.folder_model.index_of_folder(projects.id))
        app.wait(lambda: app.subjects() == ["Elsewhere"])

        deliver_over_smtp(servers, "Fresh from Postfix")
        app.wait(lambda: service.calls)
        [call] = service.calls
        assert service.refused == []
        assert call.summary == "Bob Builder"
        assert call.body == "Fresh from Postfix"
        assert call.app_name == "Mailclient"
        assert call.actions == ["default", "Open"]
        assert call.hints["desktop-entry"] == ("s", "org.mailclient.Mailclient")

        service.invoke(call.id)
        app.wait(lambda: window.reading_pane.headers.subject.text() == "Fresh from Postfix")
        assert window.folder_view.currentIndex().data() == "Inbox"
        app.wait(lambda: "Sent through Postfix" in window.reading_pane.text_view.toPlainText())

        # Several in a row: each told once, grouped as "N new messages" when a sync brings
        # more than one (how they split depends on when IDLE wakes up).
        for n in range(3):
            servers.append("alice", "INBOX", message(f"Batch {n}"))

        def announced() -> int:
            counts = [
                1 if "new messages" not in c.summary else int(c.summary.split()[0])
                for c in service.calls[1:]
            ]
            return sum(counts)

        app.wait(lambda: announced() == 3)
        qtbot.wait(500)
        assert announced() == 3
        for call in service.calls[1:]:
            if call.summary.endswith("new messages"):
                assert call.body.splitlines()[0].startswith("Carol: Batch")
            else:
                assert (call.summary, call.body[:5]) == ("Carol", "Batch")


def test_preferences_are_applied_at_once_and_kept_in_the_profile(
    qtbot: QtBot, services: Services, running: Callable[[], Running]
) -> None:
    app = running()
    window = app.window
    assert "Ctrl+," in [s.toString() for s in window.preferences_action.shortcuts()]
    window.preferences_action.trigger()
    dialog = app.desktop.settings_dialog
    assert dialog is not None and dialog.isVisible()
    # A new profile: the defaults.
    assert dialog.mark_read.currentIndex() == AFTER_DELAY
    assert dialog.mark_read_seconds.value() == 2
    assert dialog.notify.isChecked() and not dialog.prefer_plain.isChecked()
    assert dialog.check_minutes.value() == 5

    dialog.mark_read.setCurrentIndex(NOT_BY_ITSELF)
    assert not dialog.mark_read_seconds.isEnabled()
    dialog.prefer_plain.setChecked(True)
    dialog.notify.setChecked(False)
    dialog.tray.setChecked(False)
    dialog.check_minutes.setValue(15)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    chosen = Preferences(
        mark_read_delay_ms=NEVER,
        prefer_plain_text=True,
        notify_new_mail=False,
        tray_icon=False,
        check_interval_minutes=15,
    )
    # Applied at once...
    assert window.mark_read_delay_ms() == NEVER
    assert window.prefer_plain_action.isChecked()
    assert app.desktop.notifier.enabled is False
    assert app.mail.check_interval_minutes == 15
    checked = [
        a.data() for a in window.findChild(object, "markReadMenu").actions() if a.isChecked()
    ]
    assert checked == [NEVER]
    # ...and saved in the profile's config (by a worker).
    app.wait(lambda: load_preferences(AccountStore(services.accounts.path)) == chosen)

    # A choice from the View menu is a preference too.
    window.prefer_plain_action.trigger()
    app.wait(
        lambda: (
            load_preferences(AccountStore(services.accounts.path))
            == replace(chosen, prefer_plain_text=False)
        )
    )
    window.close()

    # The next start has them.
    again = running()
    assert again.window.mark_read_delay_ms() == NEVER
    assert not again.window.prefer_plain_action.isChecked()
    assert again.mail.check_interval_minutes == 15
    assert again.desktop.notifier.enabled is False


def test_first_run_opens_the_add_account_dialog_over_the_window(
    qtbot: QtBot, services: Services, running: Callable[[], Running]
) -> None:
    app = running()
    app.start()
    dialog = app.desktop.accounts.add_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.parent() is app.window
    headings = [label.text() for label in dialog.identity.findChildren(QLabel)]
    assert any("Welcome" in text for text in headings)
    dialog.reject()
    assert app.desktop.accounts.add_dialog is None
    assert app.window.pages.currentWidget() is app.window.welcome
    # The welcome page's button brings it back.
    app.window.welcome.add_button.click()
    again = app.desktop.accounts.add_dialog
    assert again is not None and again.isVisible()
    # Asking again while it is open does not open a second one.
    app.window.add_account_action.trigger()
    assert app.desktop.accounts.add_dialog is again
    assert len([d for d in app.window.findChildren(AddAccountDialog) if d.isVisible()]) == 1
