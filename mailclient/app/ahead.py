"""What ``mailclient sync`` starts before it needs it: the IMAP password, read by a child
process, and the IMAP session, opened on a thread.

A sync that finds nothing new is mostly getting ready. Loading the sync engine and the
store is work for the CPU. Reading the password (loading the Secret Service client and its
cryptography, then a few round trips over D-Bus) is work too, but needs nothing of the
rest. Opening the session is mostly waiting: for the TLS handshake, for the server to
check the password. Done one after the other they take as long as all of them; here the
child process reads the password on the other core while this process loads the engine,
and the thread's waiting overlaps the loading.

The child is forked (its only task: one keyring read, handed back through a pipe; it
loads nothing the parent then has to carry) and only where that is known to be safe: on
a POSIX system, while the process has no other thread, for a password read directly from
the Secret Service (CredentialStore.reads_directly). Elsewhere this process reads it.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from typing import TYPE_CHECKING

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.model import Account, AuthMethod
from mailclient.accounts.signin import Authenticator, Secret
from mailclient.core.errors import CredentialError, MailclientError, NetworkError

if TYPE_CHECKING:
    from mailclient.imap.client import ImapSession

log = logging.getLogger(__name__)

# The first byte of the child's answer: the password follows, or the keyring's refusal.
_PASSWORD = b"+"
_REFUSAL = b"-"


class PasswordAhead:
    """An account's IMAP password, read from the keyring by a child process (an
    Authenticator: the engine and SessionAhead ask it as they would ask the account's own).

    Other services, and a child that ended without an answer, are asked of ``fallback``,
    the account's own authenticator. A refusal the child reports (a locked keyring, no
    password stored) is raised as the keyring's error: asking again would only ask the
    user again.
    """

    method = AuthMethod.PASSWORD
    mechanism = None

    def __init__(self, account: Account, fallback: Authenticator, pid: int, answer: int) -> None:
        self._account = account
        self._fallback = fallback
        self._pid = pid
        self._answer: int | None = answer  # the pipe's read end, until read
        self._password: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls, account: Account, credentials: CredentialStore, fallback: Authenticator
    ) -> Authenticator:
        """The child's authenticator if one can be started, else ``fallback``."""
        if (
            account.auth is not AuthMethod.PASSWORD
            or not hasattr(os, "fork")
            or threading.active_count() > 1
            or not credentials.reads_directly()
        ):
            return fallback
        answer, child_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            _read_in_child(credentials, account, child_end)  # never returns
        os.close(child_end)
        return cls(account, fallback, pid, answer)

    def secret(self, service: Service) -> Secret:
        if service == "imap":
            password = self._wait()
            if password is not None:
                return Secret(self._account.login, password)
        return self._fallback.secret(service)

    def rejected(self, service: Service, secret: Secret) -> bool:
        return False  # another try with the same password could lock the account

    def _wait(self) -> str | None:
        """The child's password, once it has ended; None if it gave none."""
        with self._lock:
            if self._answer is not None:
                answer, self._answer = self._answer, None
                try:
                    reply = _read_all(answer)
                finally:
                    os.close(answer)
                    os.waitpid(self._pid, 0)
                if reply[:1] == _REFUSAL:
                    raise CredentialError(reply[1:].decode("utf-8", "replace"))
                if reply[:1] == _PASSWORD:
                    self._password = reply[1:].decode("utf-8")
                else:
                    log.info("%s: the keyring was not read ahead", self._account.name)
            return self._password


def _read_in_child(credentials: CredentialStore, account: Account, pipe: int) -> None:
    """The child's whole life: read the password, write the answer, end without running
    anything of the parent's (no exit handlers, no buffered output written twice)."""
    try:
        # Nothing to collect in a life this short; and the parent writes the log: two
        # writers could rotate it under each other.
        gc.disable()
        logging.disable(logging.CRITICAL)
        try:
            reply = _PASSWORD + credentials.get_password(account.name, "imap").encode("utf-8")
        except MailclientError as error:
            reply = _REFUSAL + str(error).encode("utf-8")
        view = memoryview(reply)
        while view:
            view = view[os.write(pipe, view) :]
    finally:
        os._exit(0)


def _read_all(fd: int) -> bytes:
    parts = []
    while part := os.read(fd, 65536):
        parts.append(part)
    return b"".join(parts)


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
