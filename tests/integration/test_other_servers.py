"""Sync, move, delete, the Sent copy and drafts against servers set up unlike the rig's
Dovecot: folders under a personal namespace prefix without SPECIAL-USE, and special-use
flags in lower case on folders with other names (tests/rig/variants.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.core.draft import Draft
from mailclient.core.models import SpecialUse
from mailclient.imap import changes
from mailclient.imap.append import SentFolder
from mailclient.imap.drafts import DraftsFolder
from mailclient.imap.sync import AccountSync
from mailclient.mime.drafts import draft_message
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account as rig_account
from tests.integration.imap_helpers import message, store_state, subjects
from tests.rig import MailServers, OtherServer, OtherServers

pytestmark = pytest.mark.mail_users()


@pytest.fixture(params=["namespace", "lowercase"])
def server(request: pytest.FixtureRequest, other_servers: OtherServers) -> OtherServer:
    found = other_servers.get(request.param)
    other_servers.reset(found)
    return found


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def account_on(servers: MailServers, server: OtherServer) -> Account:
    assert server.user is not None
    return rig_account(servers, server.user, server.port, imap_host=server.host)


def password(servers: MailServers, server: OtherServer) -> str:
    assert server.user is not None
    return servers.user(server.user).password


def folder_names(servers: MailServers, server: OtherServer) -> set[str]:
    assert server.user is not None
    with servers.imap(server.user, server.port) as client:
        return {name for _, _, name in client.list_folders()}


def on_server(servers: MailServers, server: OtherServer, folder: str) -> list[str]:
    """Subjects in ``folder`` as the server has them."""
    assert server.user is not None
    with servers.imap(server.user, server.port) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    return sorted(
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        for data in fetched.values()
    )


def synced(servers: MailServers, server: OtherServer, store: MailStore) -> AccountSync:
    assert server.user is not None
    for n in range(1, 4):
        servers.append(server.user, "INBOX", message(n), port=server.port)
    engine = AccountSync(
        account_on(servers, server), FixedPassword(password(servers, server)), store
    )
    engine.sync()
    return engine


def test_special_folders_are_recognised(
    servers: MailServers, server: OtherServer, store: MailStore
) -> None:
    synced(servers, server, store).close()
    uses = {f.name: f.special_use for f in store.folders("test")}
    assert uses == {
        "INBOX": SpecialUse.INBOX,
        server.folder("\\Sent"): SpecialUse.SENT,
        server.folder("\\Drafts"): SpecialUse.DRAFTS,
        server.folder("\\Trash"): SpecialUse.TRASH,
        server.folder("\\Junk"): SpecialUse.JUNK,
        server.folder("\\Archive"): SpecialUse.ARCHIVE,
    }
    assert subjects(store, "test", "INBOX") == ["Message 3", "Message 2", "Message 1"]


def test_delete_moves_to_the_servers_trash(
    servers: MailServers, server: OtherServer, store: MailStore
) -> None:
    engine = synced(servers, server, store)
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    newest = store.message_ids(inbox.id)[0]
    changes.delete_messages(store, [newest])
    assert engine.send_pending() == []
    engine.sync()
    engine.close()
    trash = server.folder("\\Trash")
    assert on_server(servers, server, trash) == ["Message 3"]
    assert on_server(servers, server, "INBOX") == ["Message 1", "Message 2"]
    assert subjects(store, "test", trash) == ["Message 3"]


def test_move_to_another_folder(
    servers: MailServers, server: OtherServer, store: MailStore
) -> None:
    engine = synced(servers, server, store)
    inbox = store.folder_by_name("test", "INBOX")
    archive = store.folder_by_name("test", server.folder("\\Archive"))
    assert inbox is not None and archive is not None
    oldest = store.message_ids(inbox.id)[-1]
    changes.move_messages(store, [oldest], archive.id)
    assert engine.send_pending() == []
    engine.sync()
    engine.close()
    assert on_server(servers, server, archive.name) == ["Message 1"]
    assert store_state(store, "test", "INBOX") == server_state_on(servers, server, "INBOX")


def server_state_on(
    servers: MailServers, server: OtherServer, folder: str
) -> dict[int, frozenset[str]]:
    assert server.user is not None
    with servers.imap(server.user, server.port) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
    return {
        uid: frozenset(f.decode() for f in data[b"FLAGS"]) - {"\\Recent"}
        for uid, data in fetched.items()
    }


def test_the_sent_copy_goes_to_the_servers_sent_folder(
    servers: MailServers, server: OtherServer
) -> None:
    before = folder_names(servers, server)
    sent = SentFolder.open(account_on(servers, server), FixedPassword(password(servers, server)))
    try:
        assert sent.folder == server.folder("\\Sent")
        sent.append(message(7, "Sent from here"), "<m7@example.org>")
    finally:
        sent.close()
    assert folder_names(servers, server) == before
    assert on_server(servers, server, server.folder("\\Sent")) == ["Sent from here"]


def test_drafts_go_to_the_servers_drafts_folder(servers: MailServers, server: OtherServer) -> None:
    before = folder_names(servers, server)
    draft = Draft(account="test", sender="me@example.org", subject="half written")
    drafts = DraftsFolder.open(
        account_on(servers, server), FixedPassword(password(servers, server))
    )
    try:
        assert drafts.folder == server.folder("\\Drafts")
        drafts.save(draft_message(draft), draft.key)
        again = Draft(**{**draft.__dict__, "subject": "written"})
        drafts.save(draft_message(again), again.key)
    finally:
        drafts.close()
    assert folder_names(servers, server) == before
    assert on_server(servers, server, server.folder("\\Drafts")) == ["written"]
