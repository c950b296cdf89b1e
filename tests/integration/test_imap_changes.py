"""Changes made in the client reach the real Dovecot, or are undone when it refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.models import FLAGGED, SEEN
from mailclient.imap import changes
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.imap.wire import CommandFailed
from mailclient.store.mail import MailStore, RemoteFolder
from tests.integration.imap_helpers import account, message, server_state, store_state, subjects
from tests.rig import Dovecot, MailServers

USER = "carol"
WITHOUT_MOVE = (
    "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED LITERAL+ SPECIAL-USE CONDSTORE QRESYNC ESEARCH"
)


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture(scope="module")
def no_move(mail_servers: MailServers) -> Iterator[Dovecot]:
    dovecot = mail_servers.start_dovecot(WITHOUT_MOVE)
    yield dovecot
    dovecot.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


@pytest.fixture
def engine(servers: MailServers, store: MailStore) -> Iterator[AccountSync]:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    servers.append(USER, "Trash", message(100, "Already trashed"))
    sync = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    sync.sync()
    yield sync
    sync.close()


def folder_id(store: MailStore, name: str) -> int:
    folder = store.folder_by_name("test", name)
    assert folder is not None
    return folder.id


def test_mark_read_and_flag_reach_the_server(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    newest, second = store.message_ids(folder_id(store, "INBOX"))[:2]
    changes.set_flags(store, [newest, second], add={SEEN})
    inbox = store.folder(folder_id(store, "INBOX"))
    assert inbox is not None and inbox.unread == 3
    assert engine.send_pending() == []
    changes.set_flags(store, [newest], add={FLAGGED})
    changes.set_flags(store, [second], remove={SEEN})
    assert engine.send_pending() == []
    assert store.pending_changes() == []
    on_server = server_state(servers, USER, "INBOX")
    assert sorted(on_server.values(), key=len)[-1] == {SEEN, FLAGGED}
    assert store_state(store, "test", "INBOX") == on_server
    [result] = engine.sync(["INBOX"])
    assert (result.new, result.changed, result.removed) == (0, 0, 0)


def test_move_keeps_the_stored_message_under_its_new_uid(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    newest = store.message_ids(folder_id(store, "INBOX"))[0]
    engine.fetch_body(newest)
    changes.move_messages(store, [newest], folder_id(store, "Archive"))
    assert newest not in store.message_ids(folder_id(store, "INBOX"))
    assert engine.send_pending() == []
    assert store.message_ids(folder_id(store, "Archive")) == [newest]
    assert store.body(newest) is not None
    assert store_state(store, "test", "Archive") == server_state(servers, USER, "Archive")
    assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")
    assert [r.new for r in engine.sync(["INBOX", "Archive"])] == [0, 0]


def test_move_without_the_move_extension(
    servers: MailServers, store: MailStore, engine: AccountSync, no_move: Dovecot
) -> None:
    plain = AccountSync(
        account(servers, USER, no_move.imaps_port),
        FixedPassword(servers.user(USER).password),
        store,
    )
    assert not plain.session.has("MOVE")
    ids = store.message_ids(folder_id(store, "INBOX"))[:2]
    changes.move_messages(store, ids, folder_id(store, "Archive"))
    assert plain.send_pending() == []
    plain.close()
    assert sorted(store.message_ids(folder_id(store, "Archive"))) == sorted(ids)
    assert len(server_state(servers, USER, "INBOX")) == 3
    assert store_state(store, "test", "Archive") == server_state(servers, USER, "Archive")


def test_delete_moves_to_trash_and_expunges_there(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    trash = folder_id(store, "Trash")
    newest = store.message_ids(folder_id(store, "INBOX"))[0]
    changes.delete_messages(store, [newest])
    assert engine.send_pending() == []
    assert subjects(store, "test", "Trash") == ["Already trashed", "Message 5"]
    both = store.message_ids(trash)
    changes.delete_messages(store, both)
    assert engine.send_pending() == []
    assert store.message_ids(trash) == [] and server_state(servers, USER, "Trash") == {}
    assert len(server_state(servers, USER, "INBOX")) == 4


def test_a_refused_move_puts_the_messages_back(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    ghost = store.add_folder("test", "Ghost", "/")  # in the store only: the server says NO
    inbox = folder_id(store, "INBOX")
    before = store.message_ids(inbox)
    changes.move_messages(store, before[:1], ghost.id)
    [refused] = engine.send_pending()
    assert "Moving 1 message from INBOX to Ghost was undone" in str(refused)
    assert "TRYCREATE" in str(refused)
    assert store.message_ids(inbox) == before
    assert store.pending_changes() == []
    assert [f.total for f in store.folders("test") if f.id == inbox] == [5]


def test_folders_with_non_ascii_names_round_trip(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    created = changes.create_folder(store, "test", "Été/Reçus & «Notes»")
    created.send(engine.session, store)
    with servers.imap(USER) as client:
        assert client.folder_exists("Été/Reçus & «Notes»")
    folder = store.folder_by_name("test", "Été/Reçus & «Notes»")
    assert folder is not None and folder.leaf == "Reçus & «Notes»"

    servers.append(USER, "Été/Reçus & «Notes»", message(1, "=?utf-8?B?8J+Tpw==?= Ünïcødé"))
    engine.sync()
    assert subjects(store, "test", "Été/Reçus & «Notes»") == ["📧 Ünïcødé"]

    changes.rename_folder(store, folder.id, "Été/Überprüft").send(engine.session, store)
    with servers.imap(USER) as client:
        names = {name for _, _, name in client.list_folders()}
    assert "Été/Überprüft" in names and "Été/Reçus & «Notes»" not in names
    assert subjects(store, "test", "Été/Überprüft") == ["📧 Ünïcødé"]
    [result] = engine.sync(["Été/Überprüft"])
    assert result.new == 0 and not result.reset

    changes.delete_folder(store, folder.id).send(engine.session, store)
    engine.sync()
    assert store.folder_by_name("test", "Été/Überprüft") is None
    with servers.imap(USER) as client:
        assert not client.folder_exists("Été/Überprüft")


def test_a_refused_folder_creation_is_undone(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    # Dovecot refuses names with its hierarchy separator at both ends.
    created = changes.create_folder(store, "test", "/bad/")
    with pytest.raises(CommandFailed):
        created.send(engine.session, store)
    assert store.folder_by_name("test", "/bad/") is None


def test_two_engines_share_one_store(servers: MailServers, store: MailStore) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 4)))
    first = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    second = AccountSync(
        account(servers, USER),
        FixedPassword(servers.user(USER).password),
        store,
        SyncOptions(first_batch=1),
    )
    assert first.sync(["INBOX"])[0].new == 3
    assert second.sync(["INBOX"])[0].new == 0
    first.close()
    second.close()


def test_a_folder_list_read_before_a_rename_reached_the_server_does_not_undo_it(
    servers: MailServers, store: MailStore, engine: AccountSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync lane reads the folder list; the interactive lane sends a rename made here
    before that list is written: the list, older than the rename, must not put the old
    name back (the renamed folder would vanish until the next sync)."""
    with servers.imap(USER) as client:
        client.create_folder("Projects")
    engine.refresh_folders()
    projects = folder_id(store, "Projects")
    changes.rename_folder(store, projects, "Done")
    interactive = AccountSync(
        account(servers, USER), FixedPassword(servers.user(USER).password), store
    )
    session = engine.session
    list_folders = session.list_folders
    lists: list[set[str]] = []

    def list_then_rename() -> list[RemoteFolder]:
        listed = list_folders()
        lists.append({f.name for f in listed})
        if len(lists) == 1:
            assert interactive.send_pending() == []
        return listed

    monkeypatch.setattr(session, "list_folders", list_then_rename)
    try:
        engine.refresh_folders()
    finally:
        interactive.close()
    assert "Projects" in lists[0] and "Done" not in lists[0]
    assert store.folder_by_name("test", "Projects") is None
    assert folder_id(store, "Done") == projects


