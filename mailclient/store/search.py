"""Full-text search of the stored mail: the FTS5 index and queries in the search language.

The index ``message_text`` has one row per message (its rowid is the message's id) with
the sender, the To and Cc recipients, the subject, the attachment file names, the body
text and, apart, the quoted lines of the body (so that ``body:`` can find both while a
later ranking may weigh them lower). It keeps no copy of that text: FTS5 reads it from
the view ``message_text_source`` (see TEXT_FROM_MESSAGES), header text made from the
message's row as it is read, body text from ``body_text``. The index is kept current in
the same transaction as every write: index_new_messages() after each stored batch of
new messages (after a big first fill, once at its end: MailStore.restore_sort_indexes),
triggers for header updates and deletes (a move keeps the row id, so its text moves
with it; removing a folder or an account deletes its messages and so their text).
A stored body enters ``body_index_queue`` by trigger in the transaction that saved it;
index_queued_bodies() turns queued bodies into text in batches (MIME parsing is work the
store leaves to its caller, who passes the converter), so a migrated store or a big
download never blocks anyone.

Tokenizer: ``unicode61 remove_diacritics 2`` on text prepared by mailclient.store.tokens
(casefolded, marks dropped for every script, CJK runs written as overlapping pairs); see
there for why. The SQL function ``mail_index_text`` (registered on every connection by
mailclient.store.db) is how header text is prepared inside SQL.

Queries: parse_query() gives terms; find() turns them into one SQL statement whose every
user-given value is a bound parameter, and whose FTS5 expression quotes every value as an
FTS5 string (a ``"`` doubled), so neither SQL nor FTS5 syntax typed by the user is
interpreted. Free words also match as the start of a longer word (``invoice`` finds
``invoices``); quoted phrases match whole words in order.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from mailclient.core.models import ANSWERED, FLAGGED
from mailclient.core.query import Field, Flag, Query, Term
from mailclient.store.rows import next_messages
from mailclient.store.tokens import index_text, search_text

SCHEMA = """
CREATE VIRTUAL TABLE message_text USING fts5 (
    sender, recipients, cc, subject, filenames, body, quoted,
    tokenize = 'unicode61 remove_diacritics 2',
    columnsize = 0
);

-- Looking up the messages a word was found in, by id, in this narrow index instead of
-- the wide table: 15 ms instead of 50 for 20,000 hits. Ids only grow, so it is only
-- ever appended to.
CREATE INDEX messages_for_search ON messages (id, folder_id, hidden, date, seen, has_attachments);

-- Messages are stored with ever higher ids: those above indexed_up_to are not indexed yet.
CREATE TABLE search_state (indexed_up_to INTEGER NOT NULL);

CREATE TRIGGER messages_reindexed AFTER UPDATE OF sender, recipients, cc, subject ON messages
WHEN OLD.sender IS NOT NEW.sender OR OLD.recipients IS NOT NEW.recipients
    OR OLD.cc IS NOT NEW.cc OR OLD.subject IS NOT NEW.subject
BEGIN
    UPDATE message_text SET sender = mail_index_text(NEW.sender),
        recipients = mail_index_text(NEW.recipients), cc = mail_index_text(NEW.cc),
        subject = mail_index_text(NEW.subject)
    WHERE rowid = NEW.id;
END;

CREATE TRIGGER messages_unindexed AFTER DELETE ON messages
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

CREATE TABLE body_index_queue (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE
);

CREATE TRIGGER bodies_queued AFTER INSERT ON bodies
BEGIN
    INSERT OR IGNORE INTO body_index_queue (message_id) VALUES (NEW.message_id);
END;

INSERT INTO message_text (rowid, sender, recipients, cc, subject)
SELECT id, mail_index_text(sender), mail_index_text(recipients), mail_index_text(cc),
       mail_index_text(subject)
FROM messages;
INSERT INTO search_state (indexed_up_to) SELECT coalesce(max(id), 0) FROM messages;

