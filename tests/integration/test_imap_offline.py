"""Changes made while the server cannot be reached wait in the store, survive a restart and
reach the real Dovecot once it is back; a renumbered folder makes them refuse, not misfire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import CannotConnect
from mailclient.core.models import SEEN
from mailclient.imap import changes
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.store.mail import MailStore
from mailclient.store.pending import ChangeKind
from tests.integration.imap_helpers import account, message, server_state, store_state, subjects
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers

USER = "carol"


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture
def servers(servers: MailServers) -> MailServers:
    """The shared servers, with this module's mail in place."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    servers.append(USER, "Trash", message(100, "Already trashed"))
    return servers


@pytest.fixture
def proxy(servers: MailServers) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    yield proxy
    proxy.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mail.sqlite3"


def engine_for(
    servers: MailServers, store: MailStore, port: int, use_extensions: bool = True
) -> AccountSync:
    options = SyncOptions(use_extensions=use_extensions, attempts=1)
    return AccountSync(
        account(servers, USER, port), FixedPassword(servers.user(USER).password), store, options
    )


def go_offline(proxy: CuttableProxy) -> None:
    proxy.refuse = True
    proxy.cut_all()


def folder_id(store: MailStore, name: str) -> int:
    folder = store.folder_by_name("test", name)
    assert folder is not None
    return folder.id


