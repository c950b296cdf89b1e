"""The outbox: every outgoing message waits here, as final bytes, until a server took it.

A message is written and committed before any SMTP conversation starts, so neither a
crash, a dead network nor a full disk after that point can lose it. Its state moves

    queued ──claim──> sending ──> sent (only the Sent-folder copy may remain) ──> removed
      ^                  │
      └── transient ─────┤ (4xx, network: retried with exponential backoff)
                         └──> failed (5xx, authentication: waits for the user)

A sender that dies leaves ``sending`` behind; the next one puts the message back in the
queue, flagged "may already have been sent" when the crash came once the end of the
message data was going out. Only one sender works at a time: SenderLock, an exclusive lock on a
file next to the database that the kernel releases when its holder dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from mailclient.core.errors import MailclientError
from mailclient.core.outgoing import BuiltMessage, OutboxItem, OutboxState, Refusal, SentCopy
from mailclient.store.db import StoreError, describe

SCHEMA = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: people name messages by id
    account TEXT NOT NULL,
    message_id TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    envelope_from TEXT NOT NULL,
    recipients TEXT NOT NULL,              -- JSON list: those still to deliver to
    smtputf8 INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL,                 -- of the message bytes
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,                 -- Unix time
    next_attempt REAL NOT NULL,
    data_started INTEGER NOT NULL DEFAULT 0,  -- the current attempt got as far as DATA
    maybe_sent INTEGER NOT NULL DEFAULT 0,
    refused TEXT NOT NULL DEFAULT '[]',    -- JSON: recipients refused for good
    sent_copy TEXT NOT NULL DEFAULT 'none' CHECK (sent_copy IN ('none', 'pending', 'done')),
    copy_attempts INTEGER NOT NULL DEFAULT 0,
    copy_error TEXT NOT NULL DEFAULT '',
    copy_next_attempt REAL NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (state, next_attempt);
-- The bytes apart: SQLite rewrites a whole row on every UPDATE, and the state changes
-- several times per message; a message with attachments would be rewritten each time.
CREATE TABLE outbox_raw (
    id INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    raw BLOB NOT NULL
);
"""

RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0

