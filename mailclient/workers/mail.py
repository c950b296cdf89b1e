"""The window's mail workers: per account, threads that own IMAP connections.

Per account there are two command lanes, each a thread with its own IMAP connection and
store connection, fed from a queue:

- the *sync* lane runs folder syncs (long: a first sync of 50,000 messages takes a while),
  then, while no command waits, downloads bodies for offline use (mailclient.imap.bodies);
- the *interactive* lane fetches bodies and tells the server about flag changes, moves
  and deletes, so that none of these waits behind a long sync;

and an IDLE thread (a third connection) that asks the sync lane for an INBOX sync when
the server reports a change. A change the user makes is written to the store first, on a
writer thread shared by all accounts (the GUI thread never writes and never waits for a
lock), where it waits until the server confirmed it (mailclient.imap.changes); the
interactive lane sends it, and the sync lane sends what still waits before each folder
sync. If the server cannot be reached the change keeps waiting (across restarts too); if
the server refuses it for good, the store is set back and the refusal reported.

Passwords are read from the keyring on the worker threads, never on the GUI thread.
Results leave as signals carrying the dataclasses of mailclient.workers.events; the store
change counter after a write leaves as ``committed`` for the StoreWatcher.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar, assert_never

from PySide6.QtCore import QDeadlineTimer, QObject, QThread, QTimer, Signal

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account
from mailclient.accounts.signin import SignIn
from mailclient.core.abort import AbortSwitch
from mailclient.core.errors import AccountNotFound, MailclientError, NetworkError
from mailclient.core.models import MessageSummary
from mailclient.store.mail import MailStore
from mailclient.workers.commands import (
    ChangeFolder,
    Command,
    DeleteMessages,
    ExpungeMessages,
    FetchBody,
    LaneCommand,
    LocalChange,
    MoveMessages,
    SendPending,
    SetFlags,
    SyncAccount,
    TransferMessages,
    UndoChanges,
)
from mailclient.workers.events import (
    BodyFailed,
    BodyFetched,
    SyncFinished,
    SyncProgress,
    WorkFailed,
)

if TYPE_CHECKING:
    from mailclient.imap.bodies import BodyProgress
    from mailclient.imap.changes import ChangeRefused
    from mailclient.imap.client import ImapSession
    from mailclient.imap.sync import AccountSync, SyncOptions
    from mailclient.imap.sync import SyncProgress as EngineProgress

log = logging.getLogger(__name__)

INBOX = "INBOX"
# IDLE watches the INBOX; the other folders are looked at this often.
RESYNC_INTERVAL_MS = 5 * 60 * 1000
# The status bar while message bodies are downloaded ("Syncing <this> — 40 of 1,200").
KEEPING_LABEL = "messages for offline use"
# Stored bodies indexed after a message was shown: it, and a few waiting from before.
_INDEX_AFTER_OPEN = 20


class _Stop:
    """Ends a thread's loop."""


_STOP = _Stop()
# What one kind of thread runs: LaneCommand or LocalChange.
C = TypeVar("C", bound=Command)


def _transient(error: MailclientError) -> bool:
    """Whether trying again later may help: a network hiccup yes, a wrong password no."""
    return error.transient if isinstance(error, NetworkError) else True


def _readable(error: Exception) -> MailclientError:
    if isinstance(error, MailclientError):
        return error
    return MailclientError(f"An unexpected error happened: {error}.")


# -- threads ---------------------------------------------------------------------------------

# Stopped threads that had not ended yet. Qt aborts the process when a running QThread is
# destroyed, so they are kept here, out of their hub, until they end; at exit the
# interpreter waits for them. With their connections cut only what cannot be cut short
# (a DNS lookup, the keyring) keeps one running, and each of those has a timeout of its own.
_stopping: set[QThread] = set()


def _keep_until_finished(thread: QThread) -> None:
    _stopping.difference_update([t for t in _stopping if t.isFinished()])
    if not thread.isFinished():
        thread.setParent(None)
        _stopping.add(thread)


