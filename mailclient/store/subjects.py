"""The subject as the message list sorts it: without reply and forward prefixes.

Thunderbird sorts "Re: Lunch", "AW: Lunch" and "Lunch" together; so does the store, by an
index on ``mail_subject_key(subject)`` (schema migration 9), computed as each message is
stored, so a sort by subject reads the index and never calls the function per row.
"""

from __future__ import annotations

import re
import sqlite3

# Reply and forward prefixes in the languages Thunderbird knows them in (its
# mailnews.localizedRe list and the forwards beside it): Re, Fwd/Fw, German AW/WG,
# Scandinavian SV/VS, Dutch Antw. A count may follow ("Re[2]:", "Re^2:"); a full-width
# colon ends Chinese and Japanese ones. Repeated prefixes all go.
_PREFIXES = re.compile(
    r"^(?:\s*(?:re|fwd?|aw|wg|sv|vs|antw)(?:\s*\[\d+\]|\^\d+)?\s*[:\uff1a])+\s*",
    re.IGNORECASE,
)


def subject_sort_key(subject: str) -> str:
    """The subject without its prefixes, casefolded: what the subject sort compares."""
    return _PREFIXES.sub("", subject).strip().casefold()


def _sql_key(value: str | None) -> str | None:
    return subject_sort_key(value) if isinstance(value, str) else value


def register_functions(db: sqlite3.Connection) -> None:
    """Make ``mail_subject_key`` known to ``db``: the subject index calls it on every write."""
    db.create_function("mail_subject_key", 1, _sql_key, deterministic=True)
