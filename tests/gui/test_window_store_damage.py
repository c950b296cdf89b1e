"""The window opened on a damaged mail store, as ``mailclient`` opens it (gui.open_window).

It says what happened and what was kept, starts a new store, and the real Dovecot of the
test rig fills it again; the outbox is untouched.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from mailclient.accounts.signin import FixedPassword
from mailclient.app.gui import open_window
from mailclient.app.services import Services
from mailclient.core.models import SEEN
from mailclient.core.outgoing import OutgoingMessage
from mailclient.core.profile import Profile
from mailclient.imap.sync import AccountSync
from mailclient.store.mail import MailStore
from mailclient.store.pending import ChangeKind
from mailclient.store.repair import PENDING_FILE
from mailclient.ui.mailbox.message_model import Column
from tests.integration.sending import make_profile
from tests.integration.test_store_damage import empty_folder_list
from tests.rig import MailServers, SecretService

WAIT = 30_000  # ms: generous, the machine is shared


def letter(subject: str) -> bytes:
    m = EmailMessage()
    m["From"] = "Bob <bob@example.org>"
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m["Date"] = "Mon, 03 Jun 2024 09:00:00 +0000"
    m.set_content("Hello.\n")
    return m.as_bytes(policy=SMTP)


def test_the_window_sets_a_damaged_store_aside_and_fills_a_new_one(
    qtbot: QtBot, mail_servers: MailServers, secret_service: SecretService, tmp_path: Path
) -> None:
    servers = mail_servers
    for name in servers.users:
        servers.reset_user(name)
    servers.fill_maildir("alice", "INBOX", [letter(f"Letter {n}") for n in range(1, 6)])
    root = tmp_path / "profile"
    profile = make_profile(root, servers)
    with MailStore.open(profile.store_path) as store:
        engine = AccountSync(profile.account, FixedPassword(servers.user("alice").password), store)
        try:
            engine.sync()
        finally:
            engine.close()
        inbox = store.folder_by_name("alice", "INBOX")
        assert inbox is not None
        store.record_change(ChangeKind.FLAGS, store.message_ids(inbox.id)[:1], add={SEEN})
    sender = profile.sender()
    queued = sender.enqueue("alice", OutgoingMessage(profile.account.sender, ("bob@example.org",)))
    empty_folder_list(profile.store_path)

    services = Services.open(Profile(root))
    _, window, store = open_window(services)
    try:
        assert store.rescue is not None
        (rescued,) = root.glob("rescued-*")
        shown = [e.message for e in window.error_bar.errors()]
        assert shown == [store.rescue.message()]
        assert f"It was moved to {rescued}" in shown[0]
        assert "1 change made here" in shown[0] and str(rescued / PENDING_FILE) in shown[0]
        assert window.error_bar.isVisible()
        assert [i.id for i in sender.items()] == [queued.id]

        window.start()
        model = window.message_model

        def subjects() -> list[str]:
            return sorted(model.index(r, Column.SUBJECT).data() for r in range(model.rowCount()))

        qtbot.waitUntil(lambda: subjects() == [f"Letter {n}" for n in range(1, 6)], timeout=WAIT)
    finally:
        window.close()  # stops the workers
        compose = window.compose
        assert compose is not None and compose.outbox.stop()
        # What the workers said before they stopped reaches the window while it exists.
        QCoreApplication.processEvents()
        QDesktopServices.unsetUrlHandler("mailto")
        # As gui.run_gui ends: the window and what hangs on it go before the store.
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        store.close()
