"""Conversations: messages threaded by Message-ID, In-Reply-To and References (JWZ).

Threads are computed here as messages are stored, once, so that every view and the
command line read them instead of recomputing. Each Message-ID an account has seen,
in a message or only in another's References, is a node of ``thread_nodes`` with its
parent and a thread number shared by every node of one thread. Nodes of messages that
are missing (never received, deleted, in a folder not synced) stay as links, so a
conversation keeps together when a message in the middle is gone. Threads span the
folders of one account: a reply in Sent belongs to the thread of what it answers.

The linking follows Jamie Zawinski's algorithm (https://www.jwz.org/doc/threading.html):
the References list (with In-Reply-To appended when it is not last) links each id to the
one before it, unless that id has a parent already or the link would close a loop; the
message itself hangs under its last reference, which overrides an earlier guess. Two
threads that become linked merge. Only a message with neither header is placed by its
subject: a reply ("Re: ...") joins the newest thread started with that subject.

thread_new_messages() links the messages stored since it last ran (their ids are higher),
in the transaction of the batch that stored them (MailStore.add_messages calls it), so a
crash loses nothing; a migrated store is threaded once, off the GUI thread
(MailStore.link_unthreaded). A big first fill is threaded in steps when it ends
(MailStore.restore_sort_indexes), in date order; until then its messages are listed each
on its own, and after a crash the next sync's first step threads them.

The linking reads the stored nodes it needs a few hundred at a time, and none at all for an
account that has none yet (its first messages, a first fill): that one is linked in memory
alone. The nodes made or changed are written at the end, in key order, many to a
statement. A merge renumbers the stored nodes of the thread merged at once, and those held
in memory as they are written.
"""

from __future__ import annotations

import json
import re
import sqlite3
from array import array
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple, overload

from mailclient.core.models import SpecialUse
from mailclient.store.rows import next_messages

SCHEMA = """
CREATE TABLE thread_nodes (
    account TEXT NOT NULL,
    message_id TEXT NOT NULL,            -- the Message-ID, or '#' and the row id without one
    parent TEXT,                         -- the Message-ID of its parent; NULL for a root
    thread INTEGER NOT NULL,             -- the same for every node of one thread
    subject TEXT NOT NULL DEFAULT '',    -- the base subject of a thread's first message
    PRIMARY KEY (account, message_id)
) WITHOUT ROWID;

CREATE INDEX thread_nodes_by_thread ON thread_nodes (account, thread);
CREATE INDEX thread_nodes_by_subject ON thread_nodes (account, subject, thread)
WHERE subject != '';

-- Messages are stored with ever higher ids: those above threaded_up_to are not linked yet
-- (0 after the upgrade: the stored mail is threaded on first use).
CREATE TABLE thread_state (threaded_up_to INTEGER NOT NULL);
INSERT INTO thread_state (threaded_up_to) VALUES (0);

-- Nodes follow their account: renamed with it, removed with its last folder.
CREATE TRIGGER folders_account_renamed AFTER UPDATE OF account ON folders
BEGIN
    UPDATE OR IGNORE thread_nodes SET account = NEW.account WHERE account = OLD.account;
END;

CREATE TRIGGER folders_account_removed AFTER DELETE ON folders
WHEN NOT EXISTS (SELECT 1 FROM folders WHERE account = OLD.account)
BEGIN
    DELETE FROM thread_nodes WHERE account = OLD.account;
END;
"""

# A Message-ID: "<", then no whitespace nor angle bracket, then ">". The whitespace is that
# of str.isspace() (which \s matches) spelled out: a class of characters is tested from a
# table, \s by each character's Unicode category at half the speed.
_ID = re.compile("<[^<>\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+>")
# Reply and forward prefixes, for match(): without capturing groups, a third of the time.
_REPLY = re.compile(r"\s*(?:(?:re|aw|sv|fwd?|wg|antw|vs|ref|tr)(?:\[\d+\])?\s*:\s*)+", re.I)
# A References chain longer than this is cut to its newest ids (JWZ: loops, spam).
_MAX_REFS = 100


def message_key(message_id: str, row_id: int) -> str:
    """The node name of a message: its Message-ID, or one made of its row id."""
    if message_id[:1] == "<" and _ID.fullmatch(message_id):
        return message_id  # the usual case, without a search
    ids = _ID.findall(message_id)
    return ids[0] if ids else f"#{row_id}"


