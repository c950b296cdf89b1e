"""The outbox: every outgoing message waits here, as final bytes, until a server took it.

It has a file of its own, ``outbox.sqlite3`` next to the mail cache: the cache can be
thrown away and fetched again, what the user wrote cannot. Older profiles kept the outbox
in the cache; its first opening takes those rows over. A damaged outbox file is set aside
(store/rescue.py) and every message that can still be read from it goes into a new one,
and into the rescue folder as a ``.eml`` file.

A message is written and committed before any SMTP conversation starts, so neither a
crash, a dead network nor a full disk after that point can lose it. Its state moves

    queued ──claim──> sending ──> sent (only the Sent-folder copy may remain) ──> removed
      ^                  │
      └── transient ─────┤ (4xx, network: retried with exponential backoff)
                         └──> failed (5xx, authentication: waits for the user)

A sender that dies leaves ``sending`` behind; the next one puts the message back in the
queue, flagged "may already have been sent" when the crash came once the end of the
message data was going out. Only one sender works at a time: SenderLock, an exclusive lock
on a file next to the database that the kernel releases when its holder dies.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from mailclient.core.errors import MailclientError
from mailclient.core.outgoing import BuiltMessage, OutboxItem, OutboxState, Refusal, SentCopy
from mailclient.store import rescue
from mailclient.store.db import (
    StoreDamaged,
    connect,
    damage_marker,
    damaged_text,
    mark_damaged,
    store_error,
)
from mailclient.store.outbox_watch import outbox_path

log = logging.getLogger(__name__)

# The outbox file's migrations. 1: the tables the outbox had in the mail cache (schema.py,
# migration 2), with the header lines of the Sent copy beside the bytes, and a note of
# the outbox rows already taken over from the mail cache.
MIGRATIONS = [
    """
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
    data_started INTEGER NOT NULL DEFAULT 0,  -- the current attempt reached the final dot
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
    raw BLOB NOT NULL,
    sent_headers BLOB NOT NULL DEFAULT x''  -- on top of raw in the Sent copy (Bcc)
);
CREATE TABLE taken_over (source TEXT PRIMARY KEY) WITHOUT ROWID;
""",
    # 2: a time before which a message is not sent (0: at once): the undo delay after
    # Send, or the time chosen with Send Later (scheduled = 1). Retries never move it.
    """