def test_a_folder_change_is_sent_by_one_sender_while_another_sends_it(
    servers: MailServers, store: MailStore, engine: AccountSync, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interactive lane and the sync lane both send what waits: a rename one of them
    is sending must not be sent again by the other, whose RENAME would be refused (the old
    name is gone) and undo the rename here while the server made it."""
    with servers.imap(USER) as client:
        client.create_folder("Projects")
    engine.refresh_folders()
    projects = folder_id(store, "Projects")
    changes.rename_folder(store, projects, "Done")
    other = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    session = engine.session
    rename = session.rename_folder
    refused: list[changes.ChangeRefused] = []

    def rename_while_the_other_sends(old: str, new: str) -> None:
        refused.extend(other.send_pending())
        rename(old, new)

    monkeypatch.setattr(session, "rename_folder", rename_while_the_other_sends)
    try:
        assert engine.send_pending() == []
    finally:
        other.close()
    assert refused == []
    assert store.pending_folder_changes() == []
    assert folder_id(store, "Done") == projects
    with servers.imap(USER) as client:
        assert client.folder_exists("Done") and not client.folder_exists("Projects")


def test_a_folder_renamed_while_a_sync_goes_through_the_folders_is_synced_by_its_new_name(
    servers: MailServers, store: MailStore, engine: AccountSync
) -> None:
    """The sync lane took the folders before the rename; the interactive lane sent the
    rename. Asking the server for the old name would be refused until the retries give up
    (the sync lane stuck meanwhile): the folder is synced under its name now."""
    with servers.imap(USER) as client:
        client.create_folder("Projects")
    servers.append(USER, "Projects", message(200, "Project kickoff"))
    engine.refresh_folders()
    listed = store.folder_by_name("test", "Projects")
    assert listed is not None
    changes.rename_folder(store, listed.id, "Done")
    other = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    try:
        assert other.send_pending() == []
    finally:
        other.close()
    patient = AccountSync(
        account(servers, USER),
        FixedPassword(servers.user(USER).password),
        store,
        SyncOptions(attempts=2, backoff=0),
    )
    try:
        result = patient.sync_folder(listed)
    finally:
        patient.close()
    assert result.error is None
    assert subjects(store, "test", "Done") == ["Project kickoff"]
