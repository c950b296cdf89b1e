"""What ``mailclient sync`` starts before it needs it: the IMAP session of the first
account, opened on a thread.

A sync that finds nothing new is mostly getting ready. Loading the sync engine and the
store is work for the CPU; opening the session is mostly waiting: for the keyring, the TLS
handshake, the server checking the password. Done one after the other they take as long
as both; here the waiting overlaps the loading.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.errors import NetworkError

if TYPE_CHECKING:
    from mailclient.imap.client import ImapSession

log = logging.getLogger(__name__)


class SessionAhead:
    """The IMAP session of one account, opened on a thread of its own while the command's
    own thread loads the sync engine and opens the store."""

    def __init__(self, account: Account, auth: Authenticator) -> None:
        # Loaded here, before the thread starts: the thread then goes straight to the
        # network, and its waiting overlaps what the command's thread loads next.
        from mailclient.imap.client import ImapSession

        self.account = account
        self.auth = auth
        self._connect = ImapSession.connect
        self._session: ImapSession | None = None
        self._error: BaseException | None = None
        # A daemon: a command that fails before it takes the session does not wait for it.
        self._thread = threading.Thread(
            target=self._open, name=f"{account.name}-connect", daemon=True
        )
        self._thread.start()

    def _open(self) -> None:
        try:
            self._session = self._connect(self.account, self.auth)
        except BaseException as error:  # raised in the command's thread by take()
            self._error = error

    def take(self) -> ImapSession | None:
        """The open session, once it is; None when opening it failed in a way that trying
        again may mend (the engine then connects with its own retries). What trying
        again cannot mend (a refused password, an untrusted certificate, a locked
        keyring) is raised: the engine would raise it at once, and a second refused
        sign-in may lock the account.
        """
        self._thread.join()
        if isinstance(self._error, NetworkError) and self._error.transient:
            log.info("%s: %s Connecting again.", self.account.name, self._error)
            return None
        if self._error is not None:
            raise self._error
        return self._session