_COLUMNS = (
    "id, account, message_id, subject, recipients, state, size, created, next_attempt, "
    "attempts, last_error, maybe_sent, sent_copy, refused, copy_error"
)


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed try: 1, 2, 4 ... minutes, capped."""
    exponent = max(attempts - 1, 0)
    return min(RETRY_BASE_SECONDS * 2.0 ** min(exponent, 32), RETRY_MAX_SECONDS)


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _refusals(text: str) -> tuple[Refusal, ...]:
    return tuple(Refusal(r["recipient"], int(r["code"]), r["reply"]) for r in json.loads(text))


def _refusals_json(refusals: Sequence[Refusal]) -> str:
    return json.dumps(
        [{"recipient": r.recipient, "code": r.code, "reply": r.reply} for r in refusals],
        ensure_ascii=False,
    )


def _item(row: sqlite3.Row | tuple[object, ...]) -> OutboxItem:
    (id_, account, message_id, subject, recipients, state, size, created, next_attempt) = row[:9]
    attempts, last_error, maybe_sent, sent_copy, refused, copy_error = row[9:]
    return OutboxItem(
        id=int(str(id_)),
        account=str(account),
        message_id=str(message_id),
        subject=str(subject),
        recipients=tuple(json.loads(str(recipients))),
        state=OutboxState(str(state)),
        size=int(str(size)),
        created=_time(float(str(created))),
        next_attempt=_time(float(str(next_attempt))),
        attempts=int(str(attempts)),
        last_error=str(last_error),
        maybe_sent=bool(maybe_sent),
        sent_copy=SentCopy(str(sent_copy)),
        refused=_refusals(str(refused)),
        copy_error=str(copy_error),
    )


@dataclass(frozen=True)
class Submission:
    """What the SMTP conversation needs besides the recipients (``OutboxItem.recipients``)."""

    envelope_from: str
    smtputf8: bool
    raw: bytes


class OutboxItemNotFound(MailclientError):
    def __init__(self, item_id: int) -> None:
        super().__init__(f"There is no message {item_id} in the outbox.")
        self.item_id = item_id


class OutboxItemBusy(MailclientError):
    def __init__(self, item_id: int) -> None:
        super().__init__(
            f"Message {item_id} is being sent right now; try again when the sending is over."
        )
        self.item_id = item_id


class Outbox:
    """The outbox table on one connection (from db.connect, for the calling thread).

    Every change is one transaction. ``clock`` gives Unix time (tests pass their own).
    """

    def __init__(
        self, db: sqlite3.Connection, path: Path, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._path = path
        self._clock = clock

    def _now(self) -> float:
        return self._clock()

    def close(self) -> None:
        self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(describe(self._path, error)) from error

    def _write(self, sql: str, params: Sequence[object]) -> int:
        """One statement on its own: SQLite makes it a transaction. Returns rows changed."""
        try:
            return self._db.execute(sql, params).rowcount
        except sqlite3.Error as error:
            raise StoreError(describe(self._path, error)) from error

    # -- adding and reading ------------------------------------------------------------

    def add(self, account: str, message: BuiltMessage) -> OutboxItem:
        """Queue ``message``; when this returns, it is on disk (even across a power cut)."""
        now = self._now()
        # This commit is the promise that what the person wrote survives: make it durable
        # on disk, not just in the WAL, before anyone is told "queued".
        self._db.execute("PRAGMA synchronous = FULL")
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO outbox (account, message_id, subject, envelope_from, "
                    "recipients, smtputf8, size, created, next_attempt) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        account,
                        message.message_id,
                        message.subject,
                        message.envelope_from,
                        json.dumps(list(message.recipients), ensure_ascii=False),
                        int(message.smtputf8),
                        len(message.raw),
                        now,
                        now,
                    ),
                )
                item_id = int(cursor.lastrowid or 0)
                db.execute("INSERT INTO outbox_raw (id, raw) VALUES (?, ?)", (item_id, message.raw))
        finally:
            self._db.execute("PRAGMA synchronous = NORMAL")
        return self.get(item_id)

    def get(self, item_id: int) -> OutboxItem:
        item = self.find(item_id)
        if item is None:
            raise OutboxItemNotFound(item_id)
        return item

    def find(self, item_id: int) -> OutboxItem | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (item_id,)).fetchone()
        return None if row is None else _item(row)

    def items(self) -> list[OutboxItem]:
        """Every message still in the outbox, oldest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM outbox ORDER BY id").fetchall()
        return [_item(r) for r in rows]

    def raw(self, item_id: int) -> bytes:
        row = self._db.execute("SELECT raw FROM outbox_raw WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            raise OutboxItemNotFound(item_id)
        return bytes(row[0])

    def due(
        self, *, ignore_schedule: bool = False, ids: Sequence[int] | None = None
    ) -> dict[str, list[int]]:
        """Queued messages whose time has come (all queued ones when ignoring it).

        Their ids by account, oldest first: each account's are sent over one connection.
        """
        query = "SELECT account, id FROM outbox WHERE state = 'queued'"
        params: list[object] = []
        if not ignore_schedule:
            query += " AND next_attempt <= ?"
            params.append(self._now())
        if ids is not None:
            query += f" AND id IN ({', '.join('?' * len(ids))})"
            params.extend(ids)
        by_account: dict[str, list[int]] = {}
        for account, item_id in self._db.execute(query + " ORDER BY id", params):
            by_account.setdefault(str(account), []).append(int(item_id))
        return by_account

    def copies_due(self, *, ignore_schedule: bool = False) -> list[OutboxItem]:
        """Messages accepted by the server whose Sent-folder copy is still to be saved."""
        query = f"SELECT {_COLUMNS} FROM outbox WHERE sent_copy = 'pending'"
        params: list[object] = []
        if not ignore_schedule:
            query += " AND copy_next_attempt <= ?"
            params.append(self._now())
        return [_item(r) for r in self._db.execute(query + " ORDER BY id", params)]

    # -- the sender's steps (call them only while holding the SenderLock) --------------

    def recover_interrupted(self) -> list[OutboxItem]:
        """Put messages a dead sender left in ``sending`` back in the queue.

        Those whose data had started to go out are flagged "may already have been sent":
        the server may have taken them before the sender died. Returns the recovered items.
        """
        with self._transaction() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM outbox WHERE state = 'sending'")]
            db.execute(
                "UPDATE outbox SET state = 'queued', maybe_sent = maybe_sent OR data_started, "
                "data_started = 0, last_error = ? WHERE state = 'sending'",
                ("Sending was interrupted (the program stopped).",),
            )
        return [self.get(i) for i in ids]

    def claim(self, item_ids: Sequence[int]) -> list[OutboxItem]:
        """Move queued messages to ``sending`` for one batch and count the attempt.

        One transaction for the whole batch. Returns those that were still queued, in
        order. A crash leaves them in ``sending`` without ``data_started``:
        recover_interrupted() puts them back without doubt.
        """
        with self._transaction() as db:
            queued = [
                int(r[0])
                for r in db.execute(
                    "SELECT id FROM outbox WHERE state = 'queued' "
                    f"AND id IN ({', '.join('?' * len(item_ids))}) ORDER BY id",
                    list(item_ids),
                )
            ]
            placeholders = ", ".join("?" * len(queued))
            db.execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, data_started = 0 "
                f"WHERE id IN ({placeholders})",
                queued,
            )
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE id IN ({placeholders}) ORDER BY id", queued
            ).fetchall()
        return [_item(r) for r in rows]

    def submission(self, item_id: int) -> Submission:
        """What the SMTP conversation needs for a message: its envelope sender and bytes."""
        row = self._db.execute(
            "SELECT envelope_from, smtputf8, raw FROM outbox JOIN outbox_raw USING (id) "
            "WHERE id = ?",
            (item_id,),
        ).fetchone()
        if row is None:
            raise OutboxItemNotFound(item_id)
        return Submission(str(row[0]), bool(row[1]), bytes(row[2]))

    def mark_data_ending(self, item_id: int) -> None:
        """The message data is written and its final dot about to go out: from here on a
        crash or a lost connection may hide a delivery."""
        self._write("UPDATE outbox SET data_started = 1 WHERE id = ?", (item_id,))

    def mark_sent(
        self,
        item_id: int,
        *,
        refused: Sequence[Refusal] = (),
        retry_recipients: Sequence[str] = (),
        error: str = "",
        copy_wanted: bool,
    ) -> None:
        """The server accepted the message for some or all recipients.

        ``refused`` were refused for good; ``retry_recipients`` were refused for now (4xx)
        and stay queued with backoff. Once nothing is left to do the row is removed.
        """
        if refused or retry_recipients:
            self._mark_partly_sent(item_id, refused, retry_recipients, error, copy_wanted)
            return
        # One statement each (the common case, so kept cheap): the copy still to save
        # keeps the row as `sent`; with no copy to save, the row goes.
        sent = (
            "UPDATE outbox SET state = 'sent', sent_copy = 'pending', recipients = '[]', "
            "last_error = '', data_started = 0 WHERE id = ?"
        )
        if copy_wanted:
            if not self._write(sent + " AND sent_copy != 'done'", (item_id,)):
                self._write("DELETE FROM outbox WHERE id = ?", (item_id,))  # saved before
        elif not self._write(
            "DELETE FROM outbox WHERE id = ? AND sent_copy != 'pending'", (item_id,)
        ):
            self._write(sent, (item_id,))  # a copy from an earlier partial delivery is due

    def _mark_partly_sent(
        self,
        item_id: int,
        refused: Sequence[Refusal],
        retry_recipients: Sequence[str],
        error: str,
        copy_wanted: bool,
    ) -> None:
        now = self._now()
        with self._transaction() as db:
            row = db.execute(
                "SELECT refused, attempts FROM outbox WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                raise OutboxItemNotFound(item_id)
            db.execute(
                "UPDATE outbox SET refused = ? WHERE id = ?",
                (_refusals_json([*_refusals(row[0]), *refused]), item_id),
            )
            if copy_wanted:
                db.execute(
                    "UPDATE outbox SET sent_copy = 'pending' WHERE id = ? AND sent_copy = 'none'",
                    (item_id,),
                )
            if retry_recipients:
                db.execute(
                    "UPDATE outbox SET state = 'queued', recipients = ?, last_error = ?, "
                    "next_attempt = ?, data_started = 0 WHERE id = ?",
                    (
                        json.dumps(list(retry_recipients), ensure_ascii=False),
                        error,
                        now + retry_delay(int(row[1])),
                        item_id,
                    ),
                )
                return
            changed = db.execute(
                "UPDATE outbox SET state = 'sent', recipients = '[]', last_error = '', "
                "data_started = 0 WHERE id = ? AND sent_copy = 'pending'",
                (item_id,),
            ).rowcount
            if not changed:
                db.execute("DELETE FROM outbox WHERE id = ?", (item_id,))

    def mark_transient_failure(
        self, item_id: int, error: str, *, maybe_sent: bool = False, count_attempt: bool = False
    ) -> OutboxItem | None:
        """Back to the queue, next try after the backoff delay.

        ``count_attempt`` is for messages that were not claimed (the connection failed
        before their turn) but share the failure: they back off too. None when the message
        is gone (deleted meanwhile).
        """
        now = self._now()
        with self._transaction() as db:
            if count_attempt:
                db.execute(
                    "UPDATE outbox SET attempts = attempts + 1 WHERE id = ? AND state = 'queued'",
                    (item_id,),
                )
            row = db.execute("SELECT attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE outbox SET state = 'queued', last_error = ?, next_attempt = ?, "
                "maybe_sent = maybe_sent OR ?, data_started = 0 "
                "WHERE id = ? AND state IN ('queued', 'sending')",
                (error, now + retry_delay(int(row[0])), int(maybe_sent), item_id),
            )
        return self.find(item_id)

    def mark_failed(
        self,
        item_id: int,
        error: str,
        *,
        refused: Sequence[Refusal] = (),
        maybe_sent: bool = False,
    ) -> OutboxItem | None:
        """Refused for good: the message waits for the user to retry or delete it.

        None when the message is gone (deleted meanwhile).
        """
        with self._transaction() as db:
            row = db.execute("SELECT refused FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE outbox SET state = 'failed', last_error = ?, refused = ?, "
                "maybe_sent = maybe_sent OR ?, data_started = 0 WHERE id = ?",
                (error, _refusals_json([*_refusals(row[0]), *refused]), int(maybe_sent), item_id),
            )
        return self.find(item_id)

    def mark_copy_saved(self, item_id: int) -> None:
        """The Sent-folder copy is saved; a message with nothing else left is removed."""
        with self._transaction() as db:
            db.execute("DELETE FROM outbox WHERE id = ? AND state = 'sent'", (item_id,))
            db.execute(
                "UPDATE outbox SET sent_copy = 'done', copy_error = '' WHERE id = ?", (item_id,)
            )

    def start_copy_attempt(self, item_id: int) -> bool:
        """Count an APPEND before it starts, so that a crash during it is remembered.

        Returns whether an earlier attempt was made: the copy may then already be there.
        """
        with self._transaction() as db:
            row = db.execute("SELECT copy_attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                raise OutboxItemNotFound(item_id)
            db.execute(
                "UPDATE outbox SET copy_attempts = copy_attempts + 1 WHERE id = ?", (item_id,)
            )
        return bool(row[0])

    def mark_copy_failed(self, item_id: int, error: str) -> None:
        """Saving the copy failed: try again later; the delivery itself is not touched."""
        with self._transaction() as db:
            row = db.execute("SELECT copy_attempts FROM outbox WHERE id = ?", (item_id,)).fetchone()
            if row is None:
                return
            db.execute(
                "UPDATE outbox SET copy_error = ?, copy_next_attempt = ? WHERE id = ?",
                (error, self._now() + retry_delay(int(row[0])), item_id),
            )

    # -- the user's decisions ----------------------------------------------------------

    def retry(self, item_id: int) -> OutboxItem:
        """Try again right now: a failed or waiting message, and a Sent copy still owed."""
        item = self.get(item_id)
        if item.state is OutboxState.SENDING:
            raise OutboxItemBusy(item_id)
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET state = 'queued', next_attempt = ? "
                "WHERE id = ? AND state IN ('queued', 'failed')",
                (self._now(), item_id),
            )
            db.execute("UPDATE outbox SET copy_next_attempt = 0 WHERE id = ?", (item_id,))
        return self.get(item_id)

    def delete(self, item_id: int) -> OutboxItem:
        """Remove a message from the outbox; refused while a sender has it."""
        item = self.get(item_id)
        with self._transaction() as db:
            changed = db.execute(
                "DELETE FROM outbox WHERE id = ? AND state != 'sending'", (item_id,)
            ).rowcount
        if not changed:
            raise OutboxItemBusy(item_id)
        return item


class SenderBusy(MailclientError):
    """Another sender (this process or another one) is working on the outbox."""

    def __init__(self) -> None:
        super().__init__(
            "Another mailclient is sending from this profile's outbox right now; "
            "it will send the queued messages."
        )


class SenderLock:
    """The right to send from a profile's outbox: one holder at a time, across processes.

    An ``flock`` on ``<store>.sender-lock``. Each SenderLock opens the file itself, so two
    threads of one process exclude each other too, and the kernel drops the lock when
    its holder dies, even by SIGKILL.
    """

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".sender-lock")
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to ``wait`` seconds; SenderBusy if it stays taken."""
        deadline = time.monotonic() + wait
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise SenderBusy() from None
                    time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self) -> SenderLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
