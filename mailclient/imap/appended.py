"""Our own APPENDs (the Sent copy, a draft) shown in the store at once (RFC 4315 APPENDUID).

A server with UIDPLUS answers an APPEND with the folder's UIDVALIDITY and the new UID; the
message's record (made from the bytes we appended) and its body then go into the store at
once, where the next sync finds them already. Without APPENDUID, or when the folder is not
stored under that UIDVALIDITY (never synced, or renumbered), nothing is written and the
caller has the folder synced instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from mailclient.imap import wire
from mailclient.imap.client import AppendUid
from mailclient.imap.headers import has_attachments, summarize
from mailclient.store.db import StoreError
from mailclient.store.mail import MailStore

log = logging.getLogger(__name__)


def header_block(raw: bytes) -> bytes:
    """The header section of ``raw``, up to and with the empty line ending it."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end >= 0:
            return raw[: end + len(separator)]
    return raw


def store_appended(
    store_path: Path,
    account: str,
    folder_name: str,
    appended: AppendUid | None,
    raw: bytes,
    flags: Iterable[str],
    internal_date: int | None = None,
    removed_uids: Iterable[int] = (),
) -> bool:
    """Put the message we appended into the stored folder (and take out ``removed_uids``,
    which we expunged there); True when the store shows the folder as the server has it."""
    if appended is None:
        return False
    try:
        with MailStore.open(store_path) as store:
            folder = store.folder_by_name(account, folder_name)
            if folder is None or store.sync_state(folder.id).uidvalidity != appended.uidvalidity:
                return False
            record = summarize(
                wire.FetchResponse(
                    seq=0,
                    uid=appended.uid,
                    flags=frozenset(flags),
                    size=len(raw),
                    internal_date=internal_date,
                    header=header_block(raw),
                )
            )
            whole = record._replace(has_attachments=has_attachments(raw), structure_wanted=False)
            store.add_messages(folder.id, [whole])
            for message_id in store.ids_of_uids(folder.id, [appended.uid]):
                store.save_body(message_id, raw)
            gone = [(uid, uid) for uid in removed_uids]
            if gone:
                store.apply_changes(folder.id, vanished=gone)
    except StoreError as error:
        # The server has it; the next sync brings it. Nothing to tell the user.
        log.warning(
            "%s/%s: the appended message waits for the sync: %s", account, folder_name, error
        )
        return False
    return True