INSERT INTO body_index_queue (message_id) SELECT message_id FROM bodies;
"""

# 15: the index keeps no copy of the text it indexes (an FTS5 table with external
# content): a copy of every header was half of what FTS5 wrote in a first sync. It reads a
# message's text from message_text_source when the message enters the index, and again
# when it leaves, to know which words to take out; so a message leaves the index before
# its text changes (BEFORE triggers, or store_texts()) and enters it again after. The
# header text is made from the message's row: an ASCII value, most of them, as it is,
# without a call into Python; any other through mail_index_text(), which every
# connection registers (mailclient.store.db) and which must give the text it gave when
# the message entered: a change to mailclient.store.tokens needs a migration that
# rebuilds the index. The body text, which took MIME parsing to make, is kept in
# body_text. Messages above search_state.indexed_up_to are not in the index yet: they
# neither leave it nor enter it before index_new_messages() takes them in.
TEXT_FROM_MESSAGES = """
CREATE TABLE body_text (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    filenames TEXT NOT NULL,
    body TEXT NOT NULL,
    quoted TEXT NOT NULL
);
INSERT INTO body_text (message_id, filenames, body, quoted)
SELECT rowid, coalesce(filenames, ''), body, coalesce(quoted, '') FROM message_text
WHERE body IS NOT NULL AND rowid IN (SELECT id FROM messages);

DROP TRIGGER messages_reindexed;
DROP TRIGGER messages_unindexed;
DROP TABLE message_text;

CREATE VIEW message_text_source AS
SELECT m.id,
    CASE WHEN length(m.sender) = length(CAST(m.sender AS BLOB)) THEN m.sender
        ELSE mail_index_text(m.sender) END AS sender,
    CASE WHEN length(m.recipients) = length(CAST(m.recipients AS BLOB)) THEN m.recipients
        ELSE mail_index_text(m.recipients) END AS recipients,
    CASE WHEN length(m.cc) = length(CAST(m.cc AS BLOB)) THEN m.cc
        ELSE mail_index_text(m.cc) END AS cc,
    CASE WHEN length(m.subject) = length(CAST(m.subject AS BLOB)) THEN m.subject
        ELSE mail_index_text(m.subject) END AS subject,
    b.filenames, b.body, b.quoted
FROM messages m LEFT JOIN body_text b ON b.message_id = m.id;

CREATE VIRTUAL TABLE message_text USING fts5 (
    sender, recipients, cc, subject, filenames, body, quoted,
    tokenize = 'unicode61 remove_diacritics 2',
    columnsize = 0,
    content = 'message_text_source',
    content_rowid = 'id'
);

CREATE TRIGGER messages_unindexed BEFORE DELETE ON messages
WHEN OLD.id <= (SELECT indexed_up_to FROM search_state)
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

CREATE TRIGGER messages_reindexing BEFORE UPDATE OF sender, recipients, cc, subject ON messages
WHEN (OLD.sender IS NOT NEW.sender OR OLD.recipients IS NOT NEW.recipients
    OR OLD.cc IS NOT NEW.cc OR OLD.subject IS NOT NEW.subject)
    AND OLD.id <= (SELECT indexed_up_to FROM search_state)
BEGIN
    DELETE FROM message_text WHERE rowid = OLD.id;
END;

CREATE TRIGGER messages_reindexed AFTER UPDATE OF sender, recipients, cc, subject ON messages
WHEN (OLD.sender IS NOT NEW.sender OR OLD.recipients IS NOT NEW.recipients
    OR OLD.cc IS NOT NEW.cc OR OLD.subject IS NOT NEW.subject)
    AND NEW.id <= (SELECT indexed_up_to FROM search_state)
BEGIN
    INSERT INTO message_text (rowid, sender, recipients, cc, subject, filenames, body, quoted)
    SELECT id, sender, recipients, cc, subject, filenames, body, quoted
    FROM message_text_source WHERE id = NEW.id;
