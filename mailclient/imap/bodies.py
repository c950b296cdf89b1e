"""Keeping messages on this computer: bodies downloaded in the background, newest first.

download_bodies() fetches, in small batches, the bodies the store lacks within the
account's limits (the last N days, a size cap per message), newest first, and indexes
them for search, then any stored body still waiting for the index. Each batch is
committed on its own, so stopping anywhere loses nothing and the next run resumes with
what is still missing. It runs on the sync engine's connection (in the window: the
account's sync lane, after each sync; IDLE and the messages the user opens have
connections of their own) and asks ``should_yield`` between batches, so a sync asked for
meanwhile never waits for more than one small batch.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailclient.accounts.model import DEFAULT_KEEP_DAYS, DEFAULT_KEEP_MAX_MB, Account
from mailclient.imap import wire
from mailclient.imap.headers import has_attachments
from mailclient.imap.sync import AccountSync
from mailclient.mime.search_text import indexed_text
from mailclient.store.mail import MessageLocation

log = logging.getLogger(__name__)
DAY = 86_400
MB = 1024 * 1024


@dataclass(frozen=True)
class KeepPolicy:
    """Which bodies to keep: "Keep messages on this computer" and its limits."""

    enabled: bool = True
    days: int | None = DEFAULT_KEEP_DAYS  # None: all
    max_size: int = DEFAULT_KEEP_MAX_MB * MB  # per message; bigger ones are fetched when opened

    @classmethod
    def of(cls, account: Account) -> KeepPolicy:
        """The account's setting "Keep messages on this computer"."""
        return cls(account.keep_messages, account.keep_days, account.keep_max_mb * MB)


@dataclass(frozen=True)
class BodyProgress:
    """Reported after every stored batch (for the status bar)."""

    account: str
    stored: int  # bodies stored by this run so far
    waiting: int  # bodies still wanted after this batch


def download_bodies(
    engine: AccountSync,
    policy: KeepPolicy,
    batch: int = 20,
    should_yield: Callable[[], bool] = lambda: False,
    on_progress: Callable[[BodyProgress], None] | None = None,
    now: float | None = None,
) -> int:
    """Store the wanted bodies of ``engine``'s account; returns how many were stored.

    Returns early (resumable) when ``should_yield`` says other work waits.
    """
    if not policy.enabled:
        return 0
    store, account = engine.store, engine.account.name
    since = None if policy.days is None else int((now or time.time()) - policy.days * DAY)
    skipped: set[int] = set()  # gone from the server, or from a folder being renumbered
    stored = 0
    # Counted once: counting again after every batch would read the whole account each time.
    waiting = store.bodies_waiting(account, since, policy.max_size) if on_progress else 0
    while not should_yield():
        wanted = [
            m
            for m in store.bodies_wanted(account, since, policy.max_size, batch + len(skipped))
            if m.id not in skipped
        ][:batch]
        if not wanted:
            break
        got = engine.retrying(functools.partial(_fetch, engine, wanted))
        skipped.update(m.id for m in wanted if m.id not in got)
        for message_id, raw in got.items():
            store.save_body(message_id, raw, has_attachments(raw))
        store.index_queued_bodies(indexed_text, len(got) or 1)
        stored += len(got)
        waiting -= len(wanted)
        if on_progress is not None:
            on_progress(BodyProgress(account, stored, max(waiting, 0)))
    # Bodies stored before they were indexed (opened before an upgrade, say): in turn too.
    while not should_yield() and store.index_queued_bodies(indexed_text, batch):
        pass
    return stored


def _fetch(engine: AccountSync, wanted: list[MessageLocation]) -> dict[int, bytes]:
    """Message id -> raw message for ``wanted``, one UID FETCH per folder."""
    by_folder: dict[int, dict[int, int]] = {}
    for m in wanted:
        by_folder.setdefault(m.folder_id, {})[m.uid] = m.id
    session, store = engine.session, engine.store
    got: dict[int, bytes] = {}
    for folder_id, ids in by_folder.items():
        folder = store.folder(folder_id)
        if folder is None:
            continue
        if session.selected != folder.name:
            try:
                session.select(folder.name, readonly=True)
            except wire.CommandFailed:
                continue  # the folder is gone: the next sync removes it
        if session.uidvalidity != store.sync_state(folder_id).uidvalidity:
            continue
        command = b"UID FETCH " + wire.uid_set(sorted(ids)) + b" (UID BODY.PEEK[])"
        try:
            responses = session.run(command)
        except wire.CommandFailed as error:
            # Skipped for this run; opening one of them still fetches it.
            log.warning("%s: bodies not fetched: %s", folder.name, error)
            continue
        for response in responses:
            if isinstance(response, wire.FetchResponse) and response.uid in ids and response.body:
                got[ids[response.uid]] = response.body
    return got