@atexit.register
def _wait_for_stopping_threads() -> None:
    for thread in list(_stopping):
        if not thread.wait(QDeadlineTimer(2_000)):
            log.warning("Waiting for thread %s to end", thread.objectName())
            thread.wait()
    _stopping.clear()


class _QueueThread(QThread, Generic[C]):
    """A thread with its own store connection that runs commands from a queue in order."""

    def __init__(self, hub: MailWorkers, name: str) -> None:
        super().__init__(hub)
        self.setObjectName(name)
        self._hub = hub
        self._queue: queue.Queue[C | _Stop] = queue.Queue()
        self.stop_event = threading.Event()
        self.store: MailStore | None = None

    def submit(self, command: C) -> None:
        self._queue.put(command)

    def stop(self) -> None:
        self.stop_event.set()
        self._queue.put(_STOP)

    def run(self) -> None:
        try:
            self.store = MailStore.open(self._hub.store_path)
        except MailclientError as error:
            self._hub.failed.emit(WorkFailed("", str(error), transient=False))
            return
        try:
            while True:
                command = self._queue.get()
                if isinstance(command, _Stop):
                    break
                self._taken(command)
                if not self.stop_event.is_set():
                    self._execute(command)
        finally:
            self._finish()
            self.store.close()

    def _taken(self, command: C) -> None:
        """Called when ``command`` leaves the queue."""

    def _execute(self, command: C) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Called on the thread before it ends."""


class _Lane(_QueueThread[LaneCommand]):
    """One account's IMAP connection (opened on first use) and its commands."""

    def __init__(self, hub: MailWorkers, account: Account, name: str) -> None:
        super().__init__(hub, f"{account.name}-{name}")
        self.account = account
        self._pending_syncs: set[SyncAccount | SendPending] = set()
        self._lock = threading.Lock()
        self._engine: AccountSync | None = None
        self.abort = AbortSwitch()

    def stop(self) -> None:
        super().stop()
        self.abort.trip()  # a connect or read blocked on a silent server ends now

    def submit(self, command: LaneCommand) -> None:
        if isinstance(command, SyncAccount | SendPending):
            with self._lock:
                # One already waiting will do everything this one would.
                if command in self._pending_syncs or SyncAccount() in self._pending_syncs:
                    return
                self._pending_syncs.add(command)
        super().submit(command)

    def _taken(self, command: LaneCommand) -> None:
        if isinstance(command, SyncAccount | SendPending):
            with self._lock:
                self._pending_syncs.discard(command)

    def _finish(self) -> None:
        if self._engine is not None:
            self._engine.close()

    def _engine_for(self, store: MailStore) -> AccountSync:
        if self._engine is None:
            # Imported here, on the lane's thread: the window starts without the engine.
            from mailclient.imap.sync import AccountSync

            auth = self._hub.sign_in.authenticator(self.account)
            auth.secret("imap")  # a missing password or sign-in fails here, as before
            self._engine = AccountSync(
                self.account,
                auth,
                store,
                options=self._hub.options,  # None: the engine's defaults
                on_progress=self._progressed,
                stop=self.stop_event,
                abort=self.abort,
                connect_other=self._connect_other,
            )
        return self._engine

    def _connect_other(self, name: str) -> ImapSession:
        """A connection to another account, for copies and moves to its folders."""
        from mailclient.imap.client import ImapSession

        other = self._hub.account(name)
        return ImapSession.connect(other, self._hub.sign_in.authenticator(other), abort=self.abort)

    def _report_transfers(self, engine: AccountSync) -> None:
        """The folders of other accounts that received messages from here: sync them."""
        while engine.transferred_to:
            account, folder = engine.transferred_to.pop()
            self._hub.transferred.emit(account, folder)

    def _progressed(self, progress: EngineProgress) -> None:
        self._hub.committed.emit(progress.seq)
        self._hub.progressed.emit(
            SyncProgress(self.account.name, progress.folder, progress.fetched, progress.missing)
        )

    def _execute(self, command: LaneCommand) -> None:
        assert self.store is not None
        try:
            engine = self._engine_for(self.store)
            match command:
                case SyncAccount():
                    self._sync(engine, command)
                case FetchBody(message_id):
                    engine.fetch_body(message_id)
                    self._hub.committed.emit(0)
                    self._hub.body_fetched.emit(BodyFetched(message_id))
                    # For search, once the message is shown.
                    from mailclient.mime.search_text import indexed_text

                    self.store.index_queued_bodies(indexed_text, _INDEX_AFTER_OPEN)
                case SendPending():
                    try:
                        self._report_refused(engine.send_pending())
                    finally:
                        # Sent, or set back after a refusal: either way the store changed.
                        self._hub.committed.emit(0)
                        self._report_transfers(engine)
                case _:
                    assert_never(command)
        except Exception as error:
            if not isinstance(error, MailclientError):
                log.exception("%s: %r failed", self.account.name, command)
            self._failed(command, _readable(error))

    def _sync(self, engine: AccountSync, command: SyncAccount) -> None:
        self._hub.progressed.emit(SyncProgress(self.account.name, "", 0, 0))
        results = engine.sync(list(command.folders) if command.folders is not None else None)
        self._hub.committed.emit(0)
        self._report_refused([refused for r in results for refused in r.refused])
        problems = [r for r in results if r.error]
        if problems and not self.stop_event.is_set():
            first = problems[0]
            self._hub.failed.emit(
                WorkFailed(
                    self.account.name,
                    f"{self.account.name}: the folder {first.folder} could not be synced: "
                    f"{first.error}",
                    transient=True,
                    command=command,
                )
            )
        self._report_transfers(engine)
        self._hub.synced.emit(SyncFinished(self.account.name))
        self._keep_bodies(engine)

    def _keep_bodies(self, engine: AccountSync) -> None:
        """Download bodies for offline reading and search while no command waits here.

        This lane's own connection: a message the user opens comes by the interactive
        lane, and a sync asked for meanwhile waits for one small batch at most.
        """
        from mailclient.imap.bodies import KeepPolicy, download_bodies

        reported = False

        def report(progress: BodyProgress) -> None:
            nonlocal reported
            reported = True
            total = progress.stored + progress.waiting
            self._hub.progressed.emit(
                SyncProgress(self.account.name, KEEPING_LABEL, progress.stored, total)
            )

        stored = download_bodies(
            engine,
            KeepPolicy.of(self.account),
            should_yield=lambda: not self._queue.empty() or self.stop_event.is_set(),
            on_progress=report,
        )
        if stored:
            self._hub.committed.emit(0)
        if reported:
            self._hub.synced.emit(SyncFinished(self.account.name))

    def _report_refused(self, refused: list[ChangeRefused]) -> None:
        for error in refused:
            # Undone already: nothing to retry, the user may make the change again.
            message = f"{self.account.name}: {error}"
            self._hub.failed.emit(WorkFailed(self.account.name, message, False, None, error))

    def _failed(self, command: LaneCommand, error: MailclientError) -> None:
        if self.stop_event.is_set():
            # Stopping cut the connection: nothing the user should hear about.
            log.debug("%s: %r ended by stop: %s", self.account.name, command, error)
            return
        if isinstance(error, NetworkError) and self._engine is not None:
            # The connection may be broken: the next command opens a new one.
            self._engine.close()
            self._engine = None
        transient = _transient(error)
        if isinstance(command, FetchBody):
            self._hub.body_failed.emit(BodyFailed(command.message_id, str(error)))
        message = f"{self.account.name}: {error}"
        if isinstance(command, SendPending):
            message += " The changes are kept and will be sent when the server can be reached."
        # What the window tells the user belongs in the log of a bug report too.
        log.warning("%s (%s)", message, type(command).__name__)
        self._hub.failed.emit(WorkFailed(self.account.name, message, transient, command, error))


