"""Sending and saving drafts in the background, so that a compose window closes at once.

Two single-thread pools keep the order that matters:

- the *drafts* lane writes local drafts and queues messages: a draft is saved, then the
  message built and committed to the outbox, and only then its local draft deleted, so at
  every moment what was written is on disk in one place or the other;
- the *network* lane flushes the outbox (OutboxSender, one message at a time) and saves
  or removes drafts in the account's Drafts folder.

Results come back as signals (emitted from pool threads, delivered queued on the thread
that owns the worker). Credentials are read on the pool threads, never on the GUI thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import getaddresses
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator, Authenticators
from mailclient.core.atomic import write_atomic
from mailclient.core.draft import Draft, DraftKind, new_draft_key
from mailclient.core.errors import MailclientError
from mailclient.core.models import ANSWERED, FORWARDED, SpecialUse
from mailclient.core.outgoing import Held, OutboxItem
from mailclient.mime.drafts import draft_from_message, draft_message
from mailclient.smtp.client import max_message_size, open_smtp
from mailclient.smtp.sender import FlushReport, OutboxSender, Outcome, SendResult
from mailclient.store.drafts import LocalDrafts
from mailclient.store.outbox import Outbox, OutboxItemNotFound, SenderBusy
from mailclient.workers.tasks import Relay, error_text, log_if_bug

log = logging.getLogger(__name__)

# How often queued messages whose retry time has come are tried again.
FLUSH_INTERVAL_MS = 60_000
# A scheduled message this late was due while mailclient was not running: say so.
OVERDUE_SECONDS = 120.0


class DraftsFolderLike(Protocol):
    """An open Drafts folder (mailclient.imap.drafts.DraftsFolder)."""

    def save(self, raw: bytes, key: str, replaces: str = "") -> bool:
        """Returns whether the store shows the new version already (APPENDUID)."""
        ...

    def remove(self, key: str, replaces: str = "") -> int: ...

    def close(self) -> None: ...


OpenDraftsFolder = Callable[[Account, Authenticator], DraftsFolderLike]


@dataclass(frozen=True)
class OriginalToFlag:
    """After a reply or forward went out: the message it answered gets ``flag``."""

    account: str
    message_id: str
    flag: str


@dataclass(frozen=True)
class SendProblem:
    """A message could not be queued; its draft ``key`` is still saved locally."""

    key: str
    subject: str
    message: str


class SizeLimits:
    """The largest message each account's SMTP server accepts (RFC 1870 SIZE), as last seen.

    Kept in a small JSON file in the profile, so that the compose window can warn before
    the first sending of a session.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._limits: dict[str, int] = {}
        try:
            data = json.loads(path.read_text("utf-8"))
            self._limits = {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            self._limits = {}

    def get(self, account: str) -> int | None:
        with self._lock:
            return self._limits.get(account)

    def record(self, account: str, limit: int | None) -> None:
        with self._lock:
            if limit is None or self._limits.get(account) == limit:
                return
            self._limits[account] = limit
            data = json.dumps(self._limits).encode("utf-8")
        try:
            write_atomic(self._path, data)
        except OSError as error:
            log.warning("Cannot remember the server's size limit: %s", error)


class OutboxWorker(QObject):
    """Queues, sends and saves drafts off the GUI thread; lives on the GUI thread."""

    outbox_changed = Signal()
    flushed = Signal(FlushReport)
    send_failed = Signal(SendProblem)
    draft_saved = Signal(str, bool)  # key, and whether it is now in the Drafts folder
    draft_save_failed = Signal(str, str)  # key, a sentence for the user
    original_sent = Signal(OriginalToFlag)
    edit_ready = Signal(Draft)  # a message taken back from the outbox for editing
    failed = Signal(str)  # a sentence for the user (retry, delete, a flush that broke)
    # We changed an account's Sent or Drafts folder on the server (account, SpecialUse):
    # the window syncs that folder, so that it shows the change without waiting.
    server_folder_changed = Signal(str, SpecialUse)
    # A draft that is in the account's Drafts folder was sent (account, its Message-ID).
    draft_sent = Signal(str, str)
    notice = Signal(str)  # something the user should know that is not a failure
    held = Signal(Held)  # a sent message waits for its undo delay
    released = Signal(int)  # an outbox id no longer held back (sent now, or taken back)

    def __init__(
        self,
        store_path: Path,
        sender: OutboxSender,
        drafts: LocalDrafts,
        accounts: Callable[[str], Account],
        sign_in: Authenticators,
        open_drafts_folder: OpenDraftsFolder,
        limits: SizeLimits,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store_path = store_path
        self._sender = sender
        self.drafts = drafts
        self._accounts = accounts
        self._sign_in = sign_in
        self._open_drafts_folder = open_drafts_folder
        self.limits = limits
        self._drafts_lane = QThreadPool(self)
        self._drafts_lane.setMaxThreadCount(1)
        self._network_lane = QThreadPool(self)
        self._network_lane.setMaxThreadCount(1)
        # Jobs report through signals of their own; what reaches the relay is a bug, told
        # to the user and logged, while the lane goes on with its next job.
        self._relay = Relay(self)
        self._relay.raised.connect(self._job_failed)
        # Outbox item -> the original to flag once that item went out (this session).
        self._to_flag: dict[int, OriginalToFlag] = {}
        self._lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.flush)

    @staticmethod
    def connect_recording(limits: SizeLimits) -> Callable[[Account, Authenticator], Any]:
        """open_smtp that remembers the SIZE each server announces."""

        def connect(account: Account, auth: Authenticator) -> Any:
            smtp = open_smtp(account, auth)
            limits.record(account.name, max_message_size(smtp))
            return smtp

        return connect

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Send what a previous run left queued, then keep trying on a timer."""
        self._on_network_lane(self._tell_overdue)
        self.flush()
        self._timer.start(FLUSH_INTERVAL_MS)

    def _tell_overdue(self) -> None:
        """Messages scheduled for a time mailclient was not running at go now: say so."""
        try:
            items = self._sender.items()
        except MailclientError as error:
            self.failed.emit(str(error))
            return
        now = time.time()
        for item in items:
            if item.scheduled and item.send_at is not None:
                late = now - item.send_at.timestamp()
                if late > OVERDUE_SECONDS:
                    when = item.send_at.astimezone().strftime("%a %d %b %H:%M")
                    self.notice.emit(
                        f"“{item.subject or 'No subject'}” was to be sent on {when}, while "
                        "mailclient was not running: it is sent now."
                    )

    def stop(self, wait_ms: int = 30_000) -> bool:
        """Stop the timer and wait for running jobs (what is queued stays in the outbox)."""
        self._timer.stop()
        drafts_done = self._drafts_lane.waitForDone(wait_ms)
        return bool(self._network_lane.waitForDone(wait_ms) and drafts_done)

    def _on_drafts_lane(self, work: Callable[[], None]) -> None:
        self._relay.start(work, self._drafts_lane)

    def _on_network_lane(self, work: Callable[[], None]) -> None:
        self._relay.start(work, self._network_lane)

    def _job_failed(self, error: Exception) -> None:
        log_if_bug(error)
        self.failed.emit(error_text(error))

    # -- drafts -----------------------------------------------------------------------------

    def save_local(self, draft: Draft, upload_error: str = "") -> None:
        """Save ``draft`` on this computer (the autosave of a compose window)."""
        self._on_drafts_lane(lambda: self._save_here(draft, upload_error))

    def _save_here(self, draft: Draft, upload_error: str = "") -> None:
        """On the drafts lane: write the local copy and say how that went."""
        try:
            self.drafts.save(draft, upload_error=upload_error)
        except MailclientError as error:
            self.draft_save_failed.emit(draft.key, str(error))
            return
        self.draft_saved.emit(draft.key, False)

    def discard(self, draft: Draft) -> None:
        """Forget the local copy; a version saved in the Drafts folder stays there."""
        self._on_drafts_lane(lambda: self.drafts.delete(draft.key))

    def save_to_server(self, draft: Draft, *, keep_local: bool = True) -> None:
        """Save ``draft`` locally, then in the account's Drafts folder.

        Without ``keep_local`` (the window closed with Save) the local copy goes once the
        server has it; if the server cannot be reached it stays, and is offered again at
        the next start. The upload starts once the local save is done, so that
        ``draft_saved`` tells first of the local copy and then of the server's.
        """

        def save_here_then_there() -> None:
            self._save_here(draft)
            self._on_network_lane(upload)

        def upload() -> None:
            try:
                account = self._accounts(draft.account)
                raw = draft_message(draft)
                folder = self._open_drafts_folder(account, self._sign_in.authenticator(account))
                try:
                    shown = folder.save(raw, draft.key, draft.replaces)
                finally:
                    folder.close()
            except MailclientError as error:
                text = f"The draft was kept on this computer but not saved on the server: {error}"
                self.save_local(draft, upload_error=text)
                self.draft_save_failed.emit(draft.key, text)
                return
            if not keep_local:
                self._on_drafts_lane(lambda: self.drafts.delete(draft.key))
            self.draft_saved.emit(draft.key, True)
            if not shown:
                self.server_folder_changed.emit(draft.account, SpecialUse.DRAFTS)

        self._on_drafts_lane(save_here_then_there)

    def _remove_from_server(self, draft: Draft) -> None:
        try:
            account = self._accounts(draft.account)
            folder = self._open_drafts_folder(account, self._sign_in.authenticator(account))
            try:
                removed = folder.remove(draft.key, draft.replaces)
            finally:
                folder.close()
        except MailclientError as error:
            self.failed.emit(f"The old draft could not be removed from the Drafts folder: {error}")
            return
        if removed:
            self.server_folder_changed.emit(draft.account, SpecialUse.DRAFTS)

    # -- sending ----------------------------------------------------------------------------

    def send(
        self,
        draft: Draft,
        *,
        on_server: bool = False,
        send_at: float | None = None,
        scheduled: bool = False,
    ) -> None:
        """Queue ``draft`` in the outbox and send it; the caller may close at once.

        ``on_server``: a version was saved in the Drafts folder and is removed once queued.
        ``send_at``: held back until then (Unix time): the undo delay (``held`` says so),
        or the time the user chose (``scheduled``).
        """

        def work() -> None:
            try:
                self.drafts.save(draft)
                item = self._sender.enqueue(
                    draft.account, draft.outgoing(), send_at=send_at, scheduled=scheduled
                )
            except MailclientError as error:
                self.send_failed.emit(SendProblem(draft.key, draft.subject, str(error)))
                return
            self.drafts.delete(draft.key)
            self._tell_rescues()
            flag = {DraftKind.FORWARD: FORWARDED, DraftKind.NEW: ""}.get(draft.kind, ANSWERED)
            if flag and draft.original:
                with self._lock:
                    self._to_flag[item.id] = OriginalToFlag(draft.account, draft.original, flag)
            self.outbox_changed.emit()
            if draft.replaces:
                self.draft_sent.emit(draft.account, draft.replaces)
            if on_server or draft.replaces:
                self._on_network_lane(lambda: self._remove_from_server(draft))
            if send_at is not None and not scheduled:
                self.held.emit(Held(item.id, draft.subject, send_at))
            if send_at is None:
                self._on_network_lane(lambda: self._flush(ids=[item.id], ignore_schedule=True))

        self._on_drafts_lane(work)

    def flush(self) -> None:
        """Send the queued messages whose time has come."""
        self._on_network_lane(lambda: self._flush())

    def send_now(self, item_id: int) -> None:
        """A message held back (undo delay, Send Later): send it now."""

        def work() -> None:
            try:
                self._sender.release(item_id)
            except MailclientError as error:
                self.failed.emit(str(error))
                return
            finally:
                self.released.emit(item_id)
            self._flush(ids=[item_id], ignore_schedule=True)

        self._on_network_lane(work)

    def retry(self, item_id: int) -> None:
        """A failed (or waiting) message: queue it again and try it now."""

        def work() -> None:
            try:
                report = self._sender.retry(item_id)
            except SenderBusy:
                self.outbox_changed.emit()  # queued again; the other sender sends it
                return
            except MailclientError as error:
                self.failed.emit(str(error))
                self.outbox_changed.emit()
                return
            self._report(report)

        self._on_network_lane(work)

    def delete(self, item_id: int) -> None:
        """Remove a message from the outbox (refused while it is being sent)."""

        def work() -> None:
            try:
                self._sender.delete(item_id)
            except MailclientError as error:
                self.failed.emit(str(error))
            with self._lock:
                self._to_flag.pop(item_id, None)
            self.outbox_changed.emit()

        self._on_network_lane(work)

    def edit(self, item_id: int) -> None:
        """Take a message back out of the outbox as a draft (``edit_ready``) to change it.

        The draft is saved on this computer before the message leaves the outbox, so that
        it is always in one place or the other.
        """

        def work() -> None:
            try:
                item = self._sender.find(item_id)
                if item is None:
                    raise OutboxItemNotFound(item_id)
                draft = self._draft_of(item)
                self.drafts.save(draft)
                try:
                    self._sender.delete(item_id)
                except MailclientError:
                    self.drafts.delete(draft.key)
                    raise
            except MailclientError as error:
                self.failed.emit(str(error))
                self.outbox_changed.emit()
                return
            with self._lock:
                self._to_flag.pop(item_id, None)
            self.released.emit(item_id)
            self.outbox_changed.emit()
            self.edit_ready.emit(draft)

        self._on_network_lane(work)

    def _draft_of(self, item: OutboxItem) -> Draft:
        outbox = Outbox.open(self._store_path)
        try:
            raw = outbox.raw(item.id)
        finally:
            outbox.close()
        draft = draft_from_message(raw, item.account)
        shown = {a.lower() for _, a in getaddresses([draft.to, draft.cc])}
        hidden = [r for r in item.recipients if r.lower() not in shown]
        # Bcc recipients are only in the envelope; the new draft is its own, not a copy
        # of something in the Drafts folder.
        return replace(draft, bcc=", ".join(hidden), replaces="", key=new_draft_key())

    def items(self) -> list[OutboxItem]:
        """What the outbox holds now (one small read of the store)."""
        return self._sender.items()

    def _flush(self, *, ids: list[int] | None = None, ignore_schedule: bool = False) -> None:
        try:
            report = self._sender.flush(ids=ids, ignore_schedule=ignore_schedule)
        except SenderBusy:
            return  # another mailclient is sending; it sends ours too
        except MailclientError as error:
            self.failed.emit(str(error))
            return
        self._report(report)

    def _tell_rescues(self) -> None:
        """A damaged outbox file was set aside: say where, and what was kept."""
        while self._sender.rescues:
            self.failed.emit(self._sender.rescues.pop(0).message())

    def _report(self, report: FlushReport) -> None:
        self._tell_rescues()
        for result in report.results:
            self._flag_if_sent(result)
            if result.maybe_sent and result.accepted:
                self.failed.emit(
                    f"“{result.subject or 'No subject'}” was sent, but an earlier attempt that "
                    "was interrupted after the data may already have delivered it: its "
                    "recipients may receive it twice."
                )
        # A copy the store shows already (APPENDUID) needs no sync of the folder.
        unseen = {c.account for c in report.copies if c.saved and c.account and not c.shown}
        for account in sorted(unseen):
            self.server_folder_changed.emit(account, SpecialUse.SENT)
        if report.results or report.recovered or report.copies:
            self.outbox_changed.emit()
        self.flushed.emit(report)

    def _flag_if_sent(self, result: SendResult) -> None:
        if result.outcome is not Outcome.SENT and not result.accepted:
            return
        with self._lock:
            target = self._to_flag.pop(result.item_id, None)
        if target is not None:
            self.original_sent.emit(target)