ALTER TABLE outbox ADD COLUMN send_at REAL NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;
""",
]

RETRY_BASE_SECONDS = 60.0
RETRY_MAX_SECONDS = 3600.0

_COLUMNS = (
    "id, account, message_id, subject, recipients, state, size, created, next_attempt, "
    "attempts, last_error, maybe_sent, sent_copy, refused, copy_error, send_at, scheduled"
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


def _item(row: sqlite3.Row | tuple[Any, ...]) -> OutboxItem:
    (id_, account, message_id, subject, recipients, state, size, created, next_attempt) = row[:9]
    attempts, last_error, maybe_sent, sent_copy, refused, copy_error, send_at, scheduled = row[9:]
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
        send_at=_time(float(send_at)) if send_at else None,
        scheduled=bool(scheduled),
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


@dataclass(frozen=True)
class OutboxRescue:
    """A damaged outbox file was set aside into ``folder``; ``saved`` messages were read
    from it and are queued again in a new file, ``lost`` could not be read, and others may
    be missing unless the list of messages could be read (``complete``)."""

    folder: Path
    saved: int
    lost: int
    complete: bool = True

    def message(self) -> str:
        text = (
            f"The outbox file was damaged. It was moved to {self.folder}; "
            f"{_count(self.saved, 'message')} read from it "
            f"{'is' if self.saved == 1 else 'are'} in the outbox again (and in that folder "
            "as .eml files)."
        )
        if self.lost:
            text += f" {_count(self.lost, 'message')} could not be read."
        if not self.complete:
            text += (
                " Its list of messages could not be read: some may be missing; the damaged "
                "file is kept in that folder."
            )
        return text


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class Outbox:
    """The outbox on one connection, for the calling thread: open it with Outbox.open().

    Every change is one transaction. ``clock`` gives Unix time (tests pass their own).
    ``rescue`` tells what opening it found and did when its file was damaged.
    """

    def __init__(
        self, db: sqlite3.Connection, path: Path, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._path = path
        self._clock = clock
        self.rescue: OutboxRescue | None = None

    @classmethod
    def open(cls, store_path: Path, clock: Callable[[], float] = time.time) -> Outbox:
        """The outbox of the profile whose mail cache is ``store_path``.

        Creates or upgrades its file, sets it aside when damaged (keeping every message
        that can be read), and takes over what an older version left in the mail cache.
        Raises StoreError.
        """
        path = outbox_path(store_path)
        rescued: OutboxRescue | None = None
        if damage_marker(path).exists():
            rescued = _set_aside(path, clock)
        try:
            db = _connect_checked(path)
        except StoreDamaged:
            if rescued is not None:
                raise
            rescued = _set_aside(path, clock)
            db = _connect_checked(path)
        outbox = cls(db, path, clock)
        outbox.rescue = rescued
        try:
            outbox._take_over(store_path)
        except BaseException:
            outbox.close()
            raise
        return outbox

    def _take_over(self, store_path: Path) -> None:
        """Move the rows an older version kept in the mail cache's outbox into this file.

        Once only: the note in ``taken_over`` is written in the same transaction as the
        rows, so a crash can neither lose them nor bring them back after they were sent.
        """
        if self._query("SELECT 1 FROM taken_over WHERE source = ?", (store_path.name,)):
            return
        rows: list[tuple[Any, ...]] = []
        sequence = 0
        legacy: sqlite3.Connection | None = None
        if store_path.exists():
            try:
                legacy = sqlite3.connect(store_path, timeout=30, isolation_level=None)
                if legacy.execute(
                    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'outbox_raw'"
                ).fetchone():
                    rows, lost, _ = _readable_rows(legacy, with_sent_headers=False)
                    sequence = _sequence(legacy)
                    if lost:
                        log.warning("%d outbox messages in %s could not be read", lost, store_path)
            except sqlite3.Error as error:
                if legacy is not None:
                    legacy.close()
                problem = store_error(store_path, error)
                if not isinstance(problem, StoreDamaged):
                    raise problem from error
                legacy = None  # unreadable, nothing to take over; the cache is set aside
        try:
            with self._transaction() as db:
                if db.execute(
                    "SELECT 1 FROM taken_over WHERE source = ?", (store_path.name,)
                ).fetchone():
                    return
                _insert_rows(db, rows, sequence)
                db.execute("INSERT INTO taken_over (source) VALUES (?)", (store_path.name,))
            if legacy is not None and rows:
                log.info("Moved %d outbox messages out of %s", len(rows), store_path)
                # Gone from there: a damaged cache set aside later holds no unsent message.
                # Only those taken: an older mailclient may have queued more meanwhile.
                taken = [row[0] for row in rows]
                marks = ", ".join("?" * len(taken))
                with contextlib.suppress(sqlite3.Error):
                    legacy.execute(f"DELETE FROM outbox_raw WHERE id IN ({marks})", taken)
                    legacy.execute(f"DELETE FROM outbox WHERE id IN ({marks})", taken)
        finally:
            if legacy is not None:
                legacy.close()

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
            raise store_error(self._path, error) from error

    def _write(self, sql: str, params: Sequence[object]) -> int:
        """One statement on its own: SQLite makes it a transaction. Returns rows changed."""
        try:
            return self._db.execute(sql, params).rowcount
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise store_error(self._path, error) from error

    # -- adding and reading ------------------------------------------------------------

    def add(
        self,
        account: str,
        message: BuiltMessage,
        *,
        send_at: float | None = None,
        scheduled: bool = False,
    ) -> OutboxItem:
        """Queue ``message``; when this returns, it is on disk (even across a power cut).

        ``send_at``: not before this time (Unix); ``scheduled``: a time the user chose."""
        now = self._now()
        # This commit is the promise that what the person wrote survives: make it durable
        # on disk, not just in the WAL, before anyone is told "queued".
        self._db.execute("PRAGMA synchronous = FULL")
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO outbox (account, message_id, subject, envelope_from, "
                    "recipients, smtputf8, size, created, next_attempt, send_at, scheduled) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        send_at or 0.0,
                        int(scheduled),
                    ),
                )
                item_id = int(cursor.lastrowid or 0)
                db.execute(
                    "INSERT INTO outbox_raw (id, raw, sent_headers) VALUES (?, ?, ?)",
                    (item_id, message.raw, message.sent_headers),
                )
        finally:
            self._db.execute("PRAGMA synchronous = NORMAL")
        return self.get(item_id)

    def get(self, item_id: int) -> OutboxItem:
        item = self.find(item_id)
        if item is None:
            raise OutboxItemNotFound(item_id)
        return item

    def find(self, item_id: int) -> OutboxItem | None:
        rows = self._query(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (item_id,))
        return _item(rows[0]) if rows else None

    def items(self) -> list[OutboxItem]:
        """Every message still in the outbox, oldest first."""
        return [_item(r) for r in self._query(f"SELECT {_COLUMNS} FROM outbox ORDER BY id")]

    def raw(self, item_id: int) -> bytes:
        """The bytes that go to the SMTP server (no Bcc field)."""
        rows = self._query("SELECT raw FROM outbox_raw WHERE id = ?", (item_id,))
        if not rows:
            raise OutboxItemNotFound(item_id)
        return bytes(rows[0][0])

    def sent_copy(self, item_id: int) -> bytes:
        """The bytes for the Sent folder: what went to the server, with the Bcc field."""
        rows = self._query("SELECT sent_headers, raw FROM outbox_raw WHERE id = ?", (item_id,))
        if not rows:
            raise OutboxItemNotFound(item_id)
        return bytes(rows[0][0]) + bytes(rows[0][1])

    def due(
        self, *, ignore_schedule: bool = False, ids: Sequence[int] | None = None
    ) -> dict[str, list[int]]:
        """Queued messages whose time has come (all queued ones when ignoring it).

        Their ids by account, oldest first: each account's are sent over one connection.
        """
        # A message held back (undo delay, Send Later) waits for its time even when the
        # retry schedule is ignored: release() lets it go earlier.
        query = "SELECT account, id FROM outbox WHERE state = 'queued' AND send_at <= ?"
        params: list[object] = [self._now()]
        if not ignore_schedule:
            query += " AND next_attempt <= ?"
            params.append(self._now())
        if ids is not None:
            query += f" AND id IN ({', '.join('?' * len(ids))})"
            params.extend(ids)
        by_account: dict[str, list[int]] = {}
        for account, item_id in self._query(query + " ORDER BY id", params):
            by_account.setdefault(str(account), []).append(int(item_id))
        return by_account

    def copies_due(self, *, ignore_schedule: bool = False) -> list[OutboxItem]:
        """Messages accepted by the server whose Sent-folder copy is still to be saved."""
        query = f"SELECT {_COLUMNS} FROM outbox WHERE sent_copy = 'pending'"
        params: list[object] = []
        if not ignore_schedule:
            query += " AND copy_next_attempt <= ?"
            params.append(self._now())
        return [_item(r) for r in self._query(query + " ORDER BY id", params)]

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
        rows = self._query(
            "SELECT envelope_from, smtputf8, raw FROM outbox JOIN outbox_raw USING (id) "
            "WHERE id = ?",
            (item_id,),
        )
        if not rows:
            raise OutboxItemNotFound(item_id)
        envelope_from, smtputf8, raw = rows[0]
        return Submission(str(envelope_from), bool(smtputf8), bytes(raw))

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
        """Try again right now: a failed or waiting message (also one held back until a
        later time), and a Sent copy still owed."""
        item = self.get(item_id)
        if item.state is OutboxState.SENDING:
            raise OutboxItemBusy(item_id)
        with self._transaction() as db:
            db.execute(
                "UPDATE outbox SET state = 'queued', next_attempt = ?, send_at = 0, scheduled = 0 "
                "WHERE id = ? AND state IN ('queued', 'failed')",
                (self._now(), item_id),
            )
            db.execute("UPDATE outbox SET copy_next_attempt = 0 WHERE id = ?", (item_id,))
        return self.get(item_id)

    def release(self, item_id: int) -> bool:
        """Let a held-back message go now (Send Now); False if it is no longer waiting."""
        return bool(
            self._write(
                "UPDATE outbox SET send_at = 0, scheduled = 0 WHERE id = ? AND state = 'queued'",
                (item_id,),
            )
        )

    def rename_account(self, old: str, new: str) -> int:
        """Let the messages waiting for account ``old`` be sent by ``new`` (the account
        renamed); returns how many there were."""
        return self._write("UPDATE outbox SET account = ? WHERE account = ?", (new, old))

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


_ROW_COLUMNS = (
    "id, account, message_id, subject, envelope_from, recipients, smtputf8, size, state, "
    "attempts, last_error, created, next_attempt, data_started, maybe_sent, refused, "
    "sent_copy, copy_attempts, copy_error, copy_next_attempt"
)
# Outbox files this process found whole: checked once, then errors in use tell.
_checked: set[Path] = set()
_checked_lock = threading.Lock()


def _connect_checked(path: Path) -> sqlite3.Connection:
    """Open the outbox file; StoreDamaged (and the file marked) when it is damaged.

    The whole file is checked, once per process: it holds only what waits to be sent.
    """
    _count_joined_steps(path)
    db = connect(path, MIGRATIONS)
    with _checked_lock:
        if path in _checked:
            return db
    try:
        problems = [r[0] for r in db.execute("PRAGMA quick_check") if r[0] != "ok"]
    except sqlite3.Error as error:
        db.close()
        raise store_error(path, error) from error
    if problems:
        db.close()
        log.warning("%s failed its check: %s", path, "; ".join(problems[:5]))
        mark_damaged(path)
        raise StoreDamaged(damaged_text(path), path)
    with _checked_lock:
        _checked.add(path)
    return db


def _count_joined_steps(path: Path) -> None:
    """Mark a file whose first two steps ran as one as being at step 2.

    The versions that brought Send Later ran steps 1 and 2 as a single step and left
    version 1 on a file that has step 2's columns; step 2 must not run on it again. A file
    that cannot be read is left to connect(), which says what is wrong with it.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error:
        return
    try:
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        columns = {row[1] for row in db.execute("PRAGMA table_info(outbox)")}
        if version == 1 and "send_at" in columns:
            db.execute("PRAGMA user_version = 2")
        db.execute("COMMIT")
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
    finally:
        db.close()