def base_subject(subject: str) -> tuple[str, bool]:
    """The subject without reply and forward prefixes, casefolded; and whether it had one."""
    prefix = _REPLY.match(subject)
    if prefix:
        subject = subject[prefix.end() :]
    # Mostly there is no whitespace to squeeze: printable text has none but the space.
    if not subject.isprintable() or "  " in subject or subject[:1] == " " or subject[-1:] == " ":
        subject = " ".join(subject.split())
    return subject.casefold(), prefix is not None


def references(in_reply_to: str, refs: str) -> list[str]:
    """The ids a message refers to, oldest first, its parent last."""
    chain = _ID.findall(refs) if refs else []
    if len(chain) > _MAX_REFS:
        del chain[:-_MAX_REFS]
    # Mostly In-Reply-To is the last of the References, or there are no References.
    if in_reply_to and not (chain and in_reply_to == chain[-1]):
        replied = _ID.search(in_reply_to)
        if replied and (not chain or chain[-1] != replied[0]):
            chain.append(replied[0])
    if len(chain) > 2 or (len(chain) == 2 and chain[0] == chain[1]):
        return list(dict.fromkeys(chain))
    return chain


class _Account:
    """The nodes of one account that a _Linker read or made: a node's parent (a root has
    none) and thread, which may since have merged into another (_Linker.find).

    An account without stored nodes (its first messages, a first fill) is linked without
    a look-up: every id not made here is known to be new, and which nodes have children."""

    def __init__(self, linker: _Linker, name: str) -> None:
        self.linker = linker
        self.name = name
        self.parents: dict[str, str] = {}
        self.above: set[str] = set()  # the nodes made a parent here
        self.threads: dict[str, int] = {}
        self.dirty: set[str] = set()  # made here, or given another parent: to be written
        self.subjects: dict[str, str] = {}  # new thread starts: base subject
        self.started: dict[str, str] = {}  # base subject -> the key of its newest start
        self.absent: set[str] = set()  # known not to be stored
        self.stored = (
            linker.db.execute(
                "SELECT 1 FROM thread_nodes WHERE account = ? LIMIT 1", (name,)
            ).fetchone()
            is not None
        )

    def known(self, key: str) -> int | None:
        """The thread of a node as stored or made (None: no such node)."""
        return self._read(key) if self.stored else self.threads.get(key)

    def _read(self, key: str) -> int | None:
        found = self.threads.get(key)
        if found is None and key not in self.absent:
            row = self.linker.db.execute(
                "SELECT parent, thread FROM thread_nodes WHERE account = ? AND message_id = ?",
                (self.name, key),
            ).fetchone()
            if row is None:
                self.absent.add(key)
            else:
                found = self._keep(key, row[0], row[1])
        return found

    def _keep(self, key: str, parent: str | None, thread: int) -> int:
        if parent is not None:
            self.parents[key] = parent
        self.threads[key] = thread
        return thread

    def prefetch(self, keys: Sequence[str]) -> None:
        """Read the nodes of ``keys`` in few statements; those not found are new."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.threads]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for key, parent, thread in self.linker.db.execute(
                "SELECT message_id, parent, thread FROM thread_nodes WHERE account = ? "
                f"AND message_id IN ({', '.join('?' * len(chunk))})",
                (self.name, *chunk),
            ):
                self._keep(key, parent, thread)
            self.absent.update(k for k in chunk if k not in self.threads)

    def is_ancestor(self, candidate: str, of: str) -> bool:
        """Whether ``candidate`` is ``of`` or above it (a link to it would close a loop)."""
        key: str | None = of
        steps = 0
        while key is not None and steps <= 10 * _MAX_REFS:
            if key == candidate:
                return True
            key = self.parents.get(key) if self.known(key) is not None else None
            steps += 1
        return False

    def thread_of_subject(self, base: str) -> int | None:
        key = self.started.get(base)
        if key is not None:
            return self.linker.find(self.threads[key])
        if not self.stored:
            return None
        # One index seek: by thread the planner would read every node of the account.
        row = self.linker.db.execute(
            "SELECT thread FROM thread_nodes INDEXED BY thread_nodes_by_subject "
            "WHERE account = ? AND subject = ? AND subject != '' ORDER BY thread DESC LIMIT 1",
            (self.name, base),
        ).fetchone()
        return int(row[0]) if row else None

    def link(self, key: str, chain: Sequence[str], subject: str) -> None:
        """Hang message ``key`` under its references ``chain`` (JWZ), or by ``subject``."""
        linker, threads, dirty = self.linker, self.threads, self.dirty
        own = self._read(key) if self.stored else threads.get(key)
        if not chain:
            # Nothing to link: a thread of its own, unless a reply's subject places it.
            base, is_reply = base_subject(subject)
            placed = None
            if base:
                if is_reply:
                    placed = self.thread_of_subject(base)
                elif own is None:
                    self.subjects[key] = base
                    self.started[base] = key
            if own is None:
                if placed is None:
                    placed = linker.next_thread
                    linker.next_thread += 1
                threads[key] = placed
                dirty.add(key)
            elif placed is not None:
                linker.merge(self.name, {placed, linker.find(own)})
            return
        found = list(map(self._read if self.stored else threads.get, chain))
        joined = linker.joined
        numbers = set()
        for number in found:
            if number is not None:
                numbers.add(linker.find(number) if number in joined else number)
        if own is not None:
            numbers.add(linker.find(own) if own in joined else own)
        if numbers:
            thread = min(numbers)
        else:
            thread = linker.next_thread
            linker.next_thread += 1
        # A node made here has no children yet, so no link to it can close a loop.
        for k, number in zip(chain, found, strict=True):
            if number is None:
                threads[k] = thread
                dirty.add(k)
        if own is None:
            threads[key] = thread
            dirty.add(key)
        # Nor can one to a node without children; which have any is known here when all
        # the nodes of the account are.
        parents, above, alone = self.parents, self.above, not self.stored
        older = chain[0]
        for n in range(1, len(chain)):
            newer = chain[n]
            if newer not in parents and (
                found[n] is None
                or (alone and newer not in above)
                or not self.is_ancestor(newer, older)
            ):
                parents[newer] = older
                above.add(older)
                dirty.add(newer)
            older = newer
        if parents.get(key) != older and (
            own is None or (alone and key not in above) or not self.is_ancestor(key, older)
        ):
            parents[key] = older
            above.add(older)
            dirty.add(key)
        if len(numbers) > 1:
            linker.merge(self.name, numbers)

    def values(self) -> list[Any]:
        """The nodes to write, in key order (they go to neighbouring pages of the B-tree),
        as the flat values of _insert()."""
        # Without stored nodes all are to be written: in the order made (by date), ids
        # that begin with a date or a counter are partly sorted already.
        keys = sorted(self.dirty if self.stored else self.threads)
        numbers = list(map(self.threads.__getitem__, keys))
        joined, find = self.linker.joined, self.linker.find
        if joined:
            numbers = [find(t) if t in joined else t for t in numbers]
        values: list[Any] = [self.name] * (5 * len(keys))
        values[1::5] = keys
        values[2::5] = list(map(self.parents.get, keys))
        values[3::5] = numbers
        values[4::5] = list(map(self.subjects.get, keys, repeat("")))
        return values


class _Linker:
    """The thread numbers of one linking (its _Account objects hold the nodes), and the
    writing of the nodes.

    When a message links two threads, the higher numbered one joins the lower: its stored
    nodes are renumbered at once, those held in memory by find() when they are next used."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.next_thread = self.first_new = _highest_thread(db) + 1
        self.joined: dict[int, int] = {}  # a merged thread -> the one it merged into

    def find(self, thread: int) -> int:
        """The thread that ``thread`` is now, after every merge so far."""
        joined = self.joined
        into = thread
        while into in joined:
            into = joined[into]
        while thread != into:  # shorten the way for the next time
            joined[thread], thread = into, joined[thread]
        return into

    def merge(self, account: str, threads: set[int]) -> None:
        """Make ``threads`` one: the lowest numbered, the oldest of them."""
        into = min(threads)
        stored = []
        for thread in threads:
            if thread != into:
                self.joined[thread] = into
                if thread < self.first_new:
                    stored.append(thread)
        if stored:
            self.db.execute(
                "UPDATE thread_nodes SET thread = ? WHERE account = ? "
                f"AND thread IN ({', '.join('?' * len(stored))})",
                (into, account, *stored),
            )

    def flush(self, accounts: Iterable[_Account]) -> None:
        values: list[Any] = []
        for account in accounts:
            values += account.values()
        # Many rows a statement (one row a statement costs half as much again), in sizes
        # that are powers of two: few statements for SQLite to prepare and keep.
        rows, done, size = len(values) // 5, 0, _ROWS_PER_INSERT
        while done < rows:
            while size > rows - done:
                size //= 2
            times = (rows - done) // size
            self.db.executemany(
                _insert(size),
                (values[5 * (done + n * size) : 5 * (done + (n + 1) * size)] for n in range(times)),
            )
            done += times * size


