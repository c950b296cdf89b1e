"""The outbox sender: queue messages, then deliver them over one connection per account.

Plain Python, blocking, no Qt: the command line calls it directly and the window runs it
on a single-thread pool. Across processes the SenderLock keeps a single sender at a time,
so a message is never sent twice in parallel.

A flush, for each account with messages due:
  1. recover what a dead sender left in ``sending``;
  2. log in once and submit each message (queued -> sending -> sent/queued/failed);
  3. save the accepted ones in the Sent folder (a failure there never resends anything).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import smtplib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator, Authenticators
from mailclient.core.errors import AccountNotFound, MailclientError, NetworkError
from mailclient.core.outgoing import OutboxItem, OutgoingMessage, Refusal
from mailclient.mime.compose import build_message
from mailclient.smtp.client import open_smtp
from mailclient.smtp.submit import ConnectionLost, MessageRefused, submit
from mailclient.store.outbox import Outbox, OutboxRescue, SenderLock

log = logging.getLogger(__name__)


class SentFolder(Protocol):
    """An open connection to an account's Sent folder (mailclient.imap.append.SentFolder)."""

    def append(self, raw: bytes, message_id: str, *, may_exist: bool = False) -> bool:
        """Returns whether the store shows the copy already (APPENDUID)."""
        ...

    def close(self) -> None: ...


OpenSentFolder = Callable[[Account, Authenticator], SentFolder]
ConnectSmtp = Callable[[Account, Authenticator], smtplib.SMTP]


class Outcome(StrEnum):
    SENT = "sent"  # the server took it (refused recipients, if any, are listed)
    QUEUED = "queued"  # not sent yet: it will be tried again
    FAILED = "failed"  # refused for good: waits for the user


@dataclass(frozen=True)
class SendResult:
    """What one attempt at one message came to."""

    item_id: int
    message_id: str
    subject: str
    outcome: Outcome
    accepted: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()  # in the server's own words; 4xx ones stay queued
    error: str = ""
    maybe_sent: bool = False  # the server may already have it despite the outcome


@dataclass(frozen=True)
class CopyResult:
    """What saving one message into the Sent folder came to."""

    item_id: int
    saved: bool
    error: str = ""
    account: str = ""  # whose Sent folder
    shown: bool = False  # in the store already (APPENDUID): the folder needs no sync


@dataclass
class FlushReport:
    recovered: list[OutboxItem] = field(default_factory=list)  # left in `sending` by a crash
    results: list[SendResult] = field(default_factory=list)
    copies: list[CopyResult] = field(default_factory=list)

    def result(self, item_id: int) -> SendResult | None:
        return next((r for r in self.results if r.item_id == item_id), None)


