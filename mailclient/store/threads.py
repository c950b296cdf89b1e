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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from mailclient.core.models import SpecialUse

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
    count, last = db.execute(
        "SELECT count(*), max(id) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
        (up_to, limit),
    ).fetchone()
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


def threaded(
    db: sqlite3.Connection, folder_ids: Sequence[int], first_threads: int | None = None
) -> list[ThreadedMessage]:
    """The visible messages of ``folder_ids`` as threads, newest thread first.

    Within a thread, replies follow what they answer, oldest first. A reply whose
    parent is not among the listed messages (missing, or in another folder) hangs under
    its nearest listed ancestor. ``first_threads``: only the newest this many threads,
    read without going through the whole folder (the first screenful of the list).
    """
    if not folder_ids:
        return []
    if first_threads is not None:
        return _first_threads(db, folder_ids, first_threads)
    marks = ", ".join("?" * len(folder_ids))
    rows = db.execute(
        "SELECT m.id, coalesce(m.date, 0), m.message_id, f.account, m.seen = 0 "
        "FROM messages m JOIN folders f ON f.id = m.folder_id "
        f"WHERE m.folder_id IN ({marks}) AND m.hidden = 0 ORDER BY m.date, m.id",
        list(folder_ids),
    ).fetchall()
    nodes: dict[tuple[str, str], tuple[str | None, int]] = {}
    for account in {r[3] for r in rows}:
        for key, parent, thread in db.execute(
            "SELECT message_id, parent, thread FROM thread_nodes WHERE account = ?", (account,)
        ):
            nodes[(account, key)] = (parent, thread)
    return _arrange(rows, nodes)


_NEWEST_CHUNK = 200


def _first_threads(
    db: sqlite3.Connection, folder_ids: Sequence[int], count: int
) -> list[ThreadedMessage]:
    """The newest ``count`` threads of ``folder_ids``: the messages are walked newest first
    until that many threads are seen, then those threads are read whole."""
    marks = ", ".join("?" * len(folder_ids))
    account_of = dict(
        db.execute(f"SELECT id, account FROM folders WHERE id IN ({marks})", list(folder_ids))
    )
    threads: dict[str, list[int]] = {}  # account -> threads, newest first
    alone: list[int] = []  # messages not threaded yet: each a thread of its own
    seen: set[tuple[str, int]] = set()
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
            account = account_of[folder_id]
            thread = found.get((account, message_key(message_id, row_id)))
            if thread is None:
                alone.append(row_id)
            elif (account, thread) not in seen:
                seen.add((account, thread))
                threads.setdefault(account, []).append(thread)
        if len(chunk) < _NEWEST_CHUNK:
            break
    nodes: dict[tuple[str, str], tuple[str | None, int]] = {}
    keys_wanted: list[str] = []
    for account, numbers in threads.items():
        for key, parent, thread in db.execute(
            "SELECT message_id, parent, thread FROM thread_nodes WHERE account = ? AND "
            f"thread IN ({', '.join('?' * len(numbers))})",
            [account, *numbers],
        ):
            nodes[(account, key)] = (parent, thread)
            keys_wanted.append(key)
    named = [k for k in keys_wanted if not k.startswith("#")]
    numbered = [int(k[1:]) for k in keys_wanted if k.startswith("#") and k[1:].isdigit()]
    rows = db.execute(
        "SELECT m.id, coalesce(m.date, 0), m.message_id, f.account, m.seen = 0 "
        "FROM messages m JOIN folders f ON f.id = m.folder_id "
        f"WHERE m.folder_id IN ({marks}) AND m.hidden = 0 AND (m.message_id IN "
        "(SELECT value FROM json_each(?)) OR m.id IN (SELECT value FROM json_each(?))) "
        "ORDER BY m.date, m.id",
        [*folder_ids, json.dumps(named), json.dumps(numbered + alone)],
    ).fetchall()
    return _arrange(rows, nodes)


def _arrange(
    rows: Sequence[Sequence[Any]], nodes: dict[tuple[str, str], tuple[str | None, int]]
) -> list[ThreadedMessage]:
    """Rows (id, date, Message-ID, account, unread), oldest first, as ordered threads."""
    # The first listed message of a Message-ID holds its replies; a copy is a leaf.
    keyed = [(r[0], r[1], (r[3], message_key(r[2], r[0]))) for r in rows]
    unread = {r[0] for r in rows if r[4]}
    owner: dict[tuple[str, str], int] = {}
    for row_id, _, key in keyed:
        owner.setdefault(key, row_id)

    def listed_ancestor(account: str, parent: str | None) -> str | None:
        for _ in range(1000):
            if parent is None or (account, parent) in owner:
                return parent
            node = nodes.get((account, parent))
            parent = node[0] if node is not None else None
        return None

    children: dict[tuple[str, str], list[int]] = {}
    roots: list[int] = []
    thread_of: dict[int, int] = {}
    key_of: dict[int, tuple[str, str]] = {}
    newest: dict[int, int] = {}
    date_of: dict[int, int] = {}
    for row_id, date, key in keyed:
        node = nodes.get(key)
        if node is None:  # not threaded yet (it is, with the next stored batch): alone
            thread, above = -row_id, None
        else:
            thread = node[1]
            parent = node[0]
            above = (
                parent
                if parent is None or (key[0], parent) in owner
                else (listed_ancestor(key[0], parent))
            )
        if above is None:
            roots.append(row_id)
        else:
            children.setdefault((key[0], above), []).append(row_id)
        thread_of[row_id] = thread
        key_of[row_id] = key
        date_of[row_id] = date
        # Rows come oldest first: the last one seen of a thread is its newest.
        newest[thread] = date
    roots.sort(key=lambda r: (-newest[thread_of[r]], thread_of[r], date_of[r], r))
    ordered: list[ThreadedMessage] = []
    for root in roots:
        stack = [(root, 0)]
        while stack:
            current, depth = stack.pop()
            ordered.append(ThreadedMessage(current, thread_of[current], depth, current in unread))
            if owner[key_of[current]] == current:
                below = children.get(key_of[current], [])
                stack.extend((r, depth + 1) for r in reversed(below))
    return ordered


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