_ROWS_PER_INSERT = 1024


def _insert(rows: int) -> str:
    """The statement that writes ``rows`` nodes, each given as five values."""
    return (
        "INSERT INTO thread_nodes (account, message_id, parent, thread, subject) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?)"] * rows)
        + " ON CONFLICT (account, message_id) DO UPDATE SET "
        "parent = excluded.parent, thread = excluded.thread"
    )


def _highest_thread(db: sqlite3.Connection) -> int:
    """The highest thread number in use: the largest of each account's, one index seek
    each (max() over the whole table would read every node)."""
    (top,) = db.execute(
        "WITH RECURSIVE accounts (name) AS ("
        "SELECT min(account) FROM thread_nodes UNION ALL "
        "SELECT (SELECT min(account) FROM thread_nodes WHERE account > name) "
        "FROM accounts WHERE name IS NOT NULL) "
        "SELECT coalesce(max((SELECT max(thread) FROM thread_nodes WHERE account = name)), 0) "
        "FROM accounts"
    ).fetchone()
    return int(top)


# Messages whose stored nodes are read together (in statements of up to 500 ids).
_READ_AHEAD = 2_000


def _link_waiting(waiting: list[tuple[_Account, str, Sequence[str], str]]) -> None:
    """Read the stored nodes that ``waiting`` messages name, then link those messages."""
    wanted: dict[_Account, list[str]] = {}
    for account, key, chain, _ in waiting:
        if account.stored:
            keys = wanted.setdefault(account, [])
            keys.append(key)
            keys.extend(chain)
    for account, keys in wanted.items():
        account.prefetch(keys)
    for account, key, chain, subject in waiting:
        account.link(key, chain, subject)
    waiting.clear()