class _Writer(_QueueThread[LocalChange]):
    """Writes the user's changes into the store at once, then hands them to the lanes."""

    def __init__(self, hub: MailWorkers) -> None:
        super().__init__(hub, "store-writer")

    def stop(self) -> None:
        # Without setting stop_event: the writes queued before the stop are the user's
        # changes, quick to make and kept in the store until the server has them.
        self._queue.put(_STOP)

    def _execute(self, command: LocalChange) -> None:
        match command:
            case UndoChanges():
                self._undo(command)
            case ChangeFolder():
                self._change_folder(command)
            case SetFlags():
                try:
                    self._change_messages(command)
                finally:
                    self._hub.flags_written.emit(command.ids)
            case MoveMessages() | TransferMessages() | DeleteMessages() | ExpungeMessages():
                self._change_messages(command)
            case _:
                assert_never(command)

    def _change_messages(
        self,
        command: SetFlags | MoveMessages | TransferMessages | DeleteMessages | ExpungeMessages,
    ) -> None:
        from mailclient.imap import changes

        assert self.store is not None
        for account, ids in self._by_account(command.ids).items():
            try:
                match command:
                    case SetFlags(_, add, remove):
                        changes.set_flags(self.store, ids, add, remove)
                    case MoveMessages(_, target_folder_id):
                        changes.move_messages(self.store, ids, target_folder_id)
                    case TransferMessages(_, target_folder_id, copy):
                        self.store.record_transfer(ids, target_folder_id, copy)
                    case ExpungeMessages():
                        changes.expunge_messages(self.store, ids)
                    case DeleteMessages():
                        changes.delete_messages(self.store, ids)
                    case _:
                        assert_never(command)
            except Exception as error:
                if not isinstance(error, MailclientError):
                    log.exception("Writing %r failed", command)
                # Retry writes this account's part again (the others went through).
                retry = replace(command, ids=tuple(ids))
                self._hub.failed.emit(WorkFailed(account, str(_readable(error)), True, retry))
                continue
            self._hub.committed.emit(0)
            self._hub.change_written.emit(account, SendPending())

    def _change_folder(self, command: ChangeFolder) -> None:
        from mailclient.imap import changes

        assert self.store is not None
        try:
            if command.kind == "create":
                changes.create_folder(self.store, command.account, command.name)
            elif command.folder_id is None:
                raise MailclientError("No folder was chosen.")
            elif command.kind == "rename":
                changes.rename_folder(self.store, command.folder_id, command.name)
            elif command.kind in ("subscribe", "unsubscribe"):
                changes.subscribe_folder(self.store, command.folder_id, command.kind == "subscribe")
            else:
                changes.delete_folder(self.store, command.folder_id)
        except Exception as error:
            if not isinstance(error, MailclientError):
                log.exception("Changing a folder failed: %r", command)
            self._hub.failed.emit(WorkFailed(command.account, str(_readable(error)), False))
            return
        self._hub.committed.emit(0)
        self._hub.change_written.emit(command.account, SendPending())

    def _undo(self, command: UndoChanges) -> None:
        from mailclient.imap import changes

        assert self.store is not None
        try:
            changes.undo(
                self.store,
                [changes.MovedMessage(*m) for m in command.moved],
                command.target_folder_id,
                [changes.FlagEdit(f.ids, f.add, f.remove) for f in command.flags],
            )
        except Exception as error:
            if not isinstance(error, MailclientError):
                log.exception("Undoing %r failed", command)
            self._hub.failed.emit(WorkFailed(command.account, str(_readable(error)), True, command))
            return
        self._hub.committed.emit(0)
        self._hub.change_written.emit(command.account, SendPending())

    def _by_account(self, ids: Sequence[int]) -> dict[str, list[int]]:
        assert self.store is not None
        accounts: dict[int, str] = {}
        grouped: dict[str, list[int]] = defaultdict(list)
        for location in self.store.locations(ids):
            if location.folder_id not in accounts:
                folder = self.store.folder(location.folder_id)
                accounts[location.folder_id] = folder.account if folder else ""
            if accounts[location.folder_id]:
                grouped[accounts[location.folder_id]].append(location.id)
        return grouped


