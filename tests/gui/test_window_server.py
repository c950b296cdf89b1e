"""The main window against the real Dovecot of the test rig: sync, read, act, push.

The store is filled by the window's own workers (a real sync); what the user does must
reach the server, which the tests check with a separate IMAP connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThread
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account
from mailclient.core.models import SpecialUse
from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.folder_model import FolderRole
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.window.main_window import MainWindow, window_settings
from mailclient.workers.mail import MailWorkers
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers
from tests.support.idle_log import idle_log
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring

WAIT = 20_000  # ms: generous, the machine is shared


pytestmark = pytest.mark.mail_users("alice", "bob")


def message(subject: str, body: str, sender: str = "Bob <bob@example.org>") -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Jun 2024 09:00:00 +0000"
    m.set_content(body)
    return m.as_bytes(policy=SMTP)


class Harness:
    def __init__(
        self, qtbot: QtBot, servers: MailServers, profile: Path, accounts: list[Account]
    ) -> None:
        self.servers = servers
        backend = MemoryKeyring()
        credentials = CredentialStore(backend, profile_id=PROFILE_ID)
        for a in accounts:
            user = a.email.split("@")[0]
            credentials.set_password(a.name, "imap", servers.users[user].password)
        self.store = MailStore.open(profile / "mail.sqlite3")
        self.mail = MailWorkers(accounts, credentials, profile / "mail.sqlite3")
        self.window = MainWindow(accounts, self.store, self.mail, window_settings(profile))
        # Marking read is tested on purpose below; it must not happen by itself.
        self.window.set_mark_read_delay(-1)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)

    def close(self) -> None:
        self.window.close()
        self.store.close()
        running = [t.objectName() for t in self.mail.findChildren(QThread) if t.isRunning()]
        assert running == [], "threads left running after the window closed"

    def folder(self, account_name: str, name: str) -> int:
        folder = self.store.folder_by_name(account_name, name)
        assert folder is not None, name
        return folder.id

    def show_folder(self, account_name: str, name: str) -> None:
        index = self.window.folder_model.index_of_folder(self.folder(account_name, name))
        self.window.folder_view.setCurrentIndex(index)

    def subjects(self) -> list[str]:
        model = self.window.message_model
        return [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]

    def select(self, subject: str) -> int:
        row = self.subjects().index(subject)
        view = self.window.message_view
        view.setFocus()
        view.setCurrentIndex(self.window.message_model.index(row, Column.SUBJECT))
        message_id = view.currentIndex().data(MessageRole.ID)
        assert isinstance(message_id, int)
        return message_id

    def server_flags(self, user: str, folder: str, subject: str) -> set[str]:
        with self.servers.imap(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["SUBJECT", subject])
            assert len(uids) == 1, (folder, subject, uids)
            flags = client.get_flags(uids)[uids[0]]
        return {f.decode() for f in flags}

    def server_subjects(self, user: str, folder: str) -> list[str]:
        with self.servers.imap(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return []
            found = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
        return sorted(
            v[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
            for v in found.values()
        )


@pytest.fixture
def harness(qtbot: QtBot, servers: MailServers, tmp_path: Path) -> Iterator[Harness]:
    servers.append("alice", "INBOX", message("Lunch on Friday?", "Hi Alice,\nlunch?\n"))
    servers.append("alice", "INBOX", message("Quarterly report", "Numbers attached."))
    servers.append(
        "alice",
        "INBOX",
        message("Old news", "Already read.", "Carol <carol@example.org>"),
        [r"\Seen"],
    )
    servers.append("alice", "Projects", message("Project kickoff", "Tuesday."))
    servers.append("bob", "INBOX", message("Hello Bob", "From Alice", "Alice <alice@example.org>"))
    h = Harness(
        qtbot,
        servers,
        tmp_path,
        [rig_account(servers, "alice", name="work"), rig_account(servers, "bob", name="bob")],
    )
    yield h
    h.close()


def test_sync_fills_folders_and_list_then_bodies_open(qtbot: QtBot, harness: Harness) -> None:
    window = harness.window
    assert window.message_model.rowCount() == 0  # an empty store: nothing yet
    window.start()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 4, timeout=WAIT)
    assert sorted(harness.subjects()) == [
        "Hello Bob",
        "Lunch on Friday?",
        "Old news",
        "Quarterly report",
    ]
    work = window.folder_model.index_of_account("work")
    names = [
        window.folder_model.index(r, 0, work).data()
        for r in range(window.folder_model.rowCount(work))
    ]
    assert names[0] == "Inbox"
    assert {"Sent", "Drafts", "Trash", "Junk", "Archive", "Projects"} <= set(names)
    inbox = window.folder_model.index_of_folder(harness.folder("work", "INBOX"))
    qtbot.waitUntil(lambda: inbox.data(FolderRole.UNREAD) == 2, timeout=WAIT)
    trash = window.folder_model.index(names.index("Trash"), 0, work)
    assert trash.data(FolderRole.FOLDER).special_use is SpecialUse.TRASH

    harness.show_folder("work", "Projects")
    qtbot.waitUntil(lambda: harness.subjects() == ["Project kickoff"], timeout=WAIT)

    harness.show_folder("work", "INBOX")
    harness.select("Lunch on Friday?")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: "lunch?" in pane.text_view.toPlainText(), timeout=WAIT)
    assert pane.headers.subject.text() == "Lunch on Friday?"
    # Reading fetched the body with BODY.PEEK: nothing marked it read on the server.
    assert r"\Seen" not in harness.server_flags("alice", "INBOX", "Lunch on Friday?")


def test_actions_reach_the_server(qtbot: QtBot, harness: Harness) -> None:
    window = harness.window
    window.start()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 4, timeout=WAIT)
    harness.show_folder("work", "INBOX")
    view = window.message_view

    harness.select("Lunch on Friday?")
    qtbot.keyClick(view, Qt.Key.Key_M)
    qtbot.waitUntil(
        lambda: r"\Seen" in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )
    qtbot.keyClick(view, Qt.Key.Key_S)
    qtbot.waitUntil(
        lambda: r"\Flagged" in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )
    qtbot.keyClick(view, Qt.Key.Key_M)
    qtbot.waitUntil(
        lambda: r"\Seen" not in harness.server_flags("alice", "INBOX", "Lunch on Friday?"),
        timeout=WAIT,
    )

    harness.select("Old news")
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: "Old news" not in harness.subjects(), timeout=WAIT)
    qtbot.waitUntil(lambda: harness.server_subjects("alice", "Trash") == ["Old news"], timeout=WAIT)

    harness.select("Quarterly report")
    data = window.message_model.mimeData([view.currentIndex()])
    archive = window.folder_model.index_of_folder(harness.folder("work", "Archive"))
    assert window.folder_model.canDropMimeData(data, Qt.DropAction.MoveAction, -1, -1, archive)
    window.folder_model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, archive)
    qtbot.waitUntil(
        lambda: harness.server_subjects("alice", "Archive") == ["Quarterly report"],
        timeout=WAIT,
    )
    assert harness.server_subjects("alice", "INBOX") == ["Lunch on Friday?"]
    qtbot.waitUntil(lambda: harness.subjects() == ["Lunch on Friday?"], timeout=WAIT)
    assert not window.error_bar.isVisible()


def test_idle_brings_new_mail_into_the_list(
    qtbot: QtBot, harness: Harness, servers: MailServers
) -> None:
    window = harness.window
    with idle_log() as idle:
        window.start()
        qtbot.waitUntil(lambda: window.message_model.rowCount() == 4, timeout=WAIT)
        qtbot.waitUntil(lambda: idle.started("work") > 0, timeout=WAIT)
    servers.append("alice", "INBOX", message("Pushed by IDLE", "New!"))
    qtbot.waitUntil(lambda: "Pushed by IDLE" in harness.subjects(), timeout=WAIT)
    assert harness.subjects()[0] == "Pushed by IDLE" or "Pushed by IDLE" in harness.subjects()


def test_wrong_password_is_reported_with_retry(
    qtbot: QtBot, servers: MailServers, tmp_path: Path
) -> None:
    h = Harness(qtbot, servers, tmp_path, [rig_account(servers, "alice", name="work")])
    try:
        backend_password = "not-the-password"
        h.mail.sign_in.credentials.set_password("work", "imap", backend_password)
        h.window.start()
        qtbot.waitUntil(h.window.error_bar.isVisible, timeout=WAIT)
        assert "rejected the password" in h.window.error_bar.label.text()
        assert h.window.error_bar.retry_button.isVisible()
    finally:
        h.close()


def test_recent_messages_are_kept_here_and_searchable(
    qtbot: QtBot, servers: MailServers, harness: Harness
) -> None:
    from email.utils import formatdate

    fresh = message("Fresh news", "The okapi arrived.").replace(
        b"Mon, 03 Jun 2024 09:00:00 +0000", formatdate().encode()
    )
    servers.append("alice", "INBOX", fresh)
    window = harness.window
    window.start()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5, timeout=WAIT)
    inbox = harness.folder("work", "INBOX")
    [fresh_id] = harness.store.message_ids(inbox, quick_filter="fresh")
    # Not opened, yet kept for offline use (the last 365 days), and its text searchable.
    qtbot.waitUntil(lambda: harness.store.body(fresh_id) is not None, timeout=WAIT)
    window.search_edit.setText("okapi")
    qtbot.waitUntil(lambda: harness.subjects() == ["Fresh news"], timeout=WAIT)
    # Older mail waits until it is opened.
    [old] = harness.store.message_ids(inbox, quick_filter="quarterly")
    assert harness.store.body(old) is None