def has_unthreaded(db: sqlite3.Connection) -> bool:
    """Whether messages wait for thread_new_messages()."""
    return bool(
        db.execute(
            "SELECT 1 FROM messages WHERE id > (SELECT threaded_up_to FROM thread_state) LIMIT 1"
        ).fetchone()
    )


def thread_new_messages(db: sqlite3.Connection, limit: int = -1) -> int:
    """Link the messages stored since the last call into threads (in the caller's
    transaction); returns how many. ``limit``: only the first this many of them (by id),
    so that a big fill is threaded in steps of bounded memory."""
    (up_to,) = db.execute("SELECT threaded_up_to FROM thread_state").fetchone()
    count, last = next_messages(db, up_to, limit)
    if not count:
        return 0
    linker = _Linker(db)
    account_of: dict[int, str] = dict(db.execute("SELECT id, account FROM folders"))
    accounts: dict[str, _Account] = {}
    by_folder: dict[int, _Account] = {}
    # Messages of an account with stored nodes wait until a few hundred can have those
    # read at once, and so does everything after them: each is linked in date order.
    waiting: list[tuple[_Account, str, Sequence[str], str]] = []
    # Empty headers come as None: cheaper to read.
    for row_id, folder_id, message_id, in_reply_to, refs, subject in db.execute(
        "SELECT id, folder_id, message_id, nullif(in_reply_to, ''), nullif(refs, ''), subject "
        "FROM messages WHERE id > ? AND id <= ? ORDER BY date, id",
        (up_to, last),
    ):
        account = by_folder.get(folder_id)
        if account is None:
            name = account_of[folder_id]
            if name not in accounts:
                accounts[name] = _Account(linker, name)
            account = by_folder[folder_id] = accounts[name]
        key = message_key(message_id, row_id)
        chain: Sequence[str] = ()
        if in_reply_to or refs:
            chain = references(in_reply_to or "", refs or "")
            if key in chain:
                chain = [ref for ref in chain if ref != key]
        if waiting or account.stored:
            waiting.append((account, key, chain, subject))
            if len(waiting) >= _READ_AHEAD:
                _link_waiting(waiting)
        else:
            account.link(key, chain, subject)
    _link_waiting(waiting)
    linker.flush(accounts.values())
    db.execute("UPDATE thread_state SET threaded_up_to = ?", (last,))
    return int(count)