def _sequence(db: sqlite3.Connection) -> int:
    """The highest outbox id ever given out in ``db`` (0 if unknown)."""
    try:
        row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row else 0


def _readable_rows(
    db: sqlite3.Connection, *, with_sent_headers: bool
) -> tuple[list[tuple[Any, ...]], int, bool]:
    """Every outbox row with its bytes that can be read, one by one; how many could not;
    and whether the list of ids could be read (else every id up to the highest given out
    is tried, and rows may be missing unnoticed)."""
    complete = True
    try:
        ids = [int(r[0]) for r in db.execute("SELECT id FROM outbox ORDER BY id")]
    except sqlite3.DatabaseError:
        ids = list(range(1, _sequence(db) + 1))
        complete = False
    headers = "r.sent_headers" if with_sent_headers else "x''"
    # What holds a message back (migration 2 of the outbox file), where the file has it.
    try:
        columns = {str(r[1]) for r in db.execute("PRAGMA table_info(outbox)")}
    except sqlite3.DatabaseError:
        columns = set()
    hold = "o.send_at, o.scheduled" if {"send_at", "scheduled"} <= columns else "0, 0"
    rows: list[tuple[Any, ...]] = []
    lost = 0
    for item_id in ids:
        try:
            row = db.execute(
                f"SELECT {', '.join('o.' + c.strip() for c in _ROW_COLUMNS.split(','))}, "
                f"r.raw, {headers}, {hold} FROM outbox o JOIN outbox_raw r ON r.id = o.id "
                "WHERE o.id = ?",
                (item_id,),
            ).fetchone()
        except sqlite3.DatabaseError:
            lost += 1
            continue
        if row is not None:
            rows.append(tuple(row))
    return rows, lost, complete


