"""The mail workers and local changes: what the user does while the server cannot be
reached (the real Dovecot behind a proxy that can be cut), or just before quitting, reaches
it after the next start; a change the store refuses is reported with a Retry."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account
from mailclient.core.models import SEEN, SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.workers.events import WorkFailed
from mailclient.workers.mail import MailWorkers, MoveMessages, SendPending
from tests.integration.imap_helpers import account, message, server_state, subjects
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring

WAIT = 20_000  # ms: generous, the machine is shared
USER = "carol"


def started(qtbot: QtBot, servers: MailServers, carol: Account, path: Path) -> MailWorkers:
    credentials = CredentialStore(MemoryKeyring(), profile_id=PROFILE_ID)
    credentials.set_password(carol.name, "imap", servers.user(USER).password)
    mail = MailWorkers([carol], credentials, path, idle=False)
    with qtbot.waitSignal(mail.synced, timeout=WAIT):
        mail.start()
    return mail


def test_changes_made_offline_and_at_quit_reach_the_server_after_a_restart(
    qtbot: QtBot, mail_servers: MailServers, tmp_path: Path
) -> None:
    servers = mail_servers
    servers.reset_user(USER)
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 4)))
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    carol = account(servers, USER, proxy.port)
    path = tmp_path / "mail.sqlite3"
    store = MailStore.open(path)
    try:
        mail = started(qtbot, servers, carol, path)
        inbox = store.folder_by_name(carol.name, "INBOX")
        archive = store.folder_by_name(carol.name, "Archive")
        assert inbox is not None and archive is not None
        newest, second, third = store.message_ids(inbox.id)

        proxy.refuse = True
        proxy.cut_all()
        failures: list[WorkFailed] = []
        mail.failed.connect(failures.append)
        mail.set_flags([newest], frozenset({SEEN}), frozenset())
        qtbot.waitUntil(lambda: len(failures) > 0, timeout=WAIT)
        assert failures[0].transient and isinstance(failures[0].command, SendPending)
        assert "kept" in failures[0].message
        mail.move([second], archive.id)
        mail.delete([third])
        mail.stop()  # at once: the move and the delete may still wait in the writer's queue
        assert len(store.pending_changes(carol.name)) == 3
        assert store.message_ids(inbox.id) == [newest]
        assert store.summaries([newest])[0].flags == {SEEN}
    finally:
        store.close()
    assert len(server_state(servers, USER, "INBOX")) == 3

    proxy.refuse = False
    mail = started(qtbot, servers, carol, path)
    mail.stop()
    proxy.close()
    assert list(server_state(servers, USER, "INBOX").values()) == [{SEEN}]
    assert len(server_state(servers, USER, "Archive")) == 1
    assert len(server_state(servers, USER, "Trash")) == 1
    with MailStore.open(path) as store:
        assert store.pending_changes() == []
        assert subjects(store, carol.name, "INBOX") == ["Message 3"]
        assert subjects(store, carol.name, "Archive") == ["Message 2"]
        assert subjects(store, carol.name, "Trash") == ["Message 1"]


def test_a_change_the_store_cannot_take_is_reported_with_a_retry_of_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "mail.sqlite3"
    with MailStore.open(path) as store:
        store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        store.add_messages(inbox.id, [NewMessage(uid=1, flags=frozenset())])
        [message_id] = store.message_ids(inbox.id)
    work = Account(name="work", email="ann@example.org", imap_host="h.test", smtp_host="h.test")
    mail = MailWorkers(
        [work], CredentialStore(MemoryKeyring(), profile_id=PROFILE_ID), path, idle=False
    )
    try:
        with qtbot.waitSignal(mail.failed, timeout=WAIT) as failed:
            mail.move([message_id], 9999)  # a folder that is not in the store
        failure = failed.args[0]
        assert "no longer in the mail store" in failure.message
        assert failure.command == MoveMessages((message_id,), 9999)
    finally:
        mail.stop()