@dataclass(frozen=True, slots=True)
class ThreadedMessage:
    """A message's place in the threaded list."""

    id: int
    thread: int  # shared by the messages of one thread
    depth: int  # 0 for a thread's first message, 1 for a reply to it...
    unread: bool = False


class ThreadedList(Sequence[ThreadedMessage]):
    """The threaded list (what threaded() returns), kept in arrays.

    Each thread's messages are neighbours: a thread is one run of the list, and its size
    is found by bisection. For 100,000 messages these arrays take 2.5 MB, where a list of
    ThreadedMessage with the dictionaries a view needs over it would take 25 MB.
    """

    __slots__ = ("_starts", "_unread_in", "depths", "ids", "threads", "unread")

    def __init__(
        self,
        ids: array[int] | None = None,
        threads: array[int] | None = None,
        depths: array[int] | None = None,
        unread: array[int] | None = None,
    ) -> None:
        self.ids = ids if ids is not None else array("q")
        self.threads = threads if threads is not None else array("q")
        self.depths = depths if depths is not None else array("i")
        self.unread = unread if unread is not None else array("b")
        self._starts = array("i")  # the first position of each run
        self._unread_in = array("i")  # unread messages of each run
        previous = None
        for position, (thread, unread_here) in enumerate(
            zip(self.threads, self.unread, strict=True)
        ):
            if thread != previous:
                self._starts.append(position)
                self._unread_in.append(0)
                previous = thread
            if unread_here:
                self._unread_in[-1] += 1

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> ThreadedMessage: ...

    @overload
    def __getitem__(self, index: slice) -> ThreadedList: ...

    def __getitem__(self, index: int | slice) -> ThreadedMessage | ThreadedList:
        if isinstance(index, slice):
            return ThreadedList(
                self.ids[index], self.threads[index], self.depths[index], self.unread[index]
            )
        return ThreadedMessage(
            self.ids[index], self.threads[index], self.depths[index], bool(self.unread[index])
        )

    def __iter__(self) -> Iterator[ThreadedMessage]:
        for id_, thread, depth, unread in zip(
            self.ids, self.threads, self.depths, self.unread, strict=True
        ):
            yield ThreadedMessage(id_, thread, depth, bool(unread))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ThreadedList):
            return (self.ids, self.threads, self.depths, self.unread) == (
                other.ids,
                other.threads,
                other.depths,
                other.unread,
            )
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ThreadedList({list(self)!r})"

    @property
    def thread_count(self) -> int:
        return len(self._starts)

    def thread_size(self, position: int) -> tuple[int, int]:
        """The messages and the unread messages of the thread at ``position``."""
        run = bisect_right(self._starts, position) - 1
        return self._run_end(run) - self._starts[run], self._unread_in[run]

    def _run_end(self, run: int) -> int:
        return self._starts[run + 1] if run + 1 < len(self._starts) else len(self.ids)

    def threads_of_several(self, among: Collection[int] | None = None) -> set[int]:
        """The threads of more than one message (of those ``among``, if given)."""
        several = set()
        for run, start in enumerate(self._starts):
            thread = self.threads[start]
            if self._run_end(run) - start > 1 and (among is None or thread in among):
                several.add(thread)
        return several

    def only(self, ids: Collection[int]) -> ThreadedList:
        """The messages of ``ids``, in this order (their threads counted anew)."""
        kept = [position for position, id_ in enumerate(self.ids) if id_ in ids]
        return ThreadedList(
            array("q", (self.ids[p] for p in kept)),
            array("q", (self.threads[p] for p in kept)),
            array("i", (self.depths[p] for p in kept)),
            array("b", (self.unread[p] for p in kept)),
        )


