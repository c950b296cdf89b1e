"""IDLE on the real Dovecot: mail delivered over SMTP reaches the store within seconds."""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.credentials import Service
from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword, Secret
from mailclient.core.errors import AuthenticationFailed, CredentialError, MailclientError
from mailclient.imap.idle import REFUSALS_TRIED, IdleWatcher
from mailclient.imap.sync import AccountSync
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account, message, subjects
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import Dovecot, MailServers
from tests.rig.imap_proxy import RewritingProxy
from tests.support.idle_log import idle_log
from tests.support.waiting import wait_until

USER = "carol"
WITHOUT_IDLE = (
    "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED LITERAL+ SPECIAL-USE CONDSTORE QRESYNC ESEARCH MOVE"
)


pytestmark = pytest.mark.mail_users(USER)


def send_over_smtp(servers: MailServers, subject: str) -> None:
    bob, carol = servers.users["bob"], servers.users[USER]
    raw = message(1, subject, sender=f"Bob <{bob.address}>")
    with smtplib.SMTP(servers.host, servers.submission_port, timeout=10) as smtp:
        smtp.starttls(context=servers.ssl_context())
        smtp.login(bob.username, bob.password)
        assert smtp.sendmail(bob.address, [carol.address], raw) == {}


class Watching:
    """An IdleWatcher in its own thread that syncs the INBOX whenever it hears something,
    as the window's worker would (with its own store connection)."""

    def __init__(
        self,
        carol: Account,
        password: str,
        store_path: Path,
        syncing: Account | None = None,
        **options: float,
    ):
        self.stop = threading.Event()
        self.errors: list[MailclientError] = []
        self.syncs = 0
        self.name = carol.name
        self._store_path, self._account, self._password = store_path, syncing or carol, password
        self._engine: AccountSync | None = None
        self.watcher = IdleWatcher(
            carol,
            FixedPassword(password),
            self._changed,
            self.stop,
            on_error=self.errors.append,
            **options,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.watcher.run()
        finally:
            if self._engine is not None:
                self._engine.close()
                self._engine.store.close()

    def _changed(self) -> None:
        if self._engine is None:
            store = MailStore.open(self._store_path)
            self._engine = AccountSync(self._account, FixedPassword(self._password), store)
        self.before_sync()
        self._engine.sync(["INBOX"])
        self.syncs += 1

    def before_sync(self) -> None:
        """Runs on the watcher's thread before each sync."""

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "mail.sqlite3"


def test_idle_brings_a_delivered_message_into_the_store(
    servers: MailServers, store_path: Path
) -> None:
    with idle_log() as idle:
        watching = Watching(account(servers, USER), servers.user(USER).password, store_path)
        try:
            assert idle.wait_started(watching.name)
            assert watching.syncs == 1  # the catch-up sync after connecting
            with MailStore.open(store_path) as store:
                send_over_smtp(servers, "Pushed to you")
                wait_until(
                    lambda: (
                        store.folder_by_name("test", "INBOX") is not None
                        and subjects(store, "test", "INBOX") == ["Pushed to you"]
                    )
                )
        finally:
            watching.close()
    assert watching.errors == []


def test_idle_is_renewed_and_survives_a_dropped_connection(
    servers: MailServers, store_path: Path
) -> None:
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    carol = account(servers, USER, proxy.port)
    with idle_log() as idle:
        watching = Watching(
            carol, servers.user(USER).password, store_path, renew_after=0.3, backoff=0.1
        )
        try:
            assert idle.wait_started(watching.name, more_than=2)  # renewed twice
            assert watching.syncs == 1  # renewing is not a change
            before_cut = idle.started(watching.name)
            proxy.cut_all()
            wait_until(lambda: proxy.connections >= 2)
            assert idle.wait_started(watching.name, more_than=before_cut)
            send_over_smtp(servers, "After the outage")
            with MailStore.open(store_path) as store:
                wait_until(lambda: "After the outage" in subjects(store, "test", "INBOX"))
        finally:
            watching.close()
            proxy.close()
    assert watching.errors == []


def test_idle_stops_on_a_wrong_password(servers: MailServers, store_path: Path) -> None:
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    watching = Watching(account(servers, USER, proxy.port), "wrong", store_path, backoff=0.01)
    watching.thread.join(timeout=15)
    assert not watching.thread.is_alive()
    proxy.close()
    assert [type(e) for e in watching.errors] == [AuthenticationFailed]
    assert proxy.connections == 1


@pytest.fixture(scope="module")
def no_idle(mail_servers: MailServers) -> Iterator[Dovecot]:
    dovecot = mail_servers.start_dovecot(WITHOUT_IDLE)
    yield dovecot
    dovecot.stop()


def test_a_server_without_idle_is_polled(
    servers: MailServers, store_path: Path, no_idle: Dovecot
) -> None:
    # The watcher goes through the proxy, the syncs it asks for do not: the proxy counts
    # the watcher's connections alone.
    proxy = CuttableProxy((servers.host, no_idle.imaps_port))
    watched = account(servers, USER, proxy.port)
    syncing = account(servers, USER, no_idle.imaps_port)
    password = servers.user(USER).password
    with idle_log() as idle:
        watching = Watching(watched, password, store_path, syncing, poll_every=0.2, backoff=0.05)
        try:
            wait_until(lambda: watching.syncs >= 3)
            servers.append(USER, "INBOX", message(1, "Found by polling"))
            with MailStore.open(store_path) as store:
                wait_until(lambda: "Found by polling" in subjects(store, "test", "INBOX"))
        finally:
            watching.close()
            proxy.close()
    assert watching.errors == []
    assert (proxy.connections, idle.started(watching.name)) == (1, 0)


class KeyringGoneAfterFirst(FixedPassword):
    """The password the first time; then the keyring cannot be read (locked, its
    collection gone, as a desktop's keyring can be at any time)."""

    def __init__(self, password: str) -> None:
        super().__init__(password)
        self.asked = 0

    def secret(self, service: Service) -> Secret:
        self.asked += 1
        if self.asked > 1:
            raise CredentialError("The system keyring could not be read: it is locked.")
        return super().secret(service)


def test_a_keyring_that_cannot_be_read_on_reconnecting_stops_idle_with_its_error(
    servers: MailServers,
) -> None:
    proxy = CuttableProxy((servers.host, servers.imaps_port))
    auth = KeyringGoneAfterFirst(servers.user(USER).password)
    errors: list[MailclientError] = []
    stop = threading.Event()
    watcher = IdleWatcher(
        account(servers, USER, proxy.port),
        auth,
        on_change=lambda: proxy.cut_all(),  # connected and listening: cut, to reconnect
        stop=stop,
        on_error=errors.append,
        backoff=0.01,
    )
    thread = threading.Thread(target=watcher.run)
    thread.start()
    thread.join(timeout=15)
    stop.set()
    proxy.close()
    assert not thread.is_alive()
    assert [type(e) for e in errors] == [CredentialError]


def test_a_refused_select_without_a_not_now_code_keeps_idle_trying(
    servers: MailServers,
) -> None:
    """Some servers refuse for a while without saying it is for a while: IDLE only watches,
    so it tries again rather than stop."""
    refusals = [b"NO Temporary trouble, no code given."]

    def refuse_first_examine(line: bytes) -> bytes:
        if refusals and line.startswith(b"MC") and b" OK [READ-ONLY]" in line:
            return line.split(b" ", 1)[0] + b" " + refusals.pop() + b"\r\n"
        return line

    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, refuse_first_examine)
    errors: list[MailclientError] = []
    stop = threading.Event()
    changes: list[int] = []
    watcher = IdleWatcher(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        on_change=lambda: changes.append(1),
        stop=stop,
        on_error=errors.append,
        backoff=0.01,
    )
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_until(lambda: changes, timeout=15)
    finally:
        stop.set()
        thread.join(timeout=15)
        proxy.close()
    assert not refusals and errors == []


def test_a_select_refused_every_time_stops_idle_with_the_refusal(servers: MailServers) -> None:
    """Tried again a few times, growing the wait, then said (the window offers Retry)."""
    examined: list[bytes] = []

    def refuse_every_examine(line: bytes) -> bytes:
        if line.startswith(b"MC") and b" OK [READ-ONLY]" in line:
            examined.append(line)
            return line.split(b" ", 1)[0] + b" NO [NOPERM] Not for you.\r\n"
        return line

    proxy = RewritingProxy((servers.host, servers.imap_port), servers.certs, refuse_every_examine)
    errors: list[MailclientError] = []
    watcher = IdleWatcher(
        account(servers, USER, proxy.port),
        FixedPassword(servers.user(USER).password),
        on_change=lambda: None,
        stop=threading.Event(),
        on_error=errors.append,
        backoff=0.01,
    )
    thread = threading.Thread(target=watcher.run)
    thread.start()
    thread.join(timeout=15)
    proxy.close()
    assert not thread.is_alive()
    assert len(examined) == REFUSALS_TRIED + 1
    assert len(errors) == 1 and "NOPERM" in str(errors[0])
