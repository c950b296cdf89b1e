"""An account's data in a profile renamed with it: the mail cache, the outbox, the drafts."""

from __future__ import annotations

from pathlib import Path

from mailclient.store.drafts import LocalDrafts
from mailclient.store.mail import MailStore
from mailclient.store.outbox import Outbox


def rename_account_data(store_path: Path, drafts_dir: Path, old: str, new: str) -> None:
    """Let everything stored for account ``old`` belong to ``new``.

    The unsent messages first: they are what cannot be fetched again. Blocking: call it
    from a worker thread or the command line.
    """
    outbox = Outbox.open(store_path)
    try:
        outbox.rename_account(old, new)
    finally:
        outbox.close()
    LocalDrafts(drafts_dir).rename_account(old, new)
    with MailStore.open(store_path) as store:
        store.rename_account(old, new)