class _Idle(QThread):
    """IDLE on the INBOX of one account (mailclient.imap.idle.IdleWatcher)."""

    def __init__(self, hub: MailWorkers, account: Account) -> None:
        super().__init__(hub)
        self.setObjectName(f"{account.name}-idle")
        self._hub = hub
        self.account = account
        self.stop_event = threading.Event()
        self.abort = AbortSwitch()

    def stop(self) -> None:
        self.stop_event.set()
        self.abort.trip()

    def run(self) -> None:
        from mailclient.imap.client import DEFAULT_TIMEOUT
        from mailclient.imap.idle import IdleWatcher

        try:
            auth = self._hub.sign_in.authenticator(self.account)
            auth.secret("imap")
        except MailclientError as error:
            self._hub.failed.emit(WorkFailed(self.account.name, str(error), transient=False))
            return
        name = self.account.name
        watcher = IdleWatcher(
            self.account,
            auth,
            on_change=lambda: self._hub.idle_reported.emit(name),
            stop=self.stop_event,
            on_error=self._failed,
            timeout=self._hub.options.timeout if self._hub.options else DEFAULT_TIMEOUT,
            abort=self.abort,
        )
        watcher.run()

    def _failed(self, error: MailclientError) -> None:
        if self.stop_event.is_set():
            return
        name = self.account.name
        # Retry means: sync again and restart IDLE (see MailWorkers.retry).
        self._hub.failed.emit(
            WorkFailed(name, f"{name}: {error}", _transient(error), SyncAccount(), error)
        )