def test_changes_made_offline_reach_the_server_after_a_restart(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        newest, second, third = store.message_ids(folder_id(store, "INBOX"))[:3]
        go_offline(proxy)

        changes.set_flags(store, [newest], add={SEEN})
        changes.move_messages(store, [second], folder_id(store, "Archive"))
        changes.delete_messages(store, [third])
        with pytest.raises(CannotConnect):
            engine.send_pending()
        engine.close()
        # Kept as made, not undone: read, and gone from the INBOX.
        assert store.message_ids(folder_id(store, "INBOX"))[0] == newest
        assert store.summaries([newest])[0].flags == {SEEN}
        assert len(store.message_ids(folder_id(store, "INBOX"))) == 3
        assert len(store.pending_changes("test")) == 3
    assert SEEN not in set().union(*server_state(servers, USER, "INBOX").values())

    proxy.refuse = False
    with MailStore.open(path) as store:  # the next start: new connections, new engine
        engine = engine_for(servers, store, proxy.port)
        results = engine.sync()
        engine.close()
        assert [r.refused for r in results] == [[]] * len(results)
        assert store.pending_changes() == []
        for folder in ("INBOX", "Archive", "Trash"):
            assert store_state(store, "test", folder) == server_state(servers, USER, folder)
        assert subjects(store, "test", "INBOX") == ["Message 5", "Message 2", "Message 1"]
        assert subjects(store, "test", "Archive") == ["Message 4"]
        assert subjects(store, "test", "Trash") == ["Already trashed", "Message 3"]
        inbox = store.folder(folder_id(store, "INBOX"))
        assert inbox is not None and (inbox.total, inbox.unread) == (3, 2)
    assert sorted(server_state(servers, USER, "INBOX").values(), key=len)[-1] == {SEEN}


@pytest.mark.parametrize("use_extensions", [True, False], ids=["condstore", "plain"])
def test_a_sync_does_not_undo_a_flag_change_on_its_way(
    servers: MailServers, proxy: CuttableProxy, path: Path, use_extensions: bool
) -> None:
    with MailStore.open(path) as store, MailStore.open(path) as sender:
        engine = engine_for(servers, store, proxy.port, use_extensions)
        engine.sync(["INBOX"])
        newest = store.message_ids(folder_id(store, "INBOX"))[0]
        changes.set_flags(store, [newest], add={SEEN})
        # Another lane holds the change (it is sending it) while this one syncs: the
        # sync hears the server's older flags, and the change must survive them.
        claimed = sender.claim_pending("test")
        assert claimed is not None
        servers.append(USER, "INBOX", message(6))
        [result] = engine.sync(["INBOX"])
        assert result.new == 1
        assert store.summaries([newest])[0].flags == {SEEN}
        uid = store.summaries([newest])[0].uid
        assert SEEN not in server_state(servers, USER, "INBOX")[uid]

        sender.release_pending(claimed.id)
        engine.sync(["INBOX"])
        engine.close()
        assert server_state(servers, USER, "INBOX")[uid] == {SEEN}
        assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")


def renumber_trash(servers: MailServers, uid: int) -> None:
    """The Trash made anew on the server, with ``uid`` messages: ``uid`` names another one."""
    username = servers.user(USER).username
    with servers.imap(USER) as client:
        old_validity = int(client.folder_status("Trash", ["UIDVALIDITY"])[b"UIDVALIDITY"])
    servers.dovecot.doveadm("mailbox", "delete", "-u", username, "Trash")
    servers.dovecot.doveadm("mailbox", "create", "-u", username, "Trash")
    for number in range(1, uid + 1):
        assert servers.append(USER, "Trash", message(200 + number, "Innocent")) == number
    servers.dovecot.doveadm(
        "mailbox", "update", "--uid-validity", str(old_validity + 1000), "-u", username, "Trash"
    )


def test_a_waiting_expunge_is_refused_in_a_trash_renumbered_on_the_server(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        trash = folder_id(store, "Trash")
        go_offline(proxy)
        [expunge] = changes.delete_messages(store, store.message_ids(trash))
        assert expunge.kind is ChangeKind.EXPUNGE
        with pytest.raises(CannotConnect):
            engine.send_pending()

        renumber_trash(servers, expunge.uids[0])
        proxy.refuse = False
        [refused] = engine.send_pending()
        assert "renumbered the folder Trash" in str(refused)
        assert subjects(store, "test", "Trash") == ["Already trashed"]  # shown again
        assert store.pending_changes() == []
        engine.sync(["Trash"])
        engine.close()
        assert set(subjects(store, "test", "Trash")) == {"Innocent"}
    assert len(server_state(servers, USER, "Trash")) == expunge.uids[0]


def test_a_waiting_move_is_refused_once_a_sync_renumbered_its_folder(
    servers: MailServers, path: Path
) -> None:
    with MailStore.open(path) as store, MailStore.open(path) as interactive:
        engine = engine_for(servers, store, servers.imaps_port)
        engine.sync()
        [move] = changes.move_messages(
            store, store.message_ids(folder_id(store, "Trash")), folder_id(store, "INBOX")
        )
        # The interactive lane has the move in hand when the sync lane rebuilds the
        # Trash; the move must not then act on the new numbering.
        assert interactive.claim_pending("test") == move
        renumber_trash(servers, move.uids[0])
        [result] = engine.sync(["Trash"])
        assert result.reset and set(subjects(store, "test", "Trash")) == {"Innocent"}
        interactive.release_pending(move.id)
        [refused] = engine.send_pending()
        engine.close()
        assert "renumbered" in str(refused) and store.pending_changes() == []
    assert len(server_state(servers, USER, "INBOX")) == 5
    assert len(server_state(servers, USER, "Trash")) == move.uids[0]


def test_a_folder_renamed_offline_is_renamed_on_the_server_when_back(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    servers.append(USER, "Projects", message(200, "Kickoff"))
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        projects = folder_id(store, "Projects")
        go_offline(proxy)
        changes.rename_folder(store, projects, "Done")
        changes.create_folder(store, "test", "Later")
        with pytest.raises(CannotConnect):
            engine.send_pending()
        with pytest.raises(CannotConnect):
            engine.sync()
        engine.close()
        # Kept as made: the folder (same row, same messages) has its new name.
        assert folder_id(store, "Done") == projects
        assert subjects(store, "test", "Done") == ["Kickoff"]
        assert store.folder_by_name("test", "Projects") is None
        assert [c.kind.value for c in store.pending_folder_changes("test")] == [
            "rename",
            "create",
        ]

    proxy.refuse = False
    with MailStore.open(path) as store:  # a restart: the changes come from the store
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        engine.close()
        assert store.pending_folder_changes() == []
        assert folder_id(store, "Done") == projects
        assert subjects(store, "test", "Done") == ["Kickoff"]
        assert store.folder_by_name("test", "Later") is not None
    with servers.imap(USER) as client:
        names = {name for _, _, name in client.list_folders()}
    assert {"Done", "Later"} <= names and "Projects" not in names


def test_a_folder_change_the_server_refuses_is_undone(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        changes.create_folder(store, "test", "/bad/")  # Dovecot refuses these names
        [refused] = engine.send_pending()
        assert "Creating the folder /bad/ was undone" in str(refused)
        assert store.folder_by_name("test", "/bad/") is None
        assert store.pending_folder_changes() == []
        engine.close()


def _server_subscribed(servers: MailServers) -> set[str]:
    with servers.imap(USER) as client:
        return {str(name) for _, _, name in client.list_sub_folders()}


def test_subscriptions_changed_offline_reach_the_server_when_back(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    servers.append(USER, "Projects", message(200, "Kickoff"))  # made, not subscribed
    servers.append(USER, "Lists", message(201, "Digest"))
    with servers.imap(USER) as client:
        client.subscribe_folder("Lists")
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        projects = store.folder_by_name("test", "Projects")
        lists = store.folder_by_name("test", "Lists")
        assert projects is not None and not projects.subscribed
        assert lists is not None and lists.subscribed
        go_offline(proxy)
        changes.subscribe_folder(store, projects.id, True)
        changes.subscribe_folder(store, lists.id, False)
        with pytest.raises(CannotConnect):
            engine.send_pending()
        engine.close()
        kinds = [c.kind.value for c in store.pending_folder_changes("test")]
        assert kinds == ["subscribe", "unsubscribe"]

    proxy.refuse = False
    with MailStore.open(path) as store:  # a restart: the changes come from the store
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        engine.close()
        assert store.pending_folder_changes() == []
        assert store.folder(projects.id).subscribed  # type: ignore[union-attr]
        assert not store.folder(lists.id).subscribed  # type: ignore[union-attr]
    subscribed = _server_subscribed(servers)
    assert "Projects" in subscribed and "Lists" not in subscribed


def test_a_folder_list_read_before_the_server_has_a_subscription_keeps_it(
    servers: MailServers, proxy: CuttableProxy, path: Path
) -> None:
    servers.append(USER, "Projects", message(200, "Kickoff"))
    with MailStore.open(path) as store:
        engine = engine_for(servers, store, proxy.port)
        engine.sync()
        projects = folder_id(store, "Projects")
        changes.subscribe_folder(store, projects, True)
        # The server still lists it unsubscribed: the change made here wins until sent.
        with servers.imap(USER) as client:
            assert "Projects" not in {str(n) for _, _, n in client.list_sub_folders()}
        store.sync_folder_list("test", engine.session.list_folders())
        assert store.folder(projects).subscribed  # type: ignore[union-attr]
        engine.close()
