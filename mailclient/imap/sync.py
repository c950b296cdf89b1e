"""The sync engine: mirrors one account's folders into the store and keeps them current.

AccountSync owns one IMAP connection and belongs to one thread (a worker of the window,
or the command line). Each folder is planned by planner.plan_folder() and then:

0. local changes still waiting for the server are sent (mailclient.imap.changes);
1. a changed UIDVALIDITY discards the folder's cache;
2. flags are fetched (CHANGEDSINCE where CONDSTORE is on) and expunges learned
   (VANISHED under QRESYNC, or by comparing UIDs);
3. missing headers are fetched newest first, in batches (a small first one, so that
   the newest mail is readable at once), each batch committed on its own: an interrupted
   sync resumes with what is still missing;
4. the flag changes, the expunges and the new UIDNEXT/HIGHESTMODSEQ are committed in
   one transaction, so the recorded state never runs ahead of the stored messages.

A dropped connection is reopened with exponential backoff and the folder resumed; a
rejected password stops at once (retrying could lock the account).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.abort import AbortSwitch
from mailclient.core.errors import MailclientError, NetworkError
from mailclient.core.models import Folder
from mailclient.imap import changes, wire
from mailclient.imap.client import DEFAULT_TIMEOUT, FetchedBatch, ImapSession, MailboxStatus
from mailclient.imap.planner import FlagSync, plan_folder
from mailclient.store.mail import FolderSyncState, MailStore

log = logging.getLogger(__name__)
T = TypeVar("T")
_Write = tuple[Callable[[MailStore], int], int]

# Dovecot refuses command lines over 64 KiB; UID sets of sparse folders can get long.
_MAX_SET_BYTES = 32_000
# Structures are small; batches this size keep the pipeline busy on both ends.
_STRUCTURE_BATCH = 1000


class MessageNotFound(MailclientError):
    """The message is no longer in the store or on the server."""


@dataclass(frozen=True)
class SyncOptions:
    """How a sync behaves; the defaults are what the window uses."""

    use_extensions: bool = True  # False: plain IMAP4rev1 even if CONDSTORE/QRESYNC exist
    first_batch: int = 500  # the newest messages, readable at once
    batch: int = 5000
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = 5  # connection attempts per folder before giving up
    backoff: float = 1.0  # seconds before the first retry; doubles each time
    max_backoff: float = 60.0


@dataclass(frozen=True)
class SyncProgress:
    """Reported after every committed batch: the window can re-read ``folder_id``."""

    folder_id: int
    folder: str
    fetched: int
    missing: int
    seq: int  # the store's change counter after the commit


@dataclass
class FolderSyncResult:
    """What one folder's sync did."""

    folder: str
    new: int = 0
    changed: int = 0
    removed: int = 0
    reset: bool = False  # UIDVALIDITY changed: the cache was rebuilt
    error: str | None = None  # the folder could not be synced (the others were)
    complete: bool = True  # False when stopped before the end
    # Local changes the server refused for good before the sync (undone in the store).
    refused: list[changes.ChangeRefused] = field(default_factory=list)
    # Messages that exist but that the server would not send, even when asked again; the
    # next sync asks once more.
    unfetched: list[int] = field(default_factory=list)


class _Stopped(Exception):
    """The stop event was set between two batches."""


