"""The sync plan of one folder: a pure function of what the store remembers and what the
server reports on SELECT. Kept apart from the protocol so every case is a unit test.

The rules (RFC 3501 §2.3.1.1, RFC 7162):

- UIDVALIDITY differs from the cached one (or nothing is cached): the cache is worthless;
  discard it and fetch every header again.
- Nothing changed when UIDNEXT, the message count and HIGHESTMODSEQ are all as cached;
  without CONDSTORE a flag change cannot be seen that way, so the flags are compared.
- New messages are the UIDs at or above the cached UIDNEXT; if the last fill did not
  complete (no cached UIDNEXT), every UID the store lacks. A server that does not report
  UIDNEXT is asked each time (UID SEARCH above the highest UID known).
- Flags: CHANGEDSINCE the cached HIGHESTMODSEQ where CONDSTORE is on (with VANISHED for
  expunges under QRESYNC), else all flags, whose UIDs also show what was expunged.
- Without QRESYNC, expunges show in the message count: if it differs from what the
  store holds after the sync, the UIDs are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailclient.imap.client import MailboxStatus
from mailclient.store.mail import FolderSyncState


class FlagSync(StrEnum):
    NONE = "none"  # the flags of stored messages cannot have changed
    CHANGEDSINCE = "changedsince"  # RFC 7162 CHANGEDSINCE (plus VANISHED under QRESYNC)
    ALL = "all"  # fetch every stored message's flags and compare


@dataclass(frozen=True)
class FolderPlan:
    """What to do for one folder; ``nothing`` means the cache is current."""

    reset: bool = False  # discard the cached messages first (UIDVALIDITY changed)
    fetch_from: int | None = None  # fetch headers of missing UIDs at or above this
    flags: FlagSync = FlagSync.NONE
    since_modseq: int | None = None  # for FlagSync.CHANGEDSINCE
    flags_below: int | None = None  # flags of UIDs below this (None: all stored)

    @property
    def nothing(self) -> bool:
        return not self.reset and self.fetch_from is None and self.flags is FlagSync.NONE


NOTHING = FolderPlan()


def plan_folder(cached: FolderSyncState, server: MailboxStatus, condstore: bool) -> FolderPlan:
    """Decide how to bring the cached folder up to the server's state."""
    if cached.uidvalidity != server.uidvalidity:
        return FolderPlan(reset=True, fetch_from=1 if server.exists else None)
    complete = cached.uidnext is not None
    modseq_known = (
        condstore and cached.highestmodseq is not None and server.highestmodseq is not None
    )
    if complete and cached.uidnext is not None:
        # A server without UIDNEXT (RFC 3501 lets SELECT leave it out) may have new mail
        # at any count (one expunged, one arrived): ask it for UIDs above the highest known.
        new = server.uidnext > cached.uidnext or (server.uidnext == 0 and server.exists > 0)
        fetch_from = cached.uidnext if new else None
    else:
        fetch_from = 1 if server.exists else None
    if cached.count == 0:
        flags = FlagSync.NONE
    elif modseq_known:
        changed = server.highestmodseq != cached.highestmodseq
        flags = FlagSync.CHANGEDSINCE if changed else FlagSync.NONE
    else:
        flags = FlagSync.ALL
    if complete and fetch_from is None and flags is FlagSync.NONE:
        if server.exists == cached.count:
            return NOTHING
        # Fewer (or more) messages with nothing new and no modseq change: an expunge that
        # CONDSTORE alone does not report. Compare all flags, which also compares UIDs.
        flags = FlagSync.ALL
    return FolderPlan(
        fetch_from=fetch_from,
        flags=flags,
        since_modseq=cached.highestmodseq if flags is FlagSync.CHANGEDSINCE else None,
        flags_below=cached.uidnext if complete else None,
    )
