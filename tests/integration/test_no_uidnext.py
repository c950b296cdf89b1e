"""A server that never reports UIDNEXT and has no CONDSTORE (tests/rig/variants.py): new mail
that arrives together with an expunge by another client leaves the message count as it
was, and must still be found, by a sync and by IDLE."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.imap.sync import AccountSync
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account, message, server_state, store_state, subjects
from tests.integration.test_imap_idle import Watching
from tests.rig import MailServers, OtherServer, OtherServers
from tests.support.idle_log import idle_log
from tests.support.waiting import wait_until

USER = "carol"


pytestmark = pytest.mark.mail_users(USER)


@pytest.fixture
def server(other_servers: OtherServers) -> OtherServer:
    return other_servers.get("no-uidnext")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def expunge_and_deliver(servers: MailServers, expunged: int, delivered: int) -> None:
    """Another client removes Message ``expunged``, and Message ``delivered`` arrives."""
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        [uid] = client.search(["HEADER", "Message-ID", f"<m{expunged}@example.org>"])
        client.delete_messages([uid])
        client.expunge()
    servers.append(USER, "INBOX", message(delivered))


def test_a_sync_finds_new_mail_that_came_with_an_expunge(
    servers: MailServers, server: OtherServer, store: MailStore
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 6)))
    engine = AccountSync(
        account(servers, USER, server.port), FixedPassword(servers.user(USER).password), store
    )
    try:
        assert not engine.session.condstore
        status = engine.session.select("INBOX", readonly=True)
        assert (status.uidnext, status.exists) == (0, 5)  # the server does not say
        [first] = engine.sync(["INBOX"])
        assert first.new == 5

        expunge_and_deliver(servers, expunged=2, delivered=6)
        [result] = engine.sync(["INBOX"])
        assert (result.new, result.removed) == (1, 1)
        assert subjects(store, "test", "INBOX")[0] == "Message 6"
        assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")

        # "UID n:*" names the highest message even when n is above it (RFC 3501 §6.4.8):
        # that is not new mail, nor is it after the newest message went.
        [again] = engine.sync(["INBOX"])
        assert (again.new, again.removed) == (0, 0)
        expunge_and_deliver(servers, expunged=6, delivered=7)
        expunge_and_deliver(servers, expunged=7, delivered=8)
        [later] = engine.sync(["INBOX"])
        assert (later.new, later.removed) == (1, 1)
        assert store_state(store, "test", "INBOX") == server_state(servers, USER, "INBOX")
    finally:
        engine.close()


class GatedWatching(Watching):
    """Watching whose each sync after the first waits for ``gate``, so that a test can make
    several changes on the server before the sync looks."""

    def __init__(self, carol: Account, password: str, store_path: Path) -> None:
        self.gate = threading.Event()
        self.heard = threading.Event()
        super().__init__(carol, password, store_path)

    def before_sync(self) -> None:
        if self.syncs:
            self.heard.set()
            self.gate.wait(30)

    def close(self) -> None:
        self.gate.set()
        super().close()


def test_idle_finds_new_mail_that_came_with_an_expunge(
    servers: MailServers, server: OtherServer, tmp_path: Path
) -> None:
    servers.fill_maildir(USER, "INBOX", (message(n) for n in range(1, 4)))
    path = tmp_path / "mail.sqlite3"
    carol = account(servers, USER, server.port)
    with idle_log() as idle:
        watching = GatedWatching(carol, servers.user(USER).password, path)
        try:
            assert idle.wait_started(carol.name)
            assert watching.syncs == 1
            expunge_and_deliver(servers, expunged=1, delivered=4)
            assert watching.heard.wait(15)
            watching.gate.set()
            with MailStore.open(path) as store:
                wait_until(lambda: watching.syncs == 2)
                assert subjects(store, "test", "INBOX") == ["Message 4", "Message 3", "Message 2"]
        finally:
            watching.close()
    assert watching.errors == []
