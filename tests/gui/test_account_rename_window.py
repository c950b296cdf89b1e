"""Renaming an account in Manage accounts while the window runs against the real Dovecot:
the folders, messages and the shown folder stay, the worker goes on under the new name."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.store import AccountStore
from mailclient.store.mail import MailStore
from mailclient.ui.accounts.controller import AccountsController
from mailclient.ui.window.main_window import MainWindow, window_settings
from mailclient.workers.mail import MailWorkers
from tests.gui.test_window_server import WAIT, message
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring


class World:
    def __init__(self, qtbot: QtBot, servers: MailServers, profile: Path) -> None:
        self.profile = profile
        self.alice_password = servers.users["alice"].password
        self.accounts = AccountStore(profile / "config.json")
        self.keyring = MemoryKeyring()
        self.credentials = CredentialStore(self.keyring, profile_id=PROFILE_ID)
        for name, user in (("work", "alice"), ("home", "bob")):
            self.accounts.add(rig_account(servers, user, name=name))
            self.credentials.set_password(name, "imap", servers.users[user].password)
        listed = self.accounts.accounts()
        self.store = MailStore.open(profile / "mail.sqlite3")
        self.mail = MailWorkers(listed, self.credentials, profile / "mail.sqlite3")
        self.settings = window_settings(profile)
        self.window = MainWindow(listed, self.store, self.mail, self.settings)
        self.window.set_mark_read_delay(-1)
        self.controller = AccountsController(
            self.window, self.accounts, self.credentials, self.mail, profile / "mail.sqlite3"
        )
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)

    def close(self) -> None:
        self.window.close()
        self.store.close()
        running = [t.objectName() for t in self.mail.findChildren(QThread) if t.isRunning()]
        assert running == []

    def ids(self, account_name: str, folder: str) -> list[int]:
        found = self.store.folder_by_name(account_name, folder)
        return [] if found is None else self.store.message_ids([found.id])

    def accounts_in_tree(self) -> list[str]:
        model = self.window.folder_model
        return [model.index(r, 0).data() for r in range(model.rowCount())]


@pytest.fixture
def world(qtbot: QtBot, servers: MailServers, tmp_path: Path) -> Iterator[World]:
    servers.append("alice", "INBOX", message("Lunch on Friday?", "Hi Alice,\nlunch?\n"))
    servers.append("alice", "INBOX", message("Quarterly report", "Numbers attached."))
    w = World(qtbot, servers, tmp_path)
    yield w
    w.close()


pytestmark = pytest.mark.mail_users("alice", "bob")


def test_rename_in_manage_accounts_keeps_mail_and_the_shown_folder(
    qtbot: QtBot, world: World
) -> None:
    window = world.window
    window.start()
    qtbot.waitUntil(lambda: len(world.ids("work", "INBOX")) == 2, timeout=WAIT)
    inbox = world.store.folder_by_name("work", "INBOX")
    assert inbox is not None
    # The folder tree follows the store on the watcher's next tick.
    qtbot.waitUntil(lambda: window.folder_model.index_of_folder(inbox.id).isValid(), timeout=WAIT)
    window.folder_view.setCurrentIndex(window.folder_model.index_of_folder(inbox.id))
    assert window.folder_view.currentIndex().data() == "Inbox"
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 2, timeout=WAIT)
    before = world.ids("work", "INBOX")

    dialog = world.controller.manage_accounts()
    dialog.account_list.setCurrentRow(0)
    dialog.rename_button.click()
    box = dialog.rename_box
    assert box is not None and box.textValue() == "work"
    box.setTextValue("job")
    with qtbot.waitSignal(dialog.accounts_changed, timeout=WAIT):
        box.accept()
    assert dialog.names() == ["job", "home"]
    assert dialog.title.text() == "job"

    assert world.credentials.get_password("job", "imap") == world.alice_password
    assert {u.split("/")[1] for _, u in world.keyring.secrets} == {"job", "home"}
    # The same rows under the new name, the same folder shown, nothing fetched again.
    assert world.ids("job", "INBOX") == before
    qtbot.waitUntil(lambda: "job" in world.accounts_in_tree(), timeout=WAIT)
    assert "work" not in world.accounts_in_tree()
    shown = window.folder_view.currentIndex()
    assert shown.isValid() and shown.data() == "Inbox"
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 2, timeout=WAIT)
    # The worker goes on under the new name: its sync signs in with the moved password,
    # finds nothing new, and the old account's rows do not come back.
    with qtbot.waitSignal(
        world.mail.synced, timeout=WAIT, check_params_cb=lambda done: done.account == "job"
    ):
        window.get_mail_action.trigger()
    assert world.ids("job", "INBOX") == before
    assert world.store.folder_by_name("work", "INBOX") is None
    window.save_state()
    assert world.settings.value("folders/current") == "folder:job:INBOX"
