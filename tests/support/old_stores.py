"""Messages written into a store as an older version of the application wrote them.

A test of a migration opens a store with the migrations of that version only
(``schema.MIGRATIONS[:n]``); the store's methods of today may write columns a later
migration adds, so the messages of such a store are written here instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from mailclient.core.models import SEEN
from mailclient.store.mail import MailStore, NewMessage, flags_text

# The columns of messages since the first schema (store/schema.py, MAIL_TABLES).
_INSERT = """
INSERT INTO messages (folder_id, uid, flags, seen, size, internal_date, date, sender,
                      recipients, cc, subject, message_id, in_reply_to, refs,
                      has_attachments)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def add_old_messages(store: MailStore, folder_id: int, messages: Sequence[NewMessage]) -> None:
    """Store ``messages`` in the folder with the columns every version had."""
    with store._db as db:  # its connection knows the SQL functions the indexes call
        db.executemany(
            _INSERT,
            (
                (
                    folder_id,
                    m.uid,
                    flags_text(m.flags),
                    SEEN in m.flags,
                    m.size,
                    m.internal_date,
                    m.date if m.date is not None else m.internal_date,
                    m.sender,
                    m.recipients,
                    m.cc,
                    m.subject,
                    m.message_id,
                    m.in_reply_to,
                    m.references,
                    m.has_attachments,
                )
                for m in messages
            ),
        )
