"""The store's schema, as an ordered list of SQL migrations.

Append new migrations; never edit one that has been released.
"""

from __future__ import annotations

from mailclient.store import outbox

MIGRATIONS: list[str] = [
    outbox.SCHEMA,
]
