"""Copying and moving messages to a folder of another account (RFC 3501 §6.3.11 APPEND).

No IMAP command crosses servers: the message is read here (the stored body, else FETCH),
appended to the target on the other account's connection, and, for a move, deleted here
after that. Each step is recorded in the store before the next begins (store/schema.py,
migration 11), so that a crash, a cut connection or a time offline can only delay it:

- ``waiting``: nothing reached the target; start from the beginning.
- ``appending``: an APPEND was sent and its answer may have been lost. Before appending
  again, the target folder is searched for the Message-ID (for a message without one: for
  messages of its size, compared byte for byte); found, it is not appended twice.
- ``appended``: the target has it; a move still deletes the source (expunging a message
  that is gone already does no harm).

The source account's worker sends them (with its other waiting changes); only then, and
only for a move, does the message leave the source folder for good. Where the target
server says where it put the message (APPENDUID), it is stored there at once. A target folder that
is gone (here, or on its server only: the APPEND's NO), or a source folder renumbered
meanwhile, refuses the transfer: a moved message is shown where it was again.

Other senders of the account (the window's other lane, the command line) may be at the
same list: each transfer is claimed by one of them and read afresh as the claim is taken.
The claim is renewed for as long as its sender works on it (store/claims.py), so that an
APPEND outlasting CLAIM_SECONDS is not made a second time by another sender; a sender
that died lets go after CLAIM_SECONDS.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from mailclient.imap.appended import store_appended
from mailclient.imap.changes import ChangeRefused, _refusal, _Refused
from mailclient.imap.client import ImapSession
from mailclient.imap.headers import summarize
from mailclient.store.mail import MailStore, PendingTransfer, TransferState
from mailclient.store.rows import chunks

log = logging.getLogger(__name__)

# A line end as senders write it: CRLF, or a bare LF.
_CRLF = re.compile(rb"\r?\n")


class TransferRefused(ChangeRefused):
    """A copy or move to another account that cannot be done; the store was set back."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass
class TransferResult:
    """What send_transfers() did."""

    refused: list[TransferRefused] = field(default_factory=list)
    # (account, folder name) of each target that received messages the store does not
    # show yet (no APPENDUID): to sync.
    targets: set[tuple[str, str]] = field(default_factory=set)


def send_transfers(
    source: Callable[[], ImapSession],
    connect: Callable[[str], ImapSession],
    store: MailStore,
    account: str,
) -> TransferResult:
    """Carry out the account's waiting copies and moves to other accounts, oldest first.

    ``source`` gives this account's connection; ``connect(name)`` opens one to account
    ``name`` (closed here). A failure that trying again may cure leaves the rest waiting
    and is raised; a refusal sets that one back and is returned.
    """
    result = TransferResult()
    targets: dict[str, ImapSession] = {}
    try:
        for listed in store.pending_transfers(account):
            transfer = store.claim_transfer(listed.id)
            if transfer is None:
                continue  # another sender of this account is at it, or was
            try:
                with store.holding_transfer(transfer.id):
                    shown = _send(
                        source, lambda name: _target(targets, connect, name), store, transfer
                    )
            except Exception as error:
                reason = _refusal(error)
                if reason is None:
                    store.release_transfer(transfer.id)
                    raise
                store.revert_transfer(transfer)
                message = f"{_describe(store, transfer)} was undone: {reason}"
                log.warning("%s: %s", account, message)
                result.refused.append(TransferRefused(message))
                continue
            target = store.folder(transfer.target_folder_id or 0)
            if target is not None and not shown:
                result.targets.add((target.account, target.name))
    finally:
        for session in targets.values():
            session.close()
    return result


def _target(
    open_sessions: dict[str, ImapSession], connect: Callable[[str], ImapSession], name: str
) -> ImapSession:
    session = open_sessions.get(name)
    if session is None or not session.alive:
        session = open_sessions[name] = connect(name)
    return session