def threaded(
    db: sqlite3.Connection, folder_ids: Sequence[int], first_threads: int | None = None
) -> ThreadedList:
    """The visible messages of ``folder_ids`` as threads, newest thread first.

    Within a thread, replies follow what they answer, oldest first. A reply whose
    parent is not among the listed messages (missing, or in another folder) hangs under
    its nearest listed ancestor. ``first_threads``: only the newest this many threads,
    read without going through the whole folder (the first screenful of the list).
    """
    if not folder_ids:
        return ThreadedList()
    if first_threads is not None:
        return _first_threads(db, folder_ids, first_threads)
    return _arrange(db, folder_ids)


_NEWEST_CHUNK = 200


def _first_threads(db: sqlite3.Connection, folder_ids: Sequence[int], count: int) -> ThreadedList:
    """The newest ``count`` threads of ``folder_ids``: the messages are walked newest first
    until that many threads are seen, then those threads are read whole."""
    marks = ", ".join("?" * len(folder_ids))
    account_of = dict(
        db.execute(f"SELECT id, account FROM folders WHERE id IN ({marks})", list(folder_ids))
    )
    threads: dict[str, list[int]] = {}  # account -> threads, newest first
    alone: list[int] = []  # messages not threaded yet: each a thread of its own
    odd: list[int] = []  # messages whose node is not named by their Message-ID as stored
    seen: set[int] = set()  # thread numbers are unique over the accounts
    offset = 0
    while len(seen) + len(alone) < count:
        chunk = db.execute(
            f"SELECT id, message_id, folder_id FROM messages WHERE folder_id IN ({marks}) "
            "AND hidden = 0 ORDER BY date DESC, id DESC LIMIT ? OFFSET ?",
            [*folder_ids, _NEWEST_CHUNK, offset],
        ).fetchall()
        offset += len(chunk)
        by_account: dict[str, dict[str, int]] = {}
        for row_id, message_id, folder_id in chunk:
            by_account.setdefault(account_of[folder_id], {})[message_key(message_id, row_id)] = (
                row_id
            )
        found: dict[tuple[str, str], int] = {}
        for account, keys in by_account.items():
            for key, thread in db.execute(
                "SELECT message_id, thread FROM thread_nodes WHERE account = ? AND "
                "message_id IN (SELECT value FROM json_each(?))",
                (account, json.dumps(list(keys))),
            ):
                found[(account, key)] = thread
        for row_id, message_id, folder_id in chunk:
            if len(seen) + len(alone) >= count:
                break
            key = message_key(message_id, row_id)
            thread = found.get((account_of[folder_id], key))
            if thread is None:
                alone.append(row_id)
                continue
            if key != _looked_for(message_id, row_id):
                odd.append(row_id)
            if thread not in seen:
                seen.add(thread)
                threads.setdefault(account_of[folder_id], []).append(thread)
        if len(chunk) < _NEWEST_CHUNK:
            break
    named: list[str] = []
    numbered: list[int] = []
    for account, numbers in threads.items():
        for (key,) in db.execute(
            "SELECT message_id FROM thread_nodes WHERE account = ? AND "
            f"thread IN ({', '.join('?' * len(numbers))})",
            [account, *numbers],
        ):
            if key.startswith("#"):
                numbered.extend([int(key[1:])] if key[1:].isdigit() else [])
            else:
                named.append(key)
    wanted = seen | {-row_id for row_id in alone}
    return _arrange(db, folder_ids, _Only(wanted, named, [*numbered, *alone, *odd]))


# Every listed message with its thread node, the threads newest first, each thread's
# messages oldest first: SQLite groups the whole folder (its sorter spills to a temporary
# file), so that only one thread at a time is arranged here. The node is looked for by the
# Message-ID as stored (_looked_for), and a message that no node was found for comes with
# its Message-ID, for message_key() to name its node: "<a@b> (comment)" is found as
# "<a@b>". The threads of those found so come in :fixed (JSON: id -> thread).
_THREAD = "coalesce(n.thread, json_extract(:fixed, '$.\"' || m.id || '\"'), -m.id)"
_GROUPED = f"""
SELECT id, unread, account, key, parent, thread, message_id FROM (
    SELECT m.id AS id, coalesce(m.date, 0) AS date, m.seen = 0 AS unread, f.account AS account,
        n.message_id AS key, n.parent AS parent,
        CASE WHEN n.thread IS NULL THEN m.message_id END AS message_id,
        {_THREAD} AS thread,
        max(coalesce(m.date, 0)) OVER (PARTITION BY {_THREAD}) AS newest
    -- By date: the rows are read in the table's order, not scattered as by another index.
    FROM messages m INDEXED BY messages_by_date JOIN folders f ON f.id = m.folder_id
    LEFT JOIN thread_nodes n ON n.account = f.account AND n.message_id =
        CASE WHEN m.message_id GLOB '<*>' THEN m.message_id ELSE '#' || m.id END
    WHERE m.folder_id IN ({{folders}}) AND m.hidden = 0 {{only}}
) ORDER BY newest DESC, thread, date, id
"""


