"""The store's schema, as an ordered list of SQL migrations.

Append new migrations; never edit one that has been released.
"""

from __future__ import annotations

from mailclient.store import search, threads

# 1: the mail cache. Folders of every account, message headers and flags, fetched bodies,
# and a change counter the window polls. Folder counts are kept by triggers so that the
# folder list never has to count a 100,000-message folder.
MAIL_TABLES = """
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    name TEXT NOT NULL,                  -- decoded text, not modified UTF-7
    delimiter TEXT,
    special_use TEXT,                    -- a SpecialUse value, or NULL
    subscribed INTEGER NOT NULL DEFAULT 1,
    selectable INTEGER NOT NULL DEFAULT 1,  -- 0 for \\Noselect and \\NonExistent
    hidden INTEGER NOT NULL DEFAULT 0,   -- 1 while a local delete waits for the server
    uidvalidity INTEGER,                 -- NULL until the first sync selected it
    uidnext INTEGER,                     -- NULL until one sync completed
    highestmodseq INTEGER,               -- NULL without CONDSTORE
    total INTEGER NOT NULL DEFAULT 0,    -- visible messages, kept by triggers
    unread INTEGER NOT NULL DEFAULT 0,   -- visible messages without \\Seen, kept by triggers
    changed_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, name)
);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: an id never names another message
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',      -- space-separated, sorted
    seen INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,   -- 1 while a local move or delete waits
    size INTEGER NOT NULL DEFAULT 0,
    internal_date INTEGER,               -- seconds since the epoch
    date INTEGER,                        -- the Date header, else the internal date
    sender TEXT NOT NULL DEFAULT '',
    recipients TEXT NOT NULL DEFAULT '',
    cc TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    message_id TEXT NOT NULL DEFAULT '',
    in_reply_to TEXT NOT NULL DEFAULT '',
    refs TEXT NOT NULL DEFAULT '',
    has_attachments INTEGER NOT NULL DEFAULT 0,
    search TEXT NOT NULL DEFAULT '',     -- casefolded sender and subject, for the quick filter
    UNIQUE (folder_id, uid)
);

CREATE INDEX messages_by_date ON messages (folder_id, hidden, date);

CREATE TABLE bodies (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    raw BLOB NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('changes', 0), ('folder_list', 0);

CREATE TRIGGER messages_counted_in AFTER INSERT ON messages WHEN NEW.hidden = 0
BEGIN
    UPDATE folders SET total = total + 1, unread = unread + (NEW.seen = 0)
    WHERE id = NEW.folder_id;
END;

CREATE TRIGGER messages_counted_out AFTER DELETE ON messages WHEN OLD.hidden = 0
BEGIN
    UPDATE folders SET total = total - 1, unread = unread - (OLD.seen = 0)
    WHERE id = OLD.folder_id;
END;

CREATE TRIGGER messages_recounted AFTER UPDATE OF seen, hidden, folder_id ON messages
WHEN OLD.seen IS NOT NEW.seen OR OLD.hidden IS NOT NEW.hidden
    OR OLD.folder_id IS NOT NEW.folder_id
BEGIN
    UPDATE folders SET total = total - (OLD.hidden = 0),
                       unread = unread - (OLD.hidden = 0 AND OLD.seen = 0)
    WHERE id = OLD.folder_id;
    UPDATE folders SET total = total + (NEW.hidden = 0),
                       unread = unread + (NEW.hidden = 0 AND NEW.seen = 0)
    WHERE id = NEW.folder_id;
END;
"""

