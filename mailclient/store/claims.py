"""Claims that last as long as the sender holding them: renewed on a thread of their own.

A sender claims a waiting transfer for CLAIM_SECONDS (store/pending.py), so that one that
died lets go. No fixed time fits every APPEND: 25 MB on a slow line take longer, and the
other sender of the account would then take the transfer and append it a second time.
While the sender works, ``renewing`` extends its claim every quarter of that time, on a
connection of its own; a sender that died (its process killed, the computer off) renews
nothing, and its claim runs out as before.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mailclient.store import pending
from mailclient.store.db import StoreError, connect

log = logging.getLogger(__name__)

# Renews the claim on the connection given, at the time given; False once the claim is no
# longer the sender's (the work is done, or the claim ran out and another sender took it).
Renewal = Callable[[sqlite3.Connection, float], bool]


@contextmanager
def renewing(path: Path, renew: Renewal, what: str) -> Iterator[None]:
    """Keep a claim in the store at ``path`` while the body of the ``with`` runs."""
    stop = threading.Event()
    every = pending.CLAIM_SECONDS / 4
    thread = threading.Thread(
        target=_renew_until, args=(path, renew, every, stop, what), name="claim", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _renew_until(
    path: Path, renew: Renewal, every: float, stop: threading.Event, what: str
) -> None:
    try:
        db = connect(path)
    except StoreError as error:
        log.warning("The claim on %s cannot be renewed: %s", what, error)
        return
    try:
        while not stop.wait(every):
            try:
                db.execute("BEGIN IMMEDIATE")
                held = renew(db, time.time())
                db.execute("COMMIT")
            except sqlite3.Error as error:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                # Tried again next time: the claim lasts four times as long as a round.
                log.warning("The claim on %s was not renewed: %s", what, error)
                continue
            if not held:
                return
    finally:
        db.close()