def _insert_rows(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]], sequence: int) -> None:
    """Put rows from _readable_rows() in ``db`` with their ids; ids up to ``sequence`` stay
    used (AUTOINCREMENT never gives them out again)."""
    width = len(_ROW_COLUMNS.split(","))
    for row in rows:
        db.execute(
            f"INSERT OR IGNORE INTO outbox ({_ROW_COLUMNS}) VALUES ({', '.join('?' * width)})",
            row[:width],
        )
        db.execute(
            "INSERT OR IGNORE INTO outbox_raw (id, raw, sent_headers) VALUES (?, ?, ?)",
            (row[0], row[width], row[width + 1]),
        )
        db.execute(
            "UPDATE outbox SET send_at = ?, scheduled = ? WHERE id = ?",
            (row[width + 2], row[width + 3], row[0]),
        )
    if sequence:
        if db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'outbox'").fetchone():
            db.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'", (sequence,)
            )
        else:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (sequence,))


def _set_aside(path: Path, clock: Callable[[], float]) -> OutboxRescue | None:
    """Move a damaged outbox file into a rescue folder; start a new one with every message
    that can be read from it. None when another process did it meanwhile."""
    with rescue.exclusive(path):
        marker = damage_marker(path)
        if not marker.exists():
            return None
        rows: list[tuple[Any, ...]] = []
        lost = 0
        complete = False
        sequence = 0
        sources: list[str] = []
        try:
            damaged = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            damaged = None
        if damaged is not None:
            try:
                rows, lost, complete = _readable_rows(damaged, with_sent_headers=True)
                sequence = _sequence(damaged)
                # What it took over from the cache must not come over a second time.
                sources = [str(r[0]) for r in damaged.execute("SELECT source FROM taken_over")]
            except sqlite3.Error as error:
                log.warning("Reading the damaged %s stopped: %s", path, error)
            finally:
                damaged.close()
        folder = rescue.rescue_folder(path, clock)
        width = len(_ROW_COLUMNS.split(","))
        listing = []
        for row in rows:
            item_id = int(row[0])
            rescue.write_private(
                folder / f"outbox-{item_id}.eml",
                bytes(row[width + 1]) + bytes(row[width]),
            )
            listing.append(
                {
                    "id": item_id,
                    "account": row[1],
                    "subject": row[3],
                    "envelope_from": row[4],
                    "recipients": json.loads(str(row[5])),
                    "state": row[8],
                    "maybe_sent": bool(row[14]) or bool(row[13]),
                    "file": f"outbox-{item_id}.eml",
                }
            )
        rescue.write_private(
            folder / "outbox.json", json.dumps(listing, indent=2, ensure_ascii=False).encode()
        )
        rescue.move_aside(path, folder)
        fresh = connect(path, MIGRATIONS)
        try:
            fresh.execute("BEGIN IMMEDIATE")
            _insert_rows(fresh, rows, sequence)
            fresh.executemany("INSERT INTO taken_over (source) VALUES (?)", [(n,) for n in sources])
            fresh.execute("COMMIT")
        except sqlite3.Error as error:
            raise store_error(path, error) from error
        finally:
            fresh.close()
        marker.unlink()
        found = OutboxRescue(folder, len(rows), lost, complete)
        log.warning("%s", found.message())
        return found


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