# 2: the outbox, as it was until it moved to a file of its own (store/outbox.py): kept so
# that older profiles upgrade the same way; its rows are moved to the new file on its
# first opening, and the tables stay empty.
OUTBOX = """
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

# 3: local changes (flags, moves, deletes) the server has not confirmed yet, kept across
# restarts and replayed in order. A change names the messages it touches with their UID
# and flags before the change (to undo it if the server refuses). It names its folders by
# id: when the folder goes, so do the change (the source) or its destination (the target,
# then NULL: the move is refused and undone). The folder's UIDVALIDITY at the time guards
# against acting on a renumbered folder. Rows hidden before this table existed belong to
# no change any more: they are shown again.
PENDING_CHANGES = """
CREATE TABLE pending_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order the user made them in
    account TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- 'flags', 'move' or 'expunge'
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    uidvalidity INTEGER,                 -- the folder's, when the change was made
    target_folder_id INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    add_flags TEXT NOT NULL DEFAULT '',
    remove_flags TEXT NOT NULL DEFAULT '',
    claimed_until REAL                   -- a sender is at work on it until then (Unix time)
);

CREATE INDEX pending_changes_by_account ON pending_changes (account, id);
CREATE INDEX pending_changes_by_folder ON pending_changes (folder_id, kind);
CREATE INDEX pending_changes_by_target ON pending_changes (target_folder_id);

CREATE TABLE pending_messages (
    change_id INTEGER NOT NULL REFERENCES pending_changes (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    previous_flags TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (change_id, message_id)
) WITHOUT ROWID;

CREATE INDEX pending_messages_by_message ON pending_messages (message_id);

UPDATE messages SET hidden = 0 WHERE hidden = 1;
"""

# 4: the message list sorted by sender or by subject, read from an index instead of sorted
# on every read (250 ms for 100,000 messages without). The date in each lets ties break
# by date from the index too; the row id is in every index, so no table row is read.
SORT_INDEXES = """
CREATE INDEX messages_by_sender ON messages (folder_id, hidden, sender COLLATE NOCASE, date);
CREATE INDEX messages_by_subject ON messages (folder_id, hidden, subject COLLATE NOCASE, date);
"""

# 5: messages a server would not return although they exist (a FETCH that left them out
# even when asked again). The sync asks for them again each time and counts them as
# present, so that the folder neither looks complete without them nor looks changed.
UNFETCHED = """
CREATE TABLE IF NOT EXISTS unfetched (
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
"""

# 8: folder changes made here (create, rename, delete; later also subscribe and
# unsubscribe, which name the folder in old_name) that wait for the server, oldest
# first: made in the folders table at once, sent before the folder list is next read. The
# folder's row id stays across a rename; a create or delete that the server refuses is
# undone from old_name/new_name.
FOLDER_CHANGES = """
CREATE TABLE IF NOT EXISTS pending_folder_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- 'create', 'rename' or 'delete'
    folder_id INTEGER NOT NULL,
    old_name TEXT NOT NULL DEFAULT '',
    new_name TEXT NOT NULL DEFAULT ''
);

CREATE INDEX IF NOT EXISTS pending_folder_changes_by_account
    ON pending_folder_changes (account, id);
"""

# 9: the subject sort leaves out reply and forward prefixes ("Re:", "AW:", "Fwd:"), as
# Thunderbird's does: the index holds the key (store/subjects.py), computed as each row is
# written, so the sort reads it instead of working it out per row; the stored mail gets it
# here. A first fill that deferred the index may have left it missing.
SUBJECT_KEY = """
DROP INDEX IF EXISTS messages_by_subject;
CREATE INDEX messages_by_subject
    ON messages (folder_id, hidden, mail_subject_key(subject), date);
"""

# 10: the keywords (IMAP flags without a backslash, such as $label1 or "invoice") each
# account's folders allow or use: from SELECT's FLAGS and PERMANENTFLAGS and from the flags
# of stored messages, so that the tag menu offers them without reading every message. The
# stored mail's are gathered here.
KEYWORDS = """
CREATE TABLE IF NOT EXISTS keywords (
    account TEXT NOT NULL,
    keyword TEXT NOT NULL,
    PRIMARY KEY (account, keyword)
) WITHOUT ROWID;

WITH RECURSIVE split (account, word, rest) AS (
    SELECT DISTINCT f.account, '', m.flags || ' '
    FROM messages m JOIN folders f ON f.id = m.folder_id WHERE m.flags != ''
    UNION ALL
    SELECT account, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest != ''
)
INSERT OR IGNORE INTO keywords (account, keyword)
SELECT DISTINCT account, word FROM split WHERE word != '' AND substr(word, 1, 1) != '\\';
"""

# 11: messages copied or moved to a folder of another account, until that server has them
# (APPEND) and, for a move, this one deleted them. A moved message stays here, hidden, until
# then. ``state`` records how far it got, so that a crash or a cut connection neither loses
# the message nor appends it twice: 'appending' means an APPEND may have reached the server,
# which is then asked for the Message-ID before appending again.
TRANSFERS = """
CREATE TABLE IF NOT EXISTS pending_transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,               -- the source account: its worker sends it
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    uid INTEGER NOT NULL,
    uidvalidity INTEGER,                 -- the source folder's, when it was made
    target_folder_id INTEGER REFERENCES folders (id) ON DELETE SET NULL,
    copy INTEGER NOT NULL DEFAULT 0,     -- 1: the source message stays
    header_id TEXT NOT NULL DEFAULT '',  -- its Message-ID, to find an APPEND that got through
    state TEXT NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'appending', 'appended')),
    claimed_until REAL                   -- a sender is at work on it until then (Unix time)
);

