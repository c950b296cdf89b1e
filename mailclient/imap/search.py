"""The search language as IMAP SEARCH on the server, for mail whose bodies are not stored here.

Only the text terms go to the server (RFC 3501 §6.4.4: FROM, TO, CC, SUBJECT, BODY, TEXT,
with NOT); flags, dates, attachments, folders and accounts are known locally and applied
by the store to the UIDs the server returns (MailStore.search with ``server_hits``).
Values travel as IMAP strings under CHARSET UTF-8, quoted or as literals, never as
criteria syntax.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from mailclient.core.models import Folder
from mailclient.core.query import Field, Query, Term
from mailclient.imap.client import ImapSession
from mailclient.imap.sync import AccountSync
from mailclient.store.mail import MailStore

log = logging.getLogger(__name__)

_KEYS = {
    Field.TEXT: "TEXT",
    Field.FROM: "FROM",
    Field.CC: "CC",
    Field.SUBJECT: "SUBJECT",
    Field.BODY: "BODY",
    # IMAP has no key for attachment names; they are in the MIME headers TEXT searches.
    Field.FILENAME: "TEXT",
}
# An IMAP string holds no CR, LF or NUL (RFC 3501 §4.3); other controls help no search.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def _key(term: Term) -> list[str]:
    value = _CONTROLS.sub(" ", term.value).strip() or " "
    if term.field is Field.TO:
        # to: is To or Cc, as in the local index.
        found = ["OR", "TO", value, "CC", value]
    else:
        found = [_KEYS[term.field], value]
    return ["NOT", *found] if term.negated else found


def imap_criteria(query: Query) -> list[str] | None:
    """The SEARCH criteria for the text terms of ``query``; None when it has none."""
    terms = query.text_terms
    if not terms:
        return None
    return [word for term in terms for word in _key(term)]


def server_hits(
    session: ImapSession, store: MailStore, folders: Sequence[Folder], query: Query
) -> dict[int, list[int]]:
    """Folder id -> UIDs the server finds for the text terms of ``query``.

    Folders whose UIDVALIDITY differs from the store's are left out: their UIDs would
    name other messages until the next sync.
    """
    criteria = imap_criteria(query)
    hits: dict[int, list[int]] = {}
    if criteria is None:
        return hits
    for folder in folders:
        status = session.select(folder.name, readonly=True)
        if status.uidvalidity != store.sync_state(folder.id).uidvalidity:
            log.info("%s: not searched on the server until it is synced again", folder.name)
            continue
        hits[folder.id] = session.search_text(criteria)
    return hits


def search_account(
    engine: AccountSync, folders: Sequence[Folder], query: Query
) -> dict[int, list[int]]:
    """server_hits() on the engine's connection, reconnecting once it dropped."""
    return engine.retrying(lambda: server_hits(engine.session, engine.store, folders, query))
