"""The mail servers of a test session and the helpers tests use to set up and read mail.

One Dovecot with IMAPS, IMAP+STARTTLS and LMTP; a second Dovecot without TLS on the same
mail storage (for "the server offers no STARTTLS" tests); Postfix for submission,
delivering into Dovecot over LMTP and checking SMTP AUTH against Dovecot. Every listener
is on 127.0.0.1 and 127.0.0.2 with a port chosen at start-up.

Why the servers' files are not under pytest's tmp_path: Dovecot's mail processes (as
``vmail``) and Postfix' daemons (as ``postfix``) must be able to reach their files, but
pytest keeps ``/tmp/pytest-of-root`` at mode 0700 and resets it at every session start, so
another engineer's test run would cut our servers off. The rig therefore uses its own
``mailclient-rig-*`` directory (mode 0711: passable, not listable), removes it at the end
of the session and copies the server logs to pytest's tmp_path first. The directory is
in /dev/shm when that has room: on tmpfs, writing 50,000 Maildir files takes about 1.5 s
instead of 10 s on ext4, and every delivery and index update gets cheaper too.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from .ca import CertificateFiles
from .dovecot import (
    STANDARD_NAMESPACE,
    Dovecot,
    MailStorage,
    Namespace,
    ensure_vmail_user,
)
from .maildir import prepare_folder, write_messages
from .oauth import AuthorizationServer
from .smtp import Postfix
from .util import ALT_LOOPBACK, LOOPBACK, RigError, ServerProcess, wait_reaped

DOMAIN = "example.org"
USER_NAMES = ("alice", "bob", "carol", "frank")
# Passwords other than "<name>-secret": frank's is not ASCII (IMAP LOGIN, SMTP AUTH in UTF-8).
PASSWORDS = {"frank": "fränk-pässwörd€"}
# Users of the servers configured unlike the rig's Dovecot (tests/rig/variants.py): their
# folders are only ever seen through that server, which creates its own special folders.
OTHER_SERVER_USERS = ("dave", "erin")
FETCH_CHUNK = 2000
SHM_MINIMUM_FREE = 1 << 30


def _memory_temp_dir() -> str | None:
    """/dev/shm if it is there for us and roomy, else None (the system temp dir).

    Containers often get a 64 MB /dev/shm, too small for a 50,000-message mailbox.
    """
    shm = "/dev/shm"
    try:
        stats = os.statvfs(shm)
    except OSError:
        return None
    roomy = stats.f_bavail * stats.f_frsize >= SHM_MINIMUM_FREE
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


@dataclass(frozen=True)
class MailUser:
    address: str  # "alice@example.org"
    username: str  # login name (same as address)
    password: str
    maildir: Path  # the user's Maildir root


class MailServers:
    """What the ``mail_servers`` fixture yields."""

    host = LOOPBACK
    # Connect here to see what a remote client sees: Dovecot treats a connection from
    # 127.0.0.1 to 127.0.0.1 as secure and then allows LOGIN without TLS (dovecot.py).
    alt_host = ALT_LOOPBACK

    def __init__(self, certs: CertificateFiles) -> None:
        self.certs = certs
        self.ca_file = certs.ca_file
        self._extra_dovecots: list[Dovecot] = []
        self.notls_dovecot: Dovecot | None = None
        # Dovecot (and through it Postfix) checks OAuth2 tokens with this server.
        self.oauth: AuthorizationServer | None = None
        self.startup_seconds = 0.0  # of start(), for the curious
        self.directory = Path(tempfile.mkdtemp(prefix="mailclient-rig-", dir=_memory_temp_dir()))
        try:
            self._prepare_files()
        except BaseException:
            self.remove_files()
            raise

    def _prepare_files(self) -> None:
        self.directory.chmod(0o711)
        self.vmail = ensure_vmail_user()
        mail_root = self.directory / "mail"
        mail_root.mkdir(mode=0o700)
        shutil.chown(mail_root, self.vmail.uid, self.vmail.gid)
        self.storage = MailStorage(self.directory / "users", mail_root, self.vmail)

        def user(name: str) -> MailUser:
            return MailUser(
                address=f"{name}@{DOMAIN}",
                username=f"{name}@{DOMAIN}",
                password=PASSWORDS.get(name, f"{name}-secret"),
                maildir=mail_root / DOMAIN / name / "Maildir",
            )

        self.users = {name: user(name) for name in USER_NAMES}
        self.other_users = {name: user(name) for name in OTHER_SERVER_USERS}
        everyone = [*self.users.values(), *self.other_users.values()]
        self.storage.write_users({user.username: user.password for user in everyone})
        self.postfix = Postfix(
            self.directory / "postfix", self.certs, [user.address for user in self.users.values()]
        )
        self.oauth = AuthorizationServer()
        self.dovecot = Dovecot(
            self.directory / "dovecot",
            self.storage,
            self.certs,
            with_lmtp=True,
            auth_listener=self.postfix.auth_socket,
            oauth_introspection=self.oauth.introspection_endpoint,
        )

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        began = time.monotonic()
        self.dovecot.start()  # first: Postfix needs its LMTP port and auth socket
        assert self.dovecot.lmtp_port is not None
        self.postfix.first_start(self.dovecot.lmtp_port)
        self.notls_dovecot = self.start_dovecot("ssl = no")
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop every server and wait until none of their processes is left."""
        servers: list[ServerProcess] = [*self._extra_dovecots, self.postfix, self.dovecot]
        groups = [server.pid for server in servers if server.pid is not None]
        # In parallel: a Dovecot master alone takes a second to shut down.
        with ThreadPoolExecutor() as pool:
            list(pool.map(lambda server: server.stop(), servers))
        wait_reaped(groups)
        if self.oauth is not None:
            self.oauth.close()
            self.oauth = None

    def save_logs(self, destination: Path) -> None:
        for log in self.directory.glob("*/*.log"):
            shutil.copy(log, destination / f"{log.parent.name}-{log.name}")

    def remove_files(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def stop_smtp(self) -> None:
        self.postfix.stop()

    def start_smtp(self) -> None:
        """Start Postfix again, on the same ports."""
        self.postfix.start()

    def start_dovecot(
        self, extra_config: str, namespace: Namespace = STANDARD_NAMESPACE
    ) -> Dovecot:
        """Start another Dovecot on the same users and mail storage, with ``extra_config``
        appended (it wins over the defaults), e.g. an ``imap_capability`` without CONDSTORE
        and QRESYNC, or ``ssl = no``, and folders named and flagged as ``namespace`` says.
        It has its own ports; stop() it or let the session end do it."""
        dovecot = Dovecot(
            self.directory / f"dovecot-{len(self._extra_dovecots) + 1}",
            self.storage,
            self.certs,
            extra_config=extra_config,
            namespace=namespace,
            oauth_introspection=self.oauth.introspection_endpoint if self.oauth else None,
        )
        self._extra_dovecots.append(dovecot)
        dovecot.start()
        return dovecot

    # --- ports ------------------------------------------------------------------------

    @property
    def imaps_port(self) -> int:
        assert self.dovecot.imaps_port is not None
        return self.dovecot.imaps_port

    @property
    def imap_port(self) -> int:
        return self.dovecot.imap_port

    @property
    def imap_notls_port(self) -> int:
        assert self.notls_dovecot is not None
        return self.notls_dovecot.imap_port

    @property
    def smtps_port(self) -> int:
        return self.postfix.smtps_port

    @property
    def submission_port(self) -> int:
        return self.postfix.submission_port

    @property
    def smtp_notls_port(self) -> int:
        return self.postfix.notls_port

    # --- mail helpers -----------------------------------------------------------------

    def user(self, user: str) -> MailUser:
        """Look a user up by short name ("alice") or address."""
        for name, account in [*self.users.items(), *self.other_users.items()]:
            if user in (name, account.address):
                return account
        raise KeyError(f"no test user {user!r}; there are {sorted(self.users)}")

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA and verifies host names."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @contextlib.contextmanager
    def imap(self, user: str, port: int | None = None) -> Iterator[IMAPClient]:
        """An IMAPS connection logged in as ``user``, for test set-up and checks; to the
        rig's Dovecot, or to the IMAPS ``port`` of another one."""
        account = self.user(user)
        client = IMAPClient(
            self.host, port or self.imaps_port, ssl_context=self.ssl_context(), timeout=30
        )
        try:
            client.login(account.username, account.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self,
        user: str,
        folder: str,
        raw: bytes,
        flags: Sequence[str] = (),
        port: int | None = None,
    ) -> int:
        """APPEND ``raw`` to ``folder`` (created if missing); return its UID."""
        with self.imap(user, port) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            response = client.append(folder, raw, flags=tuple(flags))
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response)
        assert match, f"no APPENDUID in {response!r}"
        return int(match.group(1))

    def fetch_all(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Every message of ``folder``, as the server sends it, in UID order."""
        with self.imap(user) as client:
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            messages = []
            # imapclient needs the UIDs spelled out (it cannot take "1:*"), and Dovecot
            # refuses a command line of 50,000 of them: ask in chunks.
            for start in range(0, len(uids), FETCH_CHUNK):
                chunk = uids[start : start + FETCH_CHUNK]
                response = client.fetch(chunk, ["BODY.PEEK[]"])
                # A message another client expunged between the SEARCH and the FETCH
                # (a draft being replaced, say) is no longer there to read.
                messages += [
                    response[uid][b"BODY[]"]
                    for uid in chunk
                    if uid in response and response[uid].get(b"BODY[]") is not None
                ]
        return messages

    def wait_for_messages(
        self, user: str, count: int, folder: str = "INBOX", timeout: float = 10.0
    ) -> list[bytes]:
        """Poll until ``folder`` holds at least ``count`` messages (mail delivered by
        Postfix arrives asynchronously); return them all."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.fetch_all(user, folder)
            if len(messages) >= count or time.monotonic() > deadline:
                return messages
            time.sleep(0.05)

    def wait_for_delivery(self, timeout: float = 10.0) -> None:
        """Poll until Postfix holds no accepted message it has not delivered (or deferred):
        after a client's SMTP conversation ended, whatever it sent is in the mailboxes."""
        deadline = time.monotonic() + timeout
        while self.postfix.in_flight():
            if time.monotonic() > deadline:
                raise RigError(f"Postfix still delivers after {timeout} s")
            time.sleep(0.05)

    def fill_maildir(
        self, user: str, folder: str, messages: Iterable[bytes], flags: Sequence[str] = ()
    ) -> None:
        """Bulk-load ``messages`` by writing Maildir files, then let Dovecot index them once.

        Much faster than APPEND (50,000 small messages in seconds). UIDs follow the order
        of ``messages``. Only system flags (``\\Seen``...) can be given, for all messages.
        """
        account = self.user(user)
        directory = prepare_folder(account.maildir, folder, self.vmail)
        write_messages(directory, messages, self.vmail, flags)
        # Indexing now, not at the client's first SELECT, keeps it out of what tests time.
        self.dovecot.doveadm("force-resync", "-u", account.username, folder)
        if folder.upper() != "INBOX":
            self.dovecot.doveadm("mailbox", "subscribe", "-u", account.username, folder)

    def reset_user(self, user: str, dovecot: Dovecot | None = None) -> None:
        """Give ``user`` a fresh mailbox: remove every folder that is not INBOX or a
        special-use folder, and expunge all messages from the rest. Folders are named as
        ``dovecot`` (default: the rig's) names them, and it creates the special ones."""
        dovecot = dovecot or self.dovecot
        namespace = dovecot.namespace
        username = self.user(user).username
        kept = {"INBOX", *(namespace.full_name(name) for name, _ in namespace.folders)}
        custom = [name for name in self._folders(username, dovecot) if name not in kept]
        if custom:
            # Children first. Some listed parents are no mailboxes at all ("Lists" above
            # "Lists/Python" in Maildir++) and cannot be deleted; doveadm complains about
            # those, so its status is ignored and the listing checked afterwards instead.
            deepest_first = sorted(custom, key=lambda name: -name.count(namespace.separator))
            dovecot.doveadm("mailbox", "delete", "-s", "-u", username, *deepest_first, check=False)
            left = set(self._folders(username, dovecot)) - kept
            if left:
                raise RigError(f"could not delete {sorted(left)} of {username}")
        # Under a namespace prefix doveadm's "*" matches INBOX alone: name each folder.
        for mask in self._folders(username, dovecot) if namespace.prefix else ["*"]:
            dovecot.doveadm("expunge", "-u", username, "mailbox", mask, "all")

    def _folders(self, username: str, dovecot: Dovecot) -> list[str]:
        listing = dovecot.doveadm("mailbox", "list", "-u", username).stdout
        return listing.splitlines()