@dataclass
class _AccountThreads:
    sync: _Lane
    interactive: _Lane
    idle: _Idle | None

    def all(self) -> list[_Lane | _Idle]:
        return [self.sync, self.interactive, *([self.idle] if self.idle else [])]


class MailWorkers(QObject):
    """Starts, feeds and stops the threads of every account. Lives on the GUI thread."""

    progressed = Signal(SyncProgress)
    synced = Signal(SyncFinished)
    failed = Signal(WorkFailed)
    body_fetched = Signal(BodyFetched)
    body_failed = Signal(BodyFailed)
    committed = Signal(int)  # a store change counter value (0: unknown) after a write
    flags_written = Signal(object)  # the ids of a SetFlags, in the store now (or failed)
    # From worker threads to this object (queued): a change to send, IDLE heard something.
    change_written = Signal(str, SendPending)
    idle_reported = Signal(str)
    # Every thread of an account that was removed or changed has ended: nothing of that
    # account's old settings writes to the store any more.
    account_stopped = Signal(str)
    # Messages were appended to this account's folder (from another account): sync it.
    transferred = Signal(str, str)

    def __init__(
        self,
        accounts: Sequence[Account],
        credentials: SignIn | CredentialStore,
        store_path: Path,
        options: SyncOptions | None = None,
        idle: bool = True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        # A bare credential store serves password accounts (and tests); the window hands
        # in the profile's SignIn, whose token accounts share their access tokens.
        self.sign_in = credentials if isinstance(credentials, SignIn) else SignIn(credentials)
        self.store_path = store_path
        self.options = options
        self._use_idle = idle
        self._accounts = {a.name: a for a in accounts}
        self._threads: dict[str, _AccountThreads] = {}
        self._retiring: dict[str, list[QThread]] = {}
        self._writer: _Writer | None = None
        self._started = False
        self._stopped = False  # after stop(): late signals must not start threads again
        self._resync = QTimer(self)
        self._resync.setInterval(RESYNC_INTERVAL_MS)
        self._resync.timeout.connect(self.sync_all)
        self.change_written.connect(self._send_change)
        self.idle_reported.connect(self._idle_heard)
        self.transferred.connect(lambda account, folder: self.sync(account, [folder]))

    # -- life cycle -------------------------------------------------------------------------

    def start(self, sync: bool = True) -> None:
        """Start every account's threads and (by default) a full sync of each."""
        self._started = True
        self._stopped = False
        for account in self._accounts.values():
            self._start_account(account)
        if sync:
            self.sync_all()
        self._resync.start()

    def _start_account(self, account: Account) -> _AccountThreads:
        threads = self._threads.get(account.name)
        if threads is None:
            threads = _AccountThreads(
                _Lane(self, account, "sync"),
                _Lane(self, account, "interactive"),
                _Idle(self, account) if self._use_idle else None,
            )
            for thread in threads.all():
                thread.finished.connect(self._thread_finished)
                thread.start()
            self._threads[account.name] = threads
        return threads

    def _write(self, command: LocalChange) -> None:
        if self._stopped:
            return
        if self._writer is None:
            self._writer = _Writer(self)
            self._writer.start()
        self._writer.submit(command)

    def stop(self, wait_ms: int = 5_000) -> None:
        """Stop every thread: cut their connections, then wait for them to end.

        A cut connection ends a blocked connect or read at once (a sync in progress keeps
        what it committed). Threads are waited for ``wait_ms`` in all; one still busy then
        with what cannot be cut short is kept until it ends, never destroyed running.
        """
        self._resync.stop()
        threads: list[QThread] = []
        if self._writer is not None:
            self._writer.stop()
            threads.append(self._writer)
            self._writer = None
        for account_threads in self._threads.values():
            for thread in account_threads.all():
                thread.stop()
                threads.append(thread)
        for retiring in self._retiring.values():
            threads += retiring
        deadline = QDeadlineTimer(wait_ms)
        for stopping in threads:
            if not stopping.wait(deadline):
                log.warning("Thread %s did not stop in time", stopping.objectName())
                _keep_until_finished(stopping)
        self._threads.clear()
        self._retiring.clear()
        self._started = False
        self._stopped = True

    def set_accounts(self, accounts: Sequence[Account]) -> None:
        """Accounts were added, removed or edited: restart what changed."""
        wanted = {a.name: a for a in accounts}
        for name in list(self._threads):
            if name not in wanted or wanted[name] != self._accounts.get(name):
                self._stop_account(name)
        self._accounts = wanted
        if self._started:
            for account in wanted.values():
                if account.name not in self._threads:
                    self._start_account(account)
                    self.sync(account.name)

    def _stop_account(self, name: str) -> None:
        """Stop the account's threads without waiting for them: stopping cuts their
        connections, so each ends as soon as its current call fails (see AbortSwitch)."""
        threads = self._threads.pop(name, None)
        if threads is None:
            return
        for thread in threads.all():
            thread.stop()
        retiring = self._retiring.setdefault(name, [])
        # A thread that ends from now on is seen by _thread_finished (connected at start).
        retiring += [t for t in threads.all() if not t.isFinished()]
        if not retiring:
            del self._retiring[name]
            self.account_stopped.emit(name)

    def _thread_finished(self) -> None:
        ended = self.sender()
        for name, retiring in list(self._retiring.items()):
            if ended in retiring:
                retiring.remove(ended)
                if not retiring:
                    del self._retiring[name]
                    self.account_stopped.emit(name)

    @property
    def check_interval_minutes(self) -> int:
        return self._resync.interval() // 60_000

    def set_check_interval(self, minutes: int) -> None:
        """How often every folder of every account is synced (IDLE covers the inbox)."""
        self._resync.setInterval(max(1, minutes) * 60_000)

    def reconnect(self, account: str) -> None:
        """Sync the account again on new connections, IDLE included (after a new password)."""
        threads = self._threads.get(account)
        if threads is not None:
            # Engines are dropped after a login failure; a sync opens a new one.
            self.sync(account)
            self._restart_idle(account)

    def _lane(self, account: str, interactive: bool) -> _Lane | None:
        """The account's lane, started on first use; None once the workers were stopped."""
        if self._stopped or account not in self._accounts:
            return None
        threads = self._threads.get(account) or self._start_account(self._accounts[account])
        return threads.interactive if interactive else threads.sync

    def _submit(self, account: str, command: LaneCommand, interactive: bool) -> None:
        lane = self._lane(account, interactive)
        if lane is not None:
            lane.submit(command)

    # -- commands ---------------------------------------------------------------------------

    def sync_all(self) -> None:
        for name in self._accounts:
            self.sync(name)

    def sync(self, account: str, folders: Sequence[str] | None = None) -> None:
        command = SyncAccount(tuple(folders) if folders is not None else None)
        self._submit(account, command, interactive=False)

    def fetch_body(self, summary: MessageSummary) -> None:
        self._submit(summary.account, FetchBody(summary.id), interactive=True)

    def set_flags(self, ids: Sequence[int], add: frozenset[str], remove: frozenset[str]) -> None:
        """Add and remove flags (\\Seen, \\Flagged...): the store at once, then the server."""
        if ids:
            self._write(SetFlags(tuple(ids), add, remove))

    def move(self, ids: Sequence[int], target_folder_id: int) -> None:
        """Move messages to another folder of their account."""
        if ids:
            self._write(MoveMessages(tuple(ids), target_folder_id))

    def transfer(self, ids: Sequence[int], target_folder_id: int, copy: bool = False) -> None:
        """Copy or move messages to a folder of another account: recorded in the store at
        once, carried out by their account's worker (imap/transfers.py)."""
        if ids:
            self._write(TransferMessages(tuple(ids), target_folder_id, copy))

    def account(self, name: str) -> Account:
        """The settings of account ``name`` (from any thread)."""
        found = self._accounts.get(name)
        if found is None:
            raise AccountNotFound(name)
        return found

    def delete(self, ids: Sequence[int]) -> None:
        """Move messages to the Trash (expunge those already there)."""
        if ids:
            self._write(DeleteMessages(tuple(ids)))

    def expunge(self, ids: Sequence[int]) -> None:
        """Delete messages for good, wherever they are (the user confirmed it)."""
        if ids:
            self._write(ExpungeMessages(tuple(ids)))

    def change_folder(self, change: ChangeFolder) -> None:
        """Create, rename or delete a folder: the store at once, then the server."""
        self._write(change)

    def undo(self, change: UndoChanges) -> None:
        """Take back earlier changes (Edit ▸ Undo): the store at once, then the server."""
        self._write(change)

    def retry(self, failure: WorkFailed) -> None:
        """Do the failed command again (the error bar's Retry)."""
        command = failure.command
        match command:
            case None:
                pass
            case SyncAccount():
                self._submit(failure.account, command, interactive=False)
                self._restart_idle(failure.account)
            case FetchBody() | SendPending():
                self._submit(failure.account, command, interactive=True)
            case (
                SetFlags()
                | MoveMessages()
                | TransferMessages()
                | DeleteMessages()
                | ExpungeMessages()
                | UndoChanges()
                | ChangeFolder()
            ):
                self._write(command)
            case _:
                assert_never(command)

    def _restart_idle(self, account: str) -> None:
        """After a failure IDLE gave up on (a password, say): try again with the sync."""
        threads = self._threads.get(account)
        if not self._use_idle or threads is None or self._stopped:
            return
        if threads.idle is None or threads.idle.isFinished():
            threads.idle = _Idle(self, threads.sync.account)
            threads.idle.finished.connect(self._thread_finished)
            threads.idle.start()

    def _idle_heard(self, account: str) -> None:
        self.sync(account, [INBOX])

    def _send_change(self, account: str, command: SendPending) -> None:
        self._submit(account, command, interactive=True)