def _looked_for(message_id: str, row_id: int) -> str:
    """The node name _GROUPED looks for (message_key() itself, for a usual Message-ID)."""
    return message_id if message_id[:1] == "<" and message_id[-1:] == ">" else f"#{row_id}"


class _Only(NamedTuple):
    """Some threads of the folders: their numbers (a message alone: minus its id), and
    the messages that may be in them, by Message-ID and by id."""

    threads: set[int]
    message_ids: list[str]
    ids: list[int]


class _Row(NamedTuple):
    id: int
    unread: int
    account: str
    key: str | None  # the node's name, or for a message without a node its message_key()
    parent: str | None
    thread: int
    message_id: str | None  # without a node found: the Message-ID as stored


class _Columns(NamedTuple):
    ids: array[int]
    threads: array[int]
    depths: array[int]
    unread: array[int]


def _arrange(
    db: sqlite3.Connection, folder_ids: Sequence[int], only: _Only | None = None
) -> ThreadedList:
    """The messages of ``folder_ids`` (of the threads ``only`` names, if given) as
    ordered threads."""
    params: dict[str, object] = {f"f{n}": folder for n, folder in enumerate(folder_ids)}
    restriction = ""
    if only is not None:
        # On the message alone, before its node is looked up: a look-up for every message
        # of a big folder would take longer than the first screenful may.
        restriction = (
            "AND (m.message_id IN (SELECT value FROM json_each(:message_ids)) "
            "OR m.id IN (SELECT value FROM json_each(:ids)))"
        )
        params.update(message_ids=json.dumps(only.message_ids), ids=json.dumps(only.ids))
    sql = _GROUPED.format(
        folders=", ".join(f":f{n}" for n in range(len(folder_ids))), only=restriction
    )
    fixed: dict[int, tuple[str, str | None, int]] = {}  # id -> key, parent, thread
    while True:
        params["fixed"] = json.dumps({str(i): thread for i, (_, _, thread) in fixed.items()})
        placed = _Columns(array("q"), array("q"), array("i"), array("b"))
        misplaced: dict[int, tuple[str, str | None, int]] = {}
        thread: list[_Row] = []
        for values in db.execute(sql, params):
            row = _Row(*values)
            if row.key is None:
                row = _found(db, row, fixed, misplaced)
            if only is not None and row.thread not in only.threads:
                continue  # another account's copy of a Message-ID, say
            if thread and thread[0].thread != row.thread:
                _place_thread(db, thread, placed)
                thread = []
            thread.append(row)
        if thread:
            _place_thread(db, thread, placed)
        if not misplaced:
            return ThreadedList(*placed)
        # Rare: read again with their threads, so that SQLite groups them where they belong.
        fixed.update(misplaced)


def _found(
    db: sqlite3.Connection,
    row: _Row,
    fixed: dict[int, tuple[str, str | None, int]],
    misplaced: dict[int, tuple[str, str | None, int]],
) -> _Row:
    """``row``, which no node was found for by its Message-ID as stored, with its
    message_key() and the node of that, if there is one."""
    if row.id in fixed:
        key, parent, thread = fixed[row.id]
        return row._replace(key=key, parent=parent, thread=thread)
    stored = row.message_id or ""
    key = message_key(stored, row.id)
    if key != _looked_for(stored, row.id):
        node = db.execute(
            "SELECT parent, thread FROM thread_nodes WHERE account = ? AND message_id = ?",
            (row.account, key),
        ).fetchone()
        if node is not None:
            misplaced[row.id] = (key, node[0], node[1])
    return row._replace(key=key)