def _send(
    source: Callable[[], ImapSession],
    target_session: Callable[[str], ImapSession],
    store: MailStore,
    transfer: PendingTransfer,
) -> bool:
    """Carry one transfer out; True when the target's stored folder shows it already."""
    folder = store.folder(transfer.folder_id)
    target = store.folder(transfer.target_folder_id or 0)
    if folder is None:
        raise _Refused("the folder it was in no longer exists.")
    if target is None:
        raise _Refused("the folder it was to go to no longer exists.")
    state = transfer.state
    shown = False
    if state is not TransferState.APPENDED:
        known = store.sync_state(folder.id).uidvalidity
        if transfer.uidvalidity is not None and known != transfer.uidvalidity:
            raise _Refused(f"the server renumbered the folder {folder.name} meanwhile.")
        raw = store.body(transfer.message_id)
        if raw is None:
            session = source()
            session.select(folder.name, readonly=True)
            raw = session.fetch_body(transfer.uid)
            if raw is None:
                raise _Refused(f"the message is no longer in {folder.name} on the server.")
        there = target_session(target.account)
        if state is TransferState.APPENDING and _holds(there, target.name, transfer.header_id, raw):
            log.info("%s: found in %s after an unanswered APPEND", target.account, target.name)
        else:
            store.set_transfer_state(transfer.id, TransferState.APPENDING)
            appended = there.append(target.name, raw, transfer.flags, transfer.internal_date)
            shown = store_appended(
                store.path,
                target.account,
                target.name,
                appended,
                raw,
                transfer.flags,
                transfer.internal_date,
            )
        store.set_transfer_state(transfer.id, TransferState.APPENDED)
    if not transfer.copy:
        session = source()
        session.select(folder.name)
        session.expunge([transfer.uid])
    store.finish_transfer(transfer)
    return shown


def _holds(session: ImapSession, folder: str, header_id: str, raw: bytes) -> bool:
    """Whether ``folder`` holds the message ``raw``: by its Message-ID, or, for a message
    without one, by its content."""
    session.select(folder, readonly=True)
    if header_id:
        return _holds_message_id(session, header_id)
    return _holds_copy(session, raw)


def _holds_message_id(session: ImapSession, header_id: str) -> bool:
    """Whether the selected folder holds a message with this Message-ID.

    SEARCH HEADER matches a part of the header (RFC 3501 §6.4.4): what it finds is read
    and compared whole, or a message whose Message-ID merely contains this one (a sender
    writes what it likes there: "100" is in "<m100@example.org>") would pass for it and
    the move would delete the message here with no copy there.
    """
    found = session.search_text(["HEADER", "Message-ID", header_id])
    return bool(found) and any(
        summarize(response).message_id == header_id
        for batch in session.fetch_summaries(chunks(found))
        for response in batch.messages
    )


def _holds_copy(session: ImapSession, raw: bytes) -> bool:
    """Whether the selected folder holds a message with the content of ``raw``.

    Only the same bytes count: a look-alike (a notice sent every day, of the same sender,
    subject and size) taken for it would let the move delete the message here with no copy
    there. An identical copy that was there before loses nothing. The candidates are those
    of its size (RFC 3501 §6.4.4 LARGER, SMALLER): a server counts line ends as CRLF, one
    that stored them as sent may count them as LF. Line ends are compared as CRLF.
    """
    crlf = _CRLF.sub(b"\r\n", raw)
    smallest = len(_CRLF.sub(b"\n", raw))
    found = session.search_text(
        ["LARGER", str(max(smallest - 1, 0)), "SMALLER", str(len(crlf) + 1)]
    )
    # Newest first: after a lost answer, the APPEND's message is the newest.
    return any(
        (body := session.fetch_body(uid)) is not None and _CRLF.sub(b"\r\n", body) == crlf
        for uid in reversed(found)
    )


def _describe(store: MailStore, transfer: PendingTransfer) -> str:
    target = store.folder(transfer.target_folder_id or 0)
    where = f" to {target.account}/{target.name}" if target is not None else ""
    return f"{'Copying' if transfer.copy else 'Moving'} a message{where}"
