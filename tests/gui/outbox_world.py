"""An outbox worker with surroundings for GUI tests: a scripted SMTP server, fake folders."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterator
from pathlib import Path

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator, FixedPassword
from mailclient.core.draft import Draft
from mailclient.core.errors import AccountNotFound, CannotConnect
from mailclient.smtp.sender import OutboxSender
from mailclient.store.drafts import LocalDrafts
from mailclient.store.mail import MailStore
from mailclient.ui.outbox.view import OutboxView
from mailclient.workers.sending import OutboxWorker, SizeLimits
from mailclient.workers.store_watcher import StoreWatcher
from tests.unit.fake_smtp import FakeSmtpServer

ACCOUNT = Account(name="work", email="ann@example.org", imap_host="h", smtp_host="smtp.test")
WAIT = 10_000


class Passwords:
    def authenticator(self, account: Account) -> FixedPassword:
        return FixedPassword("secret", account.login)


class FakeDraftsFolder:
    def __init__(
        self, log: list[tuple[str, str, str]], down: bool, on_save: Callable[[str], None]
    ) -> None:
        self.log = log
        self.down = down
        self.on_save = on_save

    def save(self, raw: bytes, key: str, replaces: str = "") -> None:
        if self.down:
            raise CannotConnect("The IMAP server is down.")
        self.on_save(key)
        self.log.append(("save", key, replaces))

    def remove(self, key: str, replaces: str = "") -> int:
        self.log.append(("remove", key, replaces))
        return 1

    def close(self) -> None:
        self.log.append(("close", "", ""))


class World:
    def __init__(self, root: Path, server: FakeSmtpServer) -> None:
        self.server = server
        self.store_path = root / "mail.sqlite3"
        self.server_drafts: list[tuple[str, str, str]] = []
        self.imap_down = False
        # Called on the network lane with a draft's key as it is saved in the Drafts folder.
        self.on_server_save: Callable[[str], None] = lambda key: None
        self.stores: list[MailStore] = []
        self.drafts = LocalDrafts(root / "drafts")
        sender = OutboxSender(
            self.store_path,
            self.account,
            Passwords(),
            lambda account, password: _NoSentFolder(),
            connect_smtp=self.connect,
        )
        self.worker = OutboxWorker(
            self.store_path,
            sender,
            self.drafts,
            self.account,
            Passwords(),
            lambda account, password: FakeDraftsFolder(
                self.server_drafts, self.imap_down, self.on_server_save
            ),
            SizeLimits(root / "limits.json"),
        )

    def outbox_view(self) -> OutboxView:
        """The Outbox view as the window has it: told of changes by a store watcher."""
        store = MailStore.open(self.store_path)
        self.stores.append(store)
        watcher = StoreWatcher(store)
        view = OutboxView(self.worker, watcher)
        watcher.setParent(view)
        watcher.start()
        return view

    @staticmethod
    def account(name: str) -> Account:
        if name != ACCOUNT.name:
            raise AccountNotFound(name)
        return ACCOUNT

    def connect(self, account: Account, auth: Authenticator) -> smtplib.SMTP:
        smtp = smtplib.SMTP("127.0.0.1", self.server.port, timeout=10)
        smtp.ehlo()
        return smtp


class _NoSentFolder:
    def append(self, raw: bytes, message_id: str, *, may_exist: bool = False) -> None:
        pass

    def close(self) -> None:
        pass


def running_world(tmp_path: Path) -> Iterator[World]:
    """For a ``world`` fixture: the worker is stopped and the server closed afterwards."""
    server = FakeSmtpServer()
    built = World(tmp_path, server)
    yield built
    assert built.worker.stop()
    server.close()
    for store in built.stores:
        store.close()


def draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "account": "work",
        "sender": ACCOUNT.sender,
        "to": "bob@example.org",
        "subject": "Hello",
        "body": "Hi Bob.",
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]