def _place_thread(db: sqlite3.Connection, rows: list[_Row], placed: _Columns) -> None:
    """Append one thread's rows (oldest first) to ``placed``: replies under what they
    answer, oldest first, and the roots oldest first."""
    if len(rows) == 1:  # most threads: no replies to place
        placed.ids.append(rows[0].id)
        placed.threads.append(rows[0].thread)
        placed.depths.append(0)
        placed.unread.append(1 if rows[0].unread else 0)
        return
    # The first listed message of a Message-ID holds its replies; a copy is a leaf.
    owner: dict[str | None, int] = {}
    for row in rows:
        owner.setdefault(row.key, row.id)
    above: dict[str, str | None] = {}  # the parents of nodes not listed, as looked up

    def listed_ancestor(account: str, parent: str | None) -> str | None:
        for _ in range(1000):
            if parent is None or parent in owner:
                return parent
            if parent not in above:
                node = db.execute(
                    "SELECT parent FROM thread_nodes WHERE account = ? AND message_id = ?",
                    (account, parent),
                ).fetchone()
                above[parent] = node[0] if node is not None else None
            parent = above[parent]
        return None

    children: dict[str, list[_Row]] = {}
    roots: list[_Row] = []
    for row in rows:
        parent = listed_ancestor(row.account, row.parent)
        if parent is None:
            roots.append(row)
        else:
            children.setdefault(parent, []).append(row)
    for root in roots:
        stack = [(root, 0)]
        while stack:
            current, depth = stack.pop()
            placed.ids.append(current.id)
            placed.threads.append(current.thread)
            placed.depths.append(depth)
            placed.unread.append(1 if current.unread else 0)
            if owner[current.key] == current.id and current.key in children:
                stack.extend((r, depth + 1) for r in reversed(children[current.key]))


def conversation(db: sqlite3.Connection, row_id: int) -> list[int]:
    """The messages of the thread of message ``row_id`` in every folder of its account,
    oldest first, one for each Message-ID.

    Junk and Trash are left out unless ``row_id`` is there: anyone can send a message
    with the Message-ID of another, and spam reusing one must not stand for the real
    message. Of the copies of one Message-ID the one chosen is ``row_id`` itself, else one
    outside Junk and Trash, else one whose body is stored here, else one in the folder
    opened."""
    found = db.execute(
        "SELECT f.account, m.message_id, m.folder_id "
        "FROM messages m JOIN folders f ON f.id = m.folder_id WHERE m.id = ?",
        (row_id,),
    ).fetchone()
    if found is None:
        return []
    account, key, opened = found[0], message_key(found[1], row_id), found[2]
    node = db.execute(
        "SELECT thread FROM thread_nodes WHERE account = ? AND message_id = ?", (account, key)
    ).fetchone()
    if node is None:
        return [row_id]
    keys = [
        r[0]
        for r in db.execute(
            "SELECT message_id FROM thread_nodes WHERE account = ? AND thread = ?",
            (account, node[0]),
        )
    ]
    named = [k for k in keys if not k.startswith("#")]
    numbered = [int(k[1:]) for k in keys if k.startswith("#") and k[1:].isdigit()]
    rows = db.execute(
        "SELECT m.id, m.message_id, m.folder_id, "
        "coalesce(f.special_use IN (?, ?), 0), "
        "EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id) "
        "FROM messages m JOIN folders f ON f.id = m.folder_id "
        "WHERE f.account = ? AND m.hidden = 0 AND (m.message_id IN "
        "(SELECT value FROM json_each(?)) OR m.id IN (SELECT value FROM json_each(?))) "
        "ORDER BY m.date, m.id",
        (
            str(SpecialUse.JUNK),
            str(SpecialUse.TRASH),
            account,
            json.dumps(named),
            json.dumps(numbered),
        ),
    ).fetchall()
    rows = [r for r in rows if not r[3] or r[2] == opened]
    chosen: dict[str, tuple[tuple[bool, bool, bool, bool], int]] = {}
    for message_row, message_id, folder_id, set_aside, has_body in rows:
        rank = (message_row == row_id, not set_aside, bool(has_body), folder_id == opened)
        copy_key = message_key(message_id, message_row)
        if copy_key not in chosen or rank > chosen[copy_key][0]:
            chosen[copy_key] = (rank, message_row)
    # In the order of the first copy of each: the date order of the conversation.
    order = {message_key(r[1], r[0]): n for n, r in reversed(list(enumerate(rows)))}
    return [chosen[k][1] for k in sorted(chosen, key=order.__getitem__)]