END;

INSERT INTO message_text (rowid, sender, recipients, cc, subject, filenames, body, quoted)
SELECT id, sender, recipients, cc, subject, filenames, body, quoted
FROM message_text_source WHERE id <= (SELECT indexed_up_to FROM search_state);
"""

# The narrow index above, by name and definition (MailStore builds it after a big first fill).
LOOKUP_INDEX = "messages_for_search"
LOOKUP_COLUMNS = "messages (id, folder_id, hidden, date, seen, has_attachments)"

# The index's columns, as message_text_source gives them.
_TEXT = "sender, recipients, cc, subject, filenames, body, quoted"

# What a body becomes in the index: its text, its quoted lines, its attachments' names.
BodyText = tuple[str, str, str]
# Text beyond this is not indexed: a megabyte is a book, not a letter.
MAX_TEXT = 1_000_000

_COLUMNS = {
    Field.TEXT: "",
    Field.FROM: "{sender}",
    Field.TO: "{recipients cc}",
    Field.CC: "{cc}",
    Field.SUBJECT: "{subject}",
    Field.BODY: "{body quoted}",
    Field.FILENAME: "{filenames}",
}


def register_functions(db: sqlite3.Connection) -> None:
    """Make the SQL functions the index's source calls known to ``db``."""
    db.create_function("mail_index_text", 1, _index_value, deterministic=True)


def _index_value(value: str | None) -> str | None:
    if not isinstance(value, str) or value.isascii():
        return value
    return _header_text(value)


# Senders and recipients repeat from message to message (the owner's address, a list's),
# and so do the subjects of a thread: each distinct header value is prepared once.
_header_text = functools.lru_cache(maxsize=4096)(index_text)


def index_new_messages(db: sqlite3.Connection, limit: int = -1) -> int:
    """Index the messages stored since the last call: their headers, and the text of a
    body indexed meanwhile (in the caller's transaction: MailStore.add_messages calls it
    after each batch); ``limit``: only the first this many of them (by id). Returns how
    many.

    One INSERT ... SELECT per batch rather than a trigger per row: FTS5 writes its
    pending terms out at every statement boundary, which a trigger makes one per
    message, doubling the time a sync spends storing headers.
    """
    (up_to,) = db.execute("SELECT indexed_up_to FROM search_state").fetchone()
    count, last = next_messages(db, up_to, limit)
    if not count:
        return 0
    db.execute(
        f"INSERT INTO message_text (rowid, {_TEXT}) "
        f"SELECT id, {_TEXT} FROM message_text_source WHERE id > ? AND id <= ?",
        (up_to, last),
    )
    db.execute("UPDATE search_state SET indexed_up_to = ?", (last,))
    return int(count)


def fts_string(term: Term) -> str:
    """The FTS5 expression for one text term: always a quoted string, never syntax."""
    text = search_text(term.value).replace('"', '""')
    phrase = f'"{text}"' if term.phrase else f'"{text}"*'
    columns = _COLUMNS[term.field]
    return f"{columns} : {phrase}" if columns else phrase


def fts_expression(terms: Sequence[Term], any_of: bool = False) -> str:
    """One FTS5 expression: all of ``terms`` (or any of them)."""
    return (" OR " if any_of else " AND ").join(f"({fts_string(t)})" for t in terms)


def _local_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp())


def _flag_condition(value: str) -> tuple[str, list[Any]]:
    flag = Flag(value)
    if flag is Flag.UNREAD:
        return "m.seen = 0", []
    if flag is Flag.READ:
        return "m.seen = 1", []
    name = FLAGGED if flag is Flag.FLAGGED else ANSWERED
    return "instr(' ' || m.flags || ' ', ?) > 0", [f" {name} "]