def _batches(uids: Sequence[int], first: int, size: int) -> Iterator[Sequence[int]]:
    start, length = 0, first
    while start < len(uids):
        batch = uids[start : start + length]
        while len(batch) > 1 and len(wire.uid_set(batch)) > _MAX_SET_BYTES:
            batch = batch[: len(batch) // 2]
        yield batch
        start += len(batch)
        length = size


def _ranges(uids: Sequence[int]) -> list[tuple[int, int]]:
    return [(u, u) for u in uids]


class _StoreWriter:
    """Runs store writes in order on a thread with its own connection.

    SQLite works without holding the GIL, so the next batch is read and parsed while the
    last one is written. At most two writes wait: a slow disk slows the fetch instead of
    filling memory. A failed write is raised in the sync's thread at its next call, and
    the writes after it are skipped. Leaving the ``with`` block waits for every write.
    """

    _QUEUED = 2

    def __init__(self, path: Path, name: str = "sync-writer") -> None:
        self._path = path
        self._jobs: queue.Queue[_Write | None] = queue.Queue(self._QUEUED)
        self._done: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> _StoreWriter:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self._jobs.put(None)
        self._thread.join()
        if kind is None:
            self._raise()

    def _run(self) -> None:
        store: MailStore | None = None
        try:
            store = MailStore.open(self._path)
        except BaseException as error:  # raised again in the sync's thread
            self._error = error
        while (job := self._jobs.get()) is not None:
            try:
                if store is not None and self._error is None:
                    write, count = job
                    self._done.put((count, write(store)))
            except BaseException as error:  # raised again in the sync's thread
                self._error = error
            finally:
                self._jobs.task_done()
        if store is not None:
            store.close()

    def submit(self, write: Callable[[MailStore], int], count: int) -> None:
        """Queue ``write(store)``, which stores ``count`` messages and returns the seq."""
        self._raise()
        self._jobs.put((write, count))

    def offer(self, write: Callable[[MailStore], int]) -> bool:
        """Queue ``write(store)``, which stores no new messages, if there is room now."""
        self._raise()
        try:
            self._jobs.put_nowait((write, 0))
        except queue.Full:
            return False
        return True

    def done(self) -> list[tuple[int, int]]:
        """(messages, seq) of each write of messages finished since the last call."""
        self._raise()
        finished = []
        while not self._done.empty():
            count, seq = self._done.get()
            if count:
                finished.append((count, seq))
        return finished

    def wait(self) -> list[tuple[int, int]]:
        """Like done(), once every queued write has finished."""
        self._jobs.join()
        return self.done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def _restore_sort_indexes(store: MailStore) -> int:
    store.restore_sort_indexes()
    return 0


class AccountSync:
    """Syncs one account into ``store``; not thread-safe: one thread owns it."""

    def __init__(
        self,
        account: Account,
        auth: Authenticator,
        store: MailStore,
        options: SyncOptions | None = None,
        on_progress: Callable[[SyncProgress], None] | None = None,
        stop: threading.Event | None = None,
        abort: AbortSwitch | None = None,
        connect_other: Callable[[str], ImapSession] | None = None,
        session: ImapSession | None = None,
    ) -> None:
        """``connect_other(name)`` opens a connection to another account of the profile,
        for copies and moves to its folders; without it those wait. ``session`` is this
        account's, opened already (the command line opens it while it loads the rest)."""
        self.account = account
        self._connect_other = connect_other
        # (account, folder) that received messages from here: the caller syncs them.
        self.transferred_to: set[tuple[str, str]] = set()
        self.store = store
        self.options = options or SyncOptions()
        self._auth = auth
        self._on_progress = on_progress
        self._stop = stop or threading.Event()
        self._abort = abort  # cuts the connection from another thread (see open_client)
        self._session = session
        self._sized: ImapSession | None = None  # the session told the folders' sizes
        # STATUS of folders read at the start of sync(), by folder id, with the state the
        # store had then (see _peek).
        self._peeked: dict[int, tuple[FolderSyncState, MailboxStatus]] = {}

    # -- connection -------------------------------------------------------------------------

    @property
    def session(self) -> ImapSession:
        """The connection, opened on first use (and again after it broke)."""
        if self._session is not None and not self._session.alive:
            self._session = None
        if self._session is None:
            self._session = ImapSession.connect(
                self.account,
                self._auth,
                timeout=self.options.timeout,
                use_extensions=self.options.use_extensions,
                abort=self._abort,
            )
        if self._sized is not self._session:
            # Big folders are opened on a connection that has not listed (ImapSession).
            folders = self.store.selectable_folders(self.account.name)
            self._session.expect_sizes({f.name: f.total for f in folders})
            self._sized = self._session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.abort()
            self._session = None

    def retrying(self, action: Callable[[], T]) -> T:
        """Run ``action``; after a dropped connection reconnect with backoff and run it again.

        Errors that retrying cannot fix (a rejected password, an untrusted certificate,
        a NO from the server) are raised at once.
        """
        delay = self.options.backoff
        for attempt in range(1, self.options.attempts + 1):
            try:
                return action()
            except NetworkError as error:
                if not error.transient or attempt == self.options.attempts:
                    raise
                log.warning("%s: %s Trying again in %.0f s.", self.account.name, error, delay)
                self._drop_session()
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, self.options.max_backoff)
        raise AssertionError("unreachable")

    # -- local changes ----------------------------------------------------------------------

    def send_pending(self, folder_id: int | None = None) -> list[changes.ChangeRefused]:
        """Send the local changes waiting in the store (see changes.send_pending).

        Connects if need be; when that fails, the changes keep waiting and the error is
        raised. Returns the changes the server refused for good (undone in the store).
        Folder changes go first (all of them, whatever ``folder_id``): the message changes
        may name a folder by its new name. Copies and moves to other accounts go last,
        without ``folder_id`` only.
        """
        refused: list[changes.ChangeRefused] = list(
            changes.send_folder_changes(lambda: self.session, self.store, self.account.name)
        )
        refused += changes.send_pending(
            lambda: self.session, self.store, self.account.name, folder_id
        )
        if folder_id is not None:
            return refused  # the sync of one folder: copies to other accounts go after all
        return refused + self._send_transfers()

    def _send_transfers(self) -> list[changes.ChangeRefused]:
        if self._connect_other is None or not self.store.pending_transfers(self.account.name):
            return []
        # Imported when there is something to send, as the header parsing below is when
        # there is something to fetch: a sync that finds nothing new loads neither.
        from mailclient.imap import transfers

        sent = transfers.send_transfers(
            lambda: self.session, self._connect_other, self.store, self.account.name
        )
        self.transferred_to |= sent.targets
        return list(sent.refused)

    # -- syncing ----------------------------------------------------------------------------

    def sync(self, folder_names: Sequence[str] | None = None) -> list[FolderSyncResult]:
        """Refresh the folder list (unless the store knows every folder named), then sync
        the named folders (default: all, INBOX first).

        Folder changes made here go to the server first: a folder renamed here would
        otherwise look deleted there. Their refusals come as the first result's.
        """
        # A first fill that was cut short (the process died) left the sort indexes out.
        self.store.restore_sort_indexes()
        refused: list[changes.ChangeRefused] = list(
            self.retrying(
                lambda: changes.send_folder_changes(
                    lambda: self.session, self.store, self.account.name
                )
            )
        )
        try:
            self._peeked = self.retrying(lambda: self._peek(folder_names))
            results = self._sync_listed(folder_names)
        finally:
            self._peeked = {}
        if not self._stop.is_set():
            # Copies and moves to other accounts that waited (offline, say) go now; one
            # whose other server cannot be reached waits on without failing this sync.
            try:
                refused += self._send_transfers()
            except MailclientError as error:
                log.warning("%s: copies to other accounts wait: %s", self.account.name, error)
        if refused:
            results.insert(0, FolderSyncResult("", refused=refused))
        return results

    def _sync_listed(self, folder_names: Sequence[str] | None) -> list[FolderSyncResult]:
        """Read the folder list, then sync the named folders (default: all).

        Folders the store knows already are synced without the list: new mail in INBOX
        (IDLE) should not cost a LIST, which makes Dovecot slower to open a big folder on
        the same connection (see ImapSession._renew_before_opening).
        """
        folders = self.store.selectable_folders(self.account.name)
        listed = folder_names is None or not {f.name for f in folders}.issuperset(folder_names)
        if listed:
            self.retrying(self.refresh_folders)
            folders = self.store.selectable_folders(self.account.name)
        if folder_names is not None:
            by_name = {f.name: f for f in folders}
            unknown = [n for n in folder_names if n not in by_name]
            if unknown:
                raise MailclientError(
                    f"The account {self.account.name} has no folder named {unknown[0]!r}."
                )
            folders = [by_name[n] for n in folder_names]
        results = []
        for folder in folders:
            if self._stop.is_set():
                break
            result = self.sync_folder(folder)
            if result.error and not listed:
                # Synced without the folder list: it may have gone from the server since.
                listed = True
                try:
                    self.retrying(self.refresh_folders)
                except MailclientError as error:
                    log.warning("%s: the folder list: %s", self.account.name, error)
            now = self.store.folder(folder.id)
            if result.error and (now is None or now.name != folder.name):
                # Renamed or deleted (here while this sync ran, or on the server): not a
                # failure to report.
                result.error = None
            results.append(result)
        return results

    def _peek(
        self, folder_names: Sequence[str] | None
    ) -> dict[int, tuple[FolderSyncState, MailboxStatus]]:
        """STATUS of each known folder that its STATUS may show unchanged (see
        _sync_folder), all in one round trip, with the state the store has now.

        Asked before the folder list: Dovecot answers a STATUS that follows a LIST on the
        same connection by reading the folder's whole list of Maildir file names (45 ms
        for 50,000 messages), one that comes first from its index header (2 ms).
        """
        if not self.session.condstore:
            return {}
        store, account = self.store, self.account.name
        known: dict[str, tuple[int, FolderSyncState]] = {}
        for folder in store.selectable_folders(account):
            if folder_names is not None and folder.name not in folder_names:
                continue
            cached = store.sync_state(folder.id)
            if (
                cached.uidnext is not None
                and not store.unfetched_uids(folder.id)
                and not store.has_pending(account, folder.id)
            ):
                known[folder.name] = (folder.id, cached)
        if not known:
            return {}
        try:
            found = self.session.statuses(list(known))
        except wire.MalformedResponse as error:
            # A shortcut only: each folder asks on its own, and one whose answer cannot
            # be read fails alone (see sync_folder); the connection was dropped.
            log.warning("%s: %s", self.account.name, error)
            return {}
        return {known[name][0]: (known[name][1], status) for name, status in found.items()}

    def _status(self, folder: Folder, cached: FolderSyncState) -> MailboxStatus:
        """The folder's STATUS: the one _peek read if still good, else asked now."""
        peeked = self._peeked.pop(folder.id, None)
        if peeked is not None and peeked[0] == cached and peeked[1].name == folder.name:
            return peeked[1]
        return self.session.status(folder.name)

    def refresh_folders(self) -> list[Folder]:
        """Read the folder list from the server into the store.

        A list outdated by a folder change that another connection sent while it was read
        is read again (see MailStore.sync_folder_list).
        """
        while True:
            mark = self.store.folder_changes_mark()
            listed = self.session.list_folders()
            folders = self.store.sync_folder_list(self.account.name, listed, mark)
            if folders is not None:
                return folders

    def sync_folder(self, folder: Folder) -> FolderSyncResult:
        """Bring one folder up to date, reconnecting and resuming if the connection drops."""
        result = FolderSyncResult(folder.name)

        def attempt() -> None:
            # Renamed here since ``folder`` was read (the rename goes to the server first):
            # the server knows it by its name now. Deleted here: nothing to sync.
            now = self.store.folder(folder.id)
            if now is not None:
                self._sync_folder(now, result)

        try:
            self.retrying(attempt)
        except _Stopped:
            result.complete = False
        except (wire.CommandFailed, wire.MalformedResponse) as error:
            # A response that cannot be read is this folder's problem: the connection was
            # dropped (it is out of step) and the next folder gets a new one.
            log.warning("%s: folder %s: %s", self.account.name, folder.name, error)
            result.error = str(error)
        return result

    def _sync_folder(self, folder: Folder, result: FolderSyncResult) -> None:
        if self.store.has_pending(self.account.name, folder.id):
            # Sent now, they move the server's state past what _peek saw.
            self._peeked.pop(folder.id, None)
        try:
            # First, so that the sync reads a server that knows of them.
            result.refused += self.send_pending(folder.id)
        except wire.CommandFailed as error:
            # A NO that means "not now": the changes wait, the sync goes on.
            log.warning("%s: folder %s: %s", self.account.name, folder.name, error)
        session, store = self.session, self.store
        cached, unfetched, wanted = self._cached(folder)
        if session.condstore and cached.uidnext is not None and not unfetched and not wanted:
            # STATUS answers from the server's index; SELECT of a big folder costs tens of
            # milliseconds more. Unchanged under CONDSTORE means nothing to do.
            peek = self._status(folder, cached)
            if plan_folder(cached, peek, session.condstore).nothing:
                return
        # What the store holds before the SELECT was on the server before it, so in this
        # connection's view unless expunged. What another sync of the account (IDLE's, the
        # command line's) stores later may not be: only UIDs up to ``held`` are compared
        # with the view to find what is gone.
        held_uidvalidity, held = store.highest_uid(folder.id)
        status = session.select(folder.name, readonly=True)
        if held_uidvalidity != status.uidvalidity:
            held = 0
        store.add_keywords(self.account.name, status.keywords)
        plan = plan_folder(cached, status, session.condstore)
        log.debug("%s/%s: %s -> %s", self.account.name, folder.name, status, plan)
        if plan.nothing and not unfetched and not wanted:
            return
        while plan.reset:
            if store.reset_folder(folder.id, status.uidvalidity, status.highestmodseq):
                # Only a cache that held messages was renumbered; some servers give an empty
                # folder a new UIDVALIDITY in every session, which is not worth a word.
                if cached.uidvalidity is not None and cached.count:
                    log.info(
                        "%s/%s: UIDVALIDITY changed, rebuilding", self.account.name, folder.name
                    )
                    result.reset = True
                unfetched = []
                break
            # Another sync of this folder (the window's and the command line's can run at
            # once) reset it since ``cached`` was read, and may have stored some of it:
            # planned again from what the store holds now, its messages are kept.
            cached, unfetched, wanted = self._cached(folder)
            plan = plan_folder(cached, status, session.condstore)
            if plan.nothing and not unfetched and not wanted:
                return

        flags: dict[int, frozenset[str]] = {}
        vanished: list[tuple[int, int]] = []
        if plan.flags is not FlagSync.NONE:
            found = session.fetch_flags(plan.flags_below, plan.since_modseq)
            flags, vanished = found.flags, found.vanished
            if plan.flags is FlagSync.ALL:
                below = min(plan.flags_below or 2**63, held + 1)
                stored = store.stored_uids(folder.id)
                vanished = _ranges([u for u in stored if u < below and u not in flags])

        if plan.fetch_from is not None or unfetched:
            vanished += self._fetch_missing(folder, plan.fetch_from, unfetched, result)

        uidnext = status.uidnext or max(store.stored_uids(folder.id), default=0) + 1
        applied = store.apply_changes(folder.id, flags, vanished, uidnext, status.highestmodseq)
        result.changed += applied.changed
        result.removed += applied.removed

        if store.sync_state(folder.id).count + len(result.unfetched) != status.exists:
            # The count does not add up: an expunge that CONDSTORE alone does not report,
            # or mail that arrived meanwhile. Comparing UIDs settles it (up to ``held``;
            # what this sync fetched and is gone meanwhile goes at the next one).
            present = set(session.search_uids(1))
            gone = [u for u in store.stored_uids(folder.id, below=held + 1) if u not in present]
            if gone:
                result.removed += store.apply_changes(folder.id, vanished=_ranges(gone)).removed

        if wanted and store.wants_structures(folder.id):
            # Left by a sync cut short (new mail gets its own with its headers): last, so
            # that a structure the server cannot give does not hold the folder back.
            self._fetch_structures(folder)

    def _cached(self, folder: Folder) -> tuple[FolderSyncState, list[int], bool]:
        """What the store holds of ``folder``: its sync state, the UIDs the server would not
        send last time, and whether structures are still to be asked for."""
        cached = self.store.sync_state(folder.id)
        # Messages the server would not send last time exist all the same: counted as
        # present they do not make the folder look changed, and they are asked for again.
        unfetched = self.store.unfetched_uids(folder.id)
        cached = replace(cached, count=cached.count + len(unfetched))
        # Structures a sync cut short did not get (see _fetch_structures).
        return cached, unfetched, self.store.wants_structures(folder.id)

    def _fetch_missing(
        self,
        folder: Folder,
        first_uid: int | None,
        unfetched: Sequence[int],
        result: FolderSyncResult,
    ) -> list[tuple[int, int]]:
        """Fetch the headers the store lacks: UIDs from ``first_uid`` on, and ``unfetched``.

        Every UID asked for is accounted for: what a batch left out is asked for once more
        at the end; what still does not come is either gone (expunged meanwhile: VANISHED
        says so, or UID SEARCH no longer finds it) or recorded as unfetched and reported.
        Returns the UID ranges the server reported vanished meanwhile.
        """
        session, store = self.session, self.store
        missing: list[int] = []
        if first_uid is not None:
            have = set(store.stored_uids(folder.id, first_uid))
            missing = [u for u in reversed(session.search_uids(first_uid)) if u not in have]
        asked = set(missing)
        missing += [u for u in reversed(unfetched) if u not in asked]
        if not missing:
            return []
        log.debug("%s/%s: %d headers to fetch", self.account.name, folder.name, len(missing))
        deferred = store.defer_sort_indexes(len(missing))
        try:
            with _StoreWriter(store.path, f"{self.account.name}-sync-writer") as writer:
                fetched = 0

                def stored(counts: list[tuple[int, int]]) -> None:
                    nonlocal fetched
                    for count, seq in counts:
                        fetched += count
                        result.new += count
                        if self._on_progress is not None:
                            self._on_progress(
                                SyncProgress(folder.id, folder.name, fetched, len(missing), seq)
                            )

                try:
                    return self._fetch_into(
                        writer, stored, folder, missing, bool(unfetched), result, deferred
                    )
                finally:
                    # What came before a stop or a dropped connection is stored and counted:
                    # the resumed sync fetches only the rest.
                    stored(writer.wait())
        finally:
            if deferred:
                store.restore_sort_indexes()

    def _fetch_into(
        self,
        writer: _StoreWriter,
        stored: Callable[[list[tuple[int, int]]], None],
        folder: Folder,
        missing: list[int],
        recorded: bool,
        result: FolderSyncResult,
        deferred: bool,
    ) -> list[tuple[int, int]]:
        """Fetch the headers of ``missing`` into the store through ``writer``, ask once
        more for what a batch left out, and account for the rest (``recorded``: the folder
        had unfetched messages before; ``deferred``: the sort indexes wait to be built).
        Returns the UID ranges reported vanished."""
        from mailclient.imap.headers import summarize_batch

        session = self.session
        vanished: list[tuple[int, int]] = []
        refusals: list[str] = []

        def store_batch(batch: FetchedBatch, wait: bool) -> list[int]:
            records = summarize_batch(batch.messages)
            add = partial(MailStore.add_messages, folder_id=folder.id, messages=records)
            writer.submit(add, len(records))
            stored(writer.wait() if wait else writer.done())
            vanished.extend(batch.vanished)
            refusals.extend([batch.refused] if batch.refused else [])
            if self._stop.is_set():
                raise _Stopped()
            return batch.absent()

        absent: list[int] = []
        batches = list(_batches(missing, self.options.first_batch, self.options.batch))
        newest, rest = batches[:1], batches[1:]
        # The newest mail first, on its own: readable as soon as its batch is committed.
        for group in (newest, rest):
            for batch in session.fetch_summaries(group):
                absent += store_batch(batch, wait=group is newest)
        still: list[int] = []
        if absent:
            log.info(
                "%s/%s: %d messages did not come, asking again",
                self.account.name,
                folder.name,
                len(absent),
            )
            again = _batches(absent, self.options.batch, self.options.batch)
            for batch in session.fetch_summaries(again):
                still += store_batch(batch, wait=False)
        stored(writer.wait())  # every header is in: the last progress report says so
        self._account_for(folder, still, vanished, refusals, recorded, result)
        if deferred:
            # Built by the writer while the structures below come in: that is mostly waiting
            # for the server, and SQLite builds indexes without holding the GIL.
            writer.submit(_restore_sort_indexes, 0)
        self._fetch_structures(folder, writer)
        return vanished

    def _fetch_structures(self, folder: Folder, writer: _StoreWriter | None = None) -> None:
        """Ask for the structure of the messages whose attachments their Content-Type
        cannot tell (RFC 3501 BODYSTRUCTURE), and correct has-attachments by it.

        Headers come first, so that mail is readable at once. The messages to ask for are
        marked in the store with their headers (NewMessage.structure_wanted) and the mark
        goes with the answer, so a sync cut short or stopped before the structures came
        asks for them the next time. What did not come is asked for once more; what still
        does not come keeps the Content-Type's guess, as does a batch whose answer cannot
        be read (raised, as any such answer): asked for at every sync they would hold the
        folder back at every sync.

        Written through ``writer`` when there is one; what it has no room for yet is handed
        on with a later batch: waiting for it would stall the pipelined FETCH behind the
        writer's index build.
        """
        from mailclient.imap.headers import structure_has_attachments

        wanted = self.store.structures_wanted(folder.id)
        log.debug("%s/%s: %d structures to ask for", self.account.name, folder.name, len(wanted))
        found: dict[int, bool | None] = {}

        def write(found: dict[int, bool | None]) -> Callable[[MailStore], int]:
            return partial(MailStore.set_attachments, folder_id=folder.id, found=found)

        def hand_on() -> None:
            nonlocal found
            if writer is None:
                self.store.set_attachments(folder.id, found)
            elif not writer.offer(write(found)):
                return
            found = {}

        def ask(uids: Sequence[int], last: bool) -> list[int]:
            """Ask for the structures of ``uids``; those that did not come, unless ``last``."""
            missing: list[int] = []
            batches = list(_batches(uids, _STRUCTURE_BATCH, _STRUCTURE_BATCH))
            done = 0
            try:
                for structures in self.session.fetch_structures(batches):
                    done += 1
                    for uid, structure in structures.items():
                        if structure is not None:
                            found[uid] = structure_has_attachments(structure)
                        elif last:
                            found[uid] = None
                        else:
                            missing.append(uid)
                    hand_on()
                    if self._stop.is_set():
                        raise _Stopped()
            except wire.MalformedResponse:
                if done < len(batches):
                    found.update(dict.fromkeys(batches[done]))
                raise
            return missing

        try:
            again = ask(wanted, last=False)
            if again:
                ask(again, last=True)
        finally:
            if found and writer is not None:
                writer.submit(write(found), 0)
            elif found:
                self.store.set_attachments(folder.id, found)

    def _account_for(
        self,
        folder: Folder,
        still: list[int],
        vanished: list[tuple[int, int]],
        refusals: list[str],
        recorded: bool,
        result: FolderSyncResult,
    ) -> None:
        """Sort the UIDs that did not come even when asked again: expunged meanwhile (fine)
        or kept back by the server (recorded, logged and reported, asked for next time)."""
        gone = {u for u in still for low, high in vanished if low <= u <= high}
        left = [u for u in still if u not in gone]
        if left:
            # RFC 3501 lets a server say nothing of an expunge during a UID FETCH; a
            # SEARCH of the UIDs tells which of them still exist.
            present = set(self.session.search_uids(min(left)))
            result.unfetched = sorted(u for u in left if u in present)
        if result.unfetched or recorded:
            self.store.set_unfetched(folder.id, result.unfetched)
        if result.unfetched:
            shown = ", ".join(map(str, result.unfetched[:10]))
            more = "..." if len(result.unfetched) > 10 else ""
            log.warning(
                "%s/%s: the server did not send %d messages (UID %s%s)%s; "
                "they will be asked for again at the next sync",
                self.account.name,
                folder.name,
                len(result.unfetched),
                shown,
                more,
                f": {refusals[-1]}" if refusals else "",
            )

    # -- bodies -----------------------------------------------------------------------------

    def fetch_body(self, message_id: int) -> bytes:
        """The whole message: from the store if fetched before, else from the server."""
        cached = self.store.body(message_id)
        if cached is not None:
            return cached
        return self.retrying(lambda: self._fetch_body(message_id))

    def _fetch_body(self, message_id: int) -> bytes:
        from mailclient.imap.headers import has_attachments

        locations = self.store.locations([message_id])
        folder = self.store.folder(locations[0].folder_id) if locations else None
        if not locations or folder is None:
            raise MessageNotFound("This message is no longer in the mail store.")
        session = self.session
        if session.selected != folder.name:
            session.select(folder.name, readonly=True)
        raw = session.fetch_body(locations[0].uid)
        if raw is None:
            raise MessageNotFound(
                f"This message is no longer in the folder {folder.name} on the server."
            )
        self.store.save_body(message_id, raw, has_attachments(raw))
        return raw