class OutboxSender:
    """Queues what a person wrote and delivers the outbox.

    ``accounts`` looks an account up by name (AccountStore.get). ``open_sent_folder``
    opens an account's Sent folder with its authenticator (SentFolder.open from the IMAP
    module: this module may not import it, the composition root hands it in).
    """

    def __init__(
        self,
        store_path: Path,
        accounts: Callable[[str], Account],
        sign_in: Authenticators,
        open_sent_folder: OpenSentFolder,
        *,
        connect_smtp: ConnectSmtp = open_smtp,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store_path = store_path
        self._accounts = accounts
        self._sign_in = sign_in
        self._open_sent_folder = open_sent_folder
        self._connect_smtp = connect_smtp
        self._clock = clock
        # Damaged outbox files this sender set aside (and what it saved), to tell the user.
        self.rescues: list[OutboxRescue] = []

    def _outbox(self) -> Outbox:
        outbox = Outbox.open(self._store_path, self._clock)
        if outbox.rescue is not None:
            self.rescues.append(outbox.rescue)
        return outbox

    # -- what the compose window and the command line call ---------------------------

    def enqueue(
        self,
        account_name: str,
        draft: OutgoingMessage,
        *,
        send_at: float | None = None,
        scheduled: bool = False,
    ) -> OutboxItem:
        """Build ``draft`` and write it to the outbox; no network. Raises InvalidInput.

        When this returns the message is safe on disk; call flush() to send it. It reads
        attachment files and waits for the disk: call it off the GUI thread. ``send_at``:
        not before this time (Unix); ``scheduled``: a time the user chose (Send Later).
        """
        self._accounts(account_name)  # refuse an unknown account before storing anything
        built = build_message(draft)
        outbox = self._outbox()
        try:
            return outbox.add(account_name, built, send_at=send_at, scheduled=scheduled)
        finally:
            outbox.close()

    def release(self, item_id: int) -> bool:
        """Let a message held back until a time go now; False if it no longer waits."""
        outbox = self._outbox()
        try:
            return outbox.release(item_id)
        finally:
            outbox.close()

    def items(self) -> list[OutboxItem]:
        """Every message in the outbox, oldest first."""
        outbox = self._outbox()
        try:
            return outbox.items()
        finally:
            outbox.close()

    def find(self, item_id: int) -> OutboxItem | None:
        """One message of the outbox; None once it has left (sent, or deleted)."""
        outbox = self._outbox()
        try:
            return outbox.find(item_id)
        finally:
            outbox.close()

    def retry(self, item_id: int, *, wait: float = 0.0) -> FlushReport:
        """Queue a failed (or waiting) message again and try it right now."""
        outbox = self._outbox()
        try:
            outbox.retry(item_id)
        finally:
            outbox.close()
        return self.flush(ids=[item_id], ignore_schedule=True, wait=wait)

    def delete(self, item_id: int) -> OutboxItem:
        """Remove a message from the outbox (not while it is being sent)."""
        lock = SenderLock(self._store_path)
        outbox = self._outbox()
        try:
            # With the lock free, a message still marked `sending` was left by a dead
            # sender: recover it so that it can be deleted.
            with contextlib.suppress(MailclientError):
                lock.acquire()
                outbox.recover_interrupted()
            return outbox.delete(item_id)
        finally:
            lock.release()
            outbox.close()

    def flush(
        self,
        *,
        ids: Sequence[int] | None = None,
        ignore_schedule: bool = False,
        wait: float = 0.0,
        on_result: Callable[[SendResult], None] | None = None,
    ) -> FlushReport:
        """Send the queued messages that are due (all queued ones with ``ignore_schedule``).

        ``ids`` limits the flush to those messages. Waits up to ``wait`` seconds for
        another sender to finish, then raises SenderBusy. ``on_result`` hears about each
        message as soon as its attempt is over.
        """
        report = FlushReport()

        def record(result: SendResult) -> None:
            report.results.append(result)
            if on_result is not None:
                on_result(result)

        lock = SenderLock(self._store_path)
        lock.acquire(wait)
        try:
            outbox = self._outbox()
            try:
                report.recovered = outbox.recover_interrupted()
                tried: set[int] = set()
                # Again until nothing new is due: messages queued while this flush ran
                # (by the window or another command, which found the lock taken) go too.
                while due := self._due(outbox, ids, ignore_schedule, tried):
                    for account_name, item_ids in due.items():
                        tried.update(item_ids)
                        self._send_batch(outbox, account_name, item_ids, record)
                report.copies = self._save_copies(outbox, ids, ignore_schedule)
            finally:
                outbox.close()
        finally:
            lock.release()
        return report

    @staticmethod
    def _due(
        outbox: Outbox, ids: Sequence[int] | None, ignore_schedule: bool, tried: set[int]
    ) -> dict[str, list[int]]:
        due = outbox.due(ignore_schedule=ignore_schedule, ids=ids)
        untried = {name: [i for i in item_ids if i not in tried] for name, item_ids in due.items()}
        return {name: item_ids for name, item_ids in untried.items() if item_ids}

    # -- delivery ------------------------------------------------------------------------

    def _send_batch(
        self,
        outbox: Outbox,
        account_name: str,
        item_ids: list[int],
        record: Callable[[SendResult], None],
    ) -> None:
        """Submit ``item_ids`` over one connection; every message ends in a known state."""
        try:
            account = self._accounts(account_name)
        except AccountNotFound as error:
            text = f"{error} Add it again, or delete the message."
            self._fail_all(outbox, item_ids, text, record, transient=False)
            return
        try:
            smtp = self._connect_smtp(account, self._sign_in.authenticator(account))
        except MailclientError as error:
            # Authentication and certificate problems need the user; the network, a 4xx
            # greeting or a locked keyring may pass by themselves.
            transient = bool(getattr(error, "transient", True))
            self._fail_all(outbox, item_ids, str(error), record, transient=transient)
            return
        try:
            batch = outbox.claim(item_ids)
            for position, item in enumerate(batch):
                result, connection_ok = self._send_one(outbox, smtp, account, item)
                if result is not None:
                    record(result)
                if not connection_ok:
                    text = f"Not tried: the connection to {account.smtp_host} broke."
                    rest = [i.id for i in batch[position + 1 :]]
                    self._fail_all(outbox, rest, text, record, attempted=True)
                    break
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()

    def _fail_all(
        self,
        outbox: Outbox,
        item_ids: Sequence[int],
        error: str,
        record: Callable[[SendResult], None],
        *,
        transient: bool = True,
        attempted: bool = False,
    ) -> None:
        """Messages that share a failure before their turn came: they back off too."""
        for item_id in item_ids:
            result = self._fail(outbox, item_id, error, transient=transient, attempted=attempted)
            if result is not None:
                record(result)

    def _send_one(
        self, outbox: Outbox, smtp: smtplib.SMTP, account: Account, item: OutboxItem
    ) -> tuple[SendResult | None, bool]:
        """One claimed message: its result (None if it vanished) and whether the connection
        still works."""
        item_id = item.id
        message = outbox.submission(item_id)
        try:
            delivery = submit(
                smtp,
                account,
                message.raw,
                message.envelope_from,
                item.recipients,
                smtputf8=message.smtputf8,
                data_ending=functools.partial(outbox.mark_data_ending, item_id),
            )
        except MessageRefused as error:
            permanent = [r for r in error.refused if not r.transient]
            result = self._fail(
                outbox, item_id, str(error), transient=error.transient, refused=permanent
            )
            return result, True
        except NetworkError as error:
            maybe_sent = isinstance(error, ConnectionLost) and error.maybe_sent
            result = self._fail(
                outbox, item_id, str(error), transient=error.transient, maybe_sent=maybe_sent
            )
            return result, False

        later = [r for r in delivery.refused if r.transient]
        never = [r for r in delivery.refused if not r.transient]
        pending = "; ".join(str(r) for r in later)
        outbox.mark_sent(
            item_id,
            refused=never,
            retry_recipients=[r.recipient for r in later],
            error=f"Not yet delivered to: {pending}" if pending else "",
            copy_wanted=not account.server_saves_sent,
        )
        log.info("message %s accepted for %d recipients", item.message_id, len(delivery.accepted))
        return SendResult(
            item_id,
            item.message_id,
            item.subject,
            Outcome.QUEUED if later else Outcome.SENT,
            accepted=delivery.accepted,
            refused=delivery.refused,
            error=pending,
            maybe_sent=item.maybe_sent,
        ), True

    def _fail(
        self,
        outbox: Outbox,
        item_id: int,
        error: str,
        *,
        transient: bool = True,
        attempted: bool = True,
        refused: Sequence[Refusal] = (),
        maybe_sent: bool = False,
    ) -> SendResult | None:
        """Record a failed attempt: back to the queue (transient) or failed for good.

        None when the message left the outbox meanwhile (the user deleted it).
        """
        item: OutboxItem | None
        if transient:
            item = outbox.mark_transient_failure(
                item_id, error, maybe_sent=maybe_sent, count_attempt=not attempted
            )
            outcome = Outcome.QUEUED
        else:
            item = outbox.mark_failed(item_id, error, refused=refused, maybe_sent=maybe_sent)
            outcome = Outcome.FAILED
        if item is None:
            return None
        return SendResult(
            item_id,
            item.message_id,
            item.subject,
            outcome,
            refused=tuple(refused),
            error=error,
            maybe_sent=item.maybe_sent,
        )

    # -- the Sent folder -------------------------------------------------------------------

    def _save_copies(
        self, outbox: Outbox, ids: Sequence[int] | None, ignore_schedule: bool
    ) -> list[CopyResult]:
        by_account: dict[str, list[OutboxItem]] = {}
        for item in outbox.copies_due(ignore_schedule=ignore_schedule):
            if ids is None or item.id in ids:
                by_account.setdefault(item.account, []).append(item)
        results: list[CopyResult] = []
        for account_name, items in by_account.items():
            results += self._save_account_copies(outbox, account_name, items)
        return results

    def _save_account_copies(
        self, outbox: Outbox, account_name: str, items: list[OutboxItem]
    ) -> list[CopyResult]:
        try:
            account = self._accounts(account_name)
            if account.server_saves_sent:  # switched on since: the server has its copy
                for item in items:
                    outbox.mark_copy_saved(item.id)
                return [CopyResult(item.id, True, account=account_name) for item in items]
            folder = self._open_sent_folder(account, self._sign_in.authenticator(account))
        except MailclientError as error:
            text = f"The copy for the Sent folder was not saved: {error}"
            for item in items:
                outbox.mark_copy_failed(item.id, text)
            return [CopyResult(item.id, False, text, account_name) for item in items]
        results: list[CopyResult] = []
        try:
            for item in items:
                may_exist = outbox.start_copy_attempt(item.id)
                try:
                    shown = folder.append(
                        outbox.sent_copy(item.id), item.message_id, may_exist=may_exist
                    )
                except MailclientError as error:
                    text = f"The copy for the Sent folder was not saved: {error}"
                    outbox.mark_copy_failed(item.id, text)
                    results.append(CopyResult(item.id, False, text, account_name))
                else:
                    outbox.mark_copy_saved(item.id)
                    results.append(CopyResult(item.id, True, account=account_name, shown=shown))
        finally:
            folder.close()
        return results
