""" "Keep messages on this computer" in the Add account and Manage accounts dialogs."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog
from tests.gui.test_account_dialogs import OFFLINE

WAIT = 30_000


def test_the_manual_settings_offer_it_on_by_default(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore
) -> None:
    dialog = AddAccountDialog(accounts, credentials, network=OFFLINE)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.identity.email_edit.setText("alice@example.org")
    dialog.identity.manual_button.click()
    fields = dialog.settings.form.keep_fields
    assert fields.isVisible() and fields.keep.isChecked()
    assert fields.days.value() == 365 and fields.max_mb.value() == 20
    fields.span.setCurrentIndex(1)  # all of them
    assert not fields.days.isEnabled()
    fields.keep.setChecked(False)
    assert not fields.span.isEnabled() and not fields.max_mb.isEnabled()
    form = dialog.settings.form
    form.imap_host.setText("imap.example.org")
    account = form.account()
    assert (account.keep_messages, account.keep_days) == (False, None)


def test_manage_accounts_shows_and_saves_it(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore
) -> None:
    accounts.add(
        Account(
            name="Work",
            email="alice@example.org",
            imap_host="imap.example.org",
            smtp_host="smtp.example.org",
            keep_days=30,
        )
    )
    dialog = ManageAccountsDialog(accounts, credentials)
    qtbot.addWidget(dialog)
    dialog.show()
    fields = dialog.form.keep_fields
    assert fields.keep.isChecked() and fields.days.value() == 30
    fields.days.setValue(90)
    fields.max_mb.setValue(5)
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        dialog.save()
    saved = AccountStore(accounts.path).get("Work")
    assert (saved.keep_messages, saved.keep_days, saved.keep_max_mb) == (True, 90, 5)