CREATE INDEX IF NOT EXISTS pending_transfers_by_account ON pending_transfers (account, id);
CREATE INDEX IF NOT EXISTS pending_transfers_by_message ON pending_transfers (message_id);
"""

# 12: a folder change is sent by one sender at a time (the window's two lanes, the CLI):
# another one sending it again would be refused (the old name is gone) and undo it here.
FOLDER_CHANGE_CLAIMS = """
ALTER TABLE pending_folder_changes ADD COLUMN claimed_until REAL;  -- as in pending_changes
"""

# 13: the quick filter reads the full-text index; the casefolded copy of sender and subject
# that it searched before (MAIL_TABLES' ``search`` column) is written no more.
DROP_QUICK_FILTER_TEXT = """
ALTER TABLE messages DROP COLUMN search;
"""

# 14: a sender renews its claim on a transfer while it works on it (store/claims.py), and
# only the sender that claimed it may: the claim names it.
TRANSFER_CLAIM_SENDERS = """
ALTER TABLE pending_transfers ADD COLUMN claimed_by TEXT;
"""

# 16: whose attachments only the structure can tell (multipart/mixed may hold nothing but
# text): marked as its headers are stored, cleared when the structure came, so that a sync
# cut short between the two asks for it at the next one. The index holds only the marked.
STRUCTURE_WANTED = """
ALTER TABLE messages ADD COLUMN structure_wanted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_wanting_structure ON messages (folder_id, uid) WHERE structure_wanted = 1;
"""

# 1: MAIL_TABLES; 2: OUTBOX (the outbox has its own file now); 3: PENDING_CHANGES;
# 4: SORT_INDEXES; 5: UNFETCHED; 6: search.SCHEMA (the full-text index, filled for the
# stored mail); 7: threads.SCHEMA (conversations; the stored mail is threaded on first use);
# 8: FOLDER_CHANGES; 9: SUBJECT_KEY; 10: KEYWORDS; 11: TRANSFERS; 12: FOLDER_CHANGE_CLAIMS;
# 13: DROP_QUICK_FILTER_TEXT; 14: TRANSFER_CLAIM_SENDERS; 15: search.TEXT_FROM_MESSAGES (the
# index reads its text from the messages: rebuilt); 16: STRUCTURE_WANTED.
MIGRATIONS: list[str] = [
    MAIL_TABLES,
    OUTBOX,
    PENDING_CHANGES,
    SORT_INDEXES,
    UNFETCHED,
    search.SCHEMA,
    threads.SCHEMA,
    FOLDER_CHANGES,
    SUBJECT_KEY,
    KEYWORDS,
    TRANSFERS,
    FOLDER_CHANGE_CLAIMS,
    DROP_QUICK_FILTER_TEXT,
    TRANSFER_CLAIM_SENDERS,
    search.TEXT_FROM_MESSAGES,
    STRUCTURE_WANTED,
]
