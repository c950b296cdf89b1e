"""Every UID a header sync asks for is accounted for, against the rig's real Dovecot behind
a proxy that leaves FETCH responses out: once (asked again, stored), for good (recorded,
reported, asked again at the next sync) and because the message was expunged meanwhile."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.store.mail import MailStore
from tests.integration.fetch_dropping_proxy import FetchDroppingProxy
from tests.integration.imap_helpers import account, message, store_state
from tests.rig import MailServers

USER = "carol"
COUNT = 12
# Small batches: the lost message sits in the middle of a pipelined run of them.
OPTIONS = SyncOptions(first_batch=3, batch=4, attempts=1)


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture
def servers(servers: MailServers) -> MailServers:
    """The shared servers, with this module's mail in place."""
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, COUNT + 1)))
    return servers


@pytest.fixture
def uids(servers: MailServers) -> list[int]:
    """The INBOX's UIDs (they go on rising across tests: a reset keeps the folder's UIDs)."""
    with servers.imap(USER) as client:
        client.select_folder("INBOX", readonly=True)
        return sorted(client.search("ALL"))


@pytest.fixture
def lost(uids: list[int]) -> int:
    """The message the proxy leaves out: one in the middle."""
    return uids[6]


@pytest.fixture
def proxy(servers: MailServers) -> Iterator[FetchDroppingProxy]:
    dropping = FetchDroppingProxy((servers.host, servers.imap_port), servers.certs)
    yield dropping
    dropping.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


@pytest.fixture
def engine(
    servers: MailServers, proxy: FetchDroppingProxy, store: MailStore
) -> Iterator[AccountSync]:
    sync = AccountSync(
        account(servers, USER, port=proxy.port),
        FixedPassword(servers.user(USER).password),
        store,
        OPTIONS,
    )
    yield sync
    sync.close()


def full_flag_fetches(commands: list[bytes]) -> list[bytes]:
    """FLAGS of every message without CHANGEDSINCE: what a count mismatch costs each sync."""
    return [c for c in commands if b"(UID FLAGS)" in c and b"CHANGEDSINCE" not in c]


def fetched_alone(commands: list[bytes], uid: int) -> bool:
    return any(c.split(b" ")[1:4] == [b"UID", b"FETCH", b"%d" % uid] for c in commands)


def test_a_message_left_out_once_is_asked_for_again(
    engine: AccountSync, proxy: FetchDroppingProxy, store: MailStore, uids: list[int], lost: int
) -> None:
    proxy.drop, proxy.drop_once = {lost}, True
    [result] = engine.sync(["INBOX"])
    assert proxy.dropped == [lost]
    assert fetched_alone(proxy.commands, lost)
    assert (result.new, result.unfetched, result.error) == (COUNT, [], None)
    assert sorted(store_state(store, "test", "INBOX")) == uids

    before = len(proxy.commands)
    [again] = engine.sync(["INBOX"])
    assert (again.new, again.changed, again.removed, again.unfetched) == (0, 0, 0, [])
    assert full_flag_fetches(proxy.commands_since(before)) == []


def test_a_message_the_server_keeps_back_is_reported_and_asked_for_at_each_sync(
    engine: AccountSync,
    proxy: FetchDroppingProxy,
    store: MailStore,
    caplog: pytest.LogCaptureFixture,
    uids: list[int],
    lost: int,
) -> None:
    proxy.drop = {lost}
    with caplog.at_level(logging.WARNING, logger="mailclient.imap.sync"):
        [result] = engine.sync(["INBOX"])
    assert (result.new, result.unfetched, result.error) == (COUNT - 1, [lost], None)
    assert f"did not send 1 messages (UID {lost})" in caplog.text
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    assert store.unfetched_uids(inbox.id) == [lost]
    # The folder is complete but for the one message: not fetched again whole, and its
    # count does not force every flag to be fetched at each sync.
    assert store.sync_state(inbox.id).uidnext == uids[-1] + 1

    before = len(proxy.commands)
    [again] = engine.sync(["INBOX"])
    commands = proxy.commands_since(before)
    assert (again.new, again.removed, again.unfetched) == (0, 0, [lost])
    assert fetched_alone(commands, lost)
    assert full_flag_fetches(commands) == []

    proxy.drop = set()
    [healed] = engine.sync(["INBOX"])
    assert (healed.new, healed.unfetched) == (1, [])
    assert store.unfetched_uids(inbox.id) == []
    assert sorted(store_state(store, "test", "INBOX")) == uids

    before = len(proxy.commands)
    [quiet] = engine.sync(["INBOX"])
    assert (quiet.new, quiet.changed, quiet.removed, quiet.unfetched) == (0, 0, 0, [])
    assert not any(b"FETCH" in c for c in proxy.commands_since(before))


def test_a_message_expunged_meanwhile_is_no_loss(
    servers: MailServers,
    engine: AccountSync,
    proxy: FetchDroppingProxy,
    store: MailStore,
    caplog: pytest.LogCaptureFixture,
    lost: int,
) -> None:
    def expunge(uid: int) -> None:
        with servers.imap(USER) as other:
            other.select_folder("INBOX")
            other.delete_messages([uid])
            other.uid_expunge([uid])

    proxy.drop, proxy.on_drop = {lost}, expunge
    with caplog.at_level(logging.WARNING, logger="mailclient.imap.sync"):
        [result] = engine.sync(["INBOX"])
    assert proxy.dropped[:1] == [lost]
    assert (result.new, result.unfetched, result.error) == (COUNT - 1, [], None)
    assert "did not send" not in caplog.text
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    assert store.unfetched_uids(inbox.id) == []
    assert lost not in store_state(store, "test", "INBOX")

    before = len(proxy.commands)
    [again] = engine.sync(["INBOX"])
    assert (again.new, again.changed, again.removed, again.unfetched) == (0, 0, 0, [])
    assert full_flag_fetches(proxy.commands_since(before)) == []


def test_a_response_that_cannot_be_read_fails_the_folder_clearly_not_the_account(
    servers: MailServers,
    engine: AccountSync,
    proxy: FetchDroppingProxy,
    store: MailStore,
    uids: list[int],
    lost: int,
) -> None:
    servers.fill_maildir(USER, "Archive", [message(100)])
    proxy.garble = {lost}
    results = {r.folder: r for r in engine.sync(["INBOX", "Archive"])}
    error = results["INBOX"].error
    assert error is not None and "cannot be read" in error and "closing ')'" in error
    assert (results["Archive"].new, results["Archive"].error) == (1, None)

    proxy.garble = set()
    [healed] = engine.sync(["INBOX"])
    assert healed.error is None
    assert sorted(store_state(store, "test", "INBOX")) == uids
