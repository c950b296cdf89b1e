"""Push: IDLE on one folder (the INBOX) on a connection of its own (RFC 2177).

IdleWatcher.run() is a plain blocking loop for a thread of its own; it returns when the
stop event is set. Whenever the server reports a change (new, expunged or re-flagged
messages) it calls ``on_change``, which should ask the account's worker for an
incremental sync of that folder; it also calls it after every (re)connection, to catch
up on what happened while it was away. IDLE is renewed well before servers drop it
(RFC 2177 asks clients to re-issue it at least every 29 minutes).

A server without IDLE (no IDLE capability) is polled instead: ``on_change`` every
``poll_every`` seconds, without holding a connection (the sync has its own).

Each IDLE command it starts is logged at INFO (LISTENING): the trace a bug report needs
of whether push was on, and how the tests see that it is.

A dropped connection is reopened with exponential backoff. A rejected password or an
untrusted certificate stops the loop and is passed to ``on_error``: retrying would only
lock the account.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.abort import AbortSwitch
from mailclient.core.errors import CannotConnect, MailclientError, NetworkError, ProtocolError
from mailclient.imap import wire
from mailclient.imap.client import DEFAULT_TIMEOUT, ImapSession

log = logging.getLogger(__name__)

RENEW_AFTER = 25 * 60.0
# Refusals in a row (a NO or BAD without a "not now" code) before IDLE stops and says so.
REFUSALS_TRIED = 3
# How often a server without IDLE is asked for news.
POLL_EVERY = 2 * 60.0
# What IDLE reports that means the folder changed (RFC 3501 §7.3-7.4, RFC 7162 §3.2.10).
_CHANGES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}
# Logged with the account's name and the folder whenever an IDLE command starts.
LISTENING = "%s: listening for changes in %s (IDLE)"


class IdleWatcher:
    """Watches one folder of one account and calls back when it changed."""

    def __init__(
        self,
        account: Account,
        auth: Authenticator,
        on_change: Callable[[], None],
        stop: threading.Event,
        folder: str = "INBOX",
        on_error: Callable[[MailclientError], None] | None = None,
        renew_after: float = RENEW_AFTER,
        poll_every: float = POLL_EVERY,
        wake_every: float = 1.0,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        timeout: float = DEFAULT_TIMEOUT,
        abort: AbortSwitch | None = None,
    ) -> None:
        self.account = account
        self.folder = folder
        self._auth = auth
        self._on_change = on_change
        self._on_error = on_error
        self._stop = stop
        self._renew_after = renew_after
        self._poll_every = poll_every
        self._wake_every = wake_every  # how soon a set stop event is noticed
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._timeout = timeout
        self._abort = abort  # cuts the connection from another thread (see open_client)

    def run(self) -> None:
        """Watch until the stop event is set or an error that retrying cannot fix."""
        delay = self._backoff
        refusals = 0  # refusals in a row, since IDLE last ran its course
        while not self._stop.is_set():
            session: ImapSession | None = None
            try:
                session = ImapSession.connect(
                    self.account, self._auth, self._timeout, abort=self._abort
                )
                if not session.has("IDLE"):
                    session.close()
                    self._poll()
                    return
                session.select(self.folder, readonly=True)
                if not refusals:
                    delay = self._backoff
                self._on_change()
                self._idle(session)
                refusals = 0
            except NetworkError as error:
                if self._stop.is_set():
                    return  # asked to stop (and the connection cut): not a failure
                # A refusal without a "not now" code is tried again a few times: IDLE only
                # watches, and some servers refuse for a while without saying so (a BAD
                # "User is authenticated but not connected"). One that stays is said.
                refused = _refusal(error) and not error.transient
                refusals = refusals + 1 if refused else 0
                if (not error.transient and not refused) or refusals > REFUSALS_TRIED:
                    log.error("%s: IDLE stopped: %s", self.account.name, error)
                    if self._on_error is not None:
                        self._on_error(error)
                    return
                log.warning("%s: IDLE: %s Reconnecting in %.0f s.", self.account.name, error, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_backoff)
            except MailclientError as error:
                # Nothing retrying mends: the keyring cannot be read any more, the server
                # refuses the folder. Said, and IDLE stops (the window offers Retry).
                if not self._stop.is_set():
                    log.error("%s: IDLE stopped: %s", self.account.name, error)
                    if self._on_error is not None:
                        self._on_error(error)
                return
            finally:
                if session is not None:
                    session.close()

    def _poll(self) -> None:
        """For a server without IDLE (RFC 2177 is an extension): ask for a sync now and
        then every ``poll_every`` seconds, until stopped."""
        log.info(
            "%s: the server has no IDLE; %s is looked at every %.0f s.",
            self.account.name,
            self.folder,
            self._poll_every,
        )
        self._on_change()
        while not self._stop.wait(self._poll_every):
            self._on_change()

    def _idle(self, session: ImapSession) -> None:
        while not self._stop.is_set():
            session.idle_start()
            log.info(LISTENING, self.account.name, self.folder)
            started = time.monotonic()
            changed = False
            while not self._stop.is_set():
                left = self._renew_after - (time.monotonic() - started)
                if left <= 0:
                    break
                wait = min(self._wake_every, left)
                asked = time.monotonic()
                kinds = session.idle_wait(wait)
                if b"BYE" in kinds:
                    raise CannotConnect(f"The IMAP server {self.account.imap_host} hung up.")
                if _CHANGES.intersection(kinds):
                    changed = True
                    break
                if not kinds and time.monotonic() - asked < wait / 2:
                    # Woken with nothing to read: the connection may have closed. Ending
                    # IDLE sends DONE and reads the answer, which raises if it is gone.
                    break
            # What arrived between the last wait and DONE counts too.
            if _CHANGES.intersection(session.idle_done()):
                changed = True
            if changed:
                self._on_change()


def _refusal(error: NetworkError) -> bool:
    """A NO or BAD from the server (not an answer that cannot be read)."""
    return isinstance(error, ProtocolError) and not isinstance(error, wire.MalformedResponse)