def _condition(term: Term) -> tuple[str, list[Any]]:
    """SQL for a term that is not text; the caller negates it."""
    if term.field is Field.HAS:
        return "m.has_attachments = 1", []
    if term.field is Field.IS:
        return _flag_condition(term.value)
    if term.field is Field.BEFORE:
        return "m.date < ?", [_local_midnight(term.day)]
    if term.field is Field.AFTER:
        # after:D includes D, as Gmail's after:D before:D+2 shows two days.
        return "m.date >= ?", [_local_midnight(term.day)]
    if term.field is Field.FOLDER:
        return "f.name = ? COLLATE NOCASE", [term.value]
    if term.field is Field.ACCOUNT:
        return "f.account = ?", [term.value]
    raise ValueError(f"not a condition: {term.field}")


def matching(db: sqlite3.Connection, query: Query, folder_ids: Sequence[int]) -> set[int]:
    """Ids of messages matching ``query``, in no order: those of ``folder_ids`` and perhaps
    others (to filter a list of those folders' messages, as the quick filter does).

    A query of words only is answered by the index alone, without looking each hit up in
    ``messages``: 15 ms instead of 40 for 50,000 hits.
    """
    if query.terms and all(t.field in _COLUMNS and not t.negated for t in query.terms):
        rows = db.execute(
            "SELECT rowid FROM message_text WHERE message_text MATCH ?",
            (fts_expression(_findable(query.terms)),),
        )
        return {r[0] for r in rows}
    return set(find(db, query, folder_ids))


def _findable(terms: Sequence[Term]) -> Sequence[Term]:
    """A word without a letter or digit ("!!!", "--") has nothing to find: beside other
    words it is left out; alone it finds nothing."""
    return [t for t in terms if any(c.isalnum() for c in t.value)] or terms


def find(
    db: sqlite3.Connection,
    query: Query,
    folder_ids: Sequence[int] | None = None,
    limit: int | None = None,
    server_hits: Mapping[int, Sequence[int]] | None = None,
) -> list[int]:
    """Ids of the visible messages matching ``query``, newest first.

    ``folder_ids`` limits the search to those folders. With ``server_hits`` (folder id ->
    UIDs the server found for the query's text terms) the text terms are not looked up in
    the index: the messages must be among those hits and meet the query's other terms.
    """
    where = ["m.hidden = 0", "f.hidden = 0"]
    params: list[Any] = []
    if folder_ids is not None:
        if not folder_ids:
            return []
        where.append(f"m.folder_id IN ({', '.join('?' * len(folder_ids))})")
        params += folder_ids
    text = query.text_terms
    wanted = _findable([t for t in text if not t.negated])
    if server_hits is not None:
        pairs = [(f, u) for f, uids in server_hits.items() for u in uids]
        if not pairs:
            return []
        # json_each keeps the statement one size however many hits there are.
        where.append("(m.folder_id, m.uid) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))")
        params.append(_json_pairs(pairs))
    else:
        unwanted = [t for t in text if t.negated]
        if wanted:
            where.append("m.id IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)")
            params.append(fts_expression(wanted))
        if unwanted:
            where.append("m.id NOT IN (SELECT rowid FROM message_text WHERE message_text MATCH ?)")
            params.append(fts_expression(unwanted, any_of=True))
    for term in query.terms:
        if term.field in _COLUMNS:
            continue
        sql, values = _condition(term)
        where.append(f"NOT ({sql})" if term.negated else sql)
        params += values
    # With words to find, the planner looks each hit up by id: in the narrow index (when it
    # is there: a big first fill builds it at its end).
    narrow = server_hits is None and wanted and _has_index(db, LOOKUP_INDEX)
    hint = f"INDEXED BY {LOOKUP_INDEX}" if narrow else ""
    sql = (
        f"SELECT m.id FROM messages m {hint} JOIN folders f ON f.id = m.folder_id "
        f"WHERE {' AND '.join(where)} ORDER BY m.date DESC, m.id DESC"
    )
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [r[0] for r in db.execute(sql, params)]


def _has_index(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,))
    return found.fetchone() is not None


def _json_pairs(pairs: Sequence[tuple[int, int]]) -> str:
    return "[" + ",".join(f"[{int(f)},{int(u)}]" for f, u in pairs) + "]"


def folders_not_all_local(db: sqlite3.Connection, folder_ids: Sequence[int]) -> list[int]:
    """Those of ``folder_ids`` holding a message whose body is not stored here."""
    return [
        folder_id
        for folder_id in folder_ids
        if db.execute(
            "SELECT 1 FROM messages m WHERE m.folder_id = ? AND m.hidden = 0 "
            "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id) LIMIT 1",
            (folder_id,),
        ).fetchone()
    ]


def queued_bodies(db: sqlite3.Connection) -> int:
    """How many stored bodies wait to be indexed."""
    return int(db.execute("SELECT count(*) FROM body_index_queue").fetchone()[0])


def take_queued(db: sqlite3.Connection, limit: int) -> list[tuple[int, bytes]]:
    """Up to ``limit`` queued bodies (message id, raw), newest messages first."""
    rows = db.execute(
        "SELECT q.message_id, b.raw FROM body_index_queue q "
        "JOIN bodies b ON b.message_id = q.message_id "
        "ORDER BY q.message_id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [(r[0], bytes(r[1])) for r in rows]


def store_texts(db: sqlite3.Connection, texts: Sequence[tuple[int, BodyText]]) -> None:
    """Write converted bodies into the index and take them off the queue (in a transaction).

    The indexed messages leave the index while their body text changes (see
    TEXT_FROM_MESSAGES), all in one statement and back in another: FTS5 writes out what
    it has gathered at the end of every statement, and a statement per message would
    make as many small pieces of index to merge. A message not indexed yet enters the
    index with its body text, later; one deleted since its body was taken is passed over.
    """
    (up_to,) = db.execute("SELECT indexed_up_to FROM search_state").fetchone()
    indexed = json.dumps([id_ for id_, _ in texts if id_ <= up_to])
    db.execute(
        "DELETE FROM message_text WHERE rowid IN (SELECT value FROM json_each(?))", (indexed,)
    )
    db.executemany(
        "INSERT OR REPLACE INTO body_text (message_id, body, quoted, filenames) "
        "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ?)",
        (
            (
                id_,
                index_text(body[:MAX_TEXT]),
                index_text(quoted[:MAX_TEXT]),
                index_text(names),
                id_,
            )
            for id_, (body, quoted, names) in texts
        ),
    )
    db.execute(
        f"INSERT INTO message_text (rowid, {_TEXT}) SELECT id, {_TEXT} "
        "FROM message_text_source WHERE id IN (SELECT value FROM json_each(?))",
        (indexed,),
    )
    db.executemany(
        "DELETE FROM body_index_queue WHERE message_id = ?", ((id_,) for id_, _ in texts)
    )


_WANTED = (
    "FROM messages m JOIN folders f ON f.id = m.folder_id "
    "WHERE f.account = ? AND f.hidden = 0 AND m.hidden = 0 AND m.size <= ? "
    "AND (? IS NULL OR m.date >= ?) "
    "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.message_id = m.id)"
)


def bodies_wanted(
    db: sqlite3.Connection, account: str, since: int | None, max_size: int, limit: int
) -> list[tuple[int, int, int]]:
    """(id, folder id, UID) of messages of ``account`` without a stored body, newest first."""
    rows = db.execute(
        f"SELECT m.id, m.folder_id, m.uid {_WANTED} ORDER BY m.date DESC, m.id DESC LIMIT ?",
        (account, max_size, since, since, limit),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def bodies_waiting(db: sqlite3.Connection, account: str, since: int | None, max_size: int) -> int:
    """How many bodies bodies_wanted() still has to give."""
    return int(
        db.execute(f"SELECT count(*) {_WANTED}", (account, max_size, since, since)).fetchone()[0]
    )
