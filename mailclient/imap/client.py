"""IMAP connections: log in (the steps shared with SMTP are in core.connect), folders, and
the session the sync speaks through.

Verification is always on (the account's CA file, else the system CAs, or the certificate
the user pinned for this server); STARTTLS, when chosen, is required: a server that does
not offer it is an error (RFC 3501 §6.2.1, RFC 8314). imapclient is used here through its
public API only; its private parts are used in mailclient.imap.connection alone.
ImapSession wraps a logged-in connection for the sync engine and the client's changes:
everything it returns is one of our types, never an imapclient dict keyed by bytes.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import imapclient.exceptions
from imapclient import imap_utf7

from mailclient.accounts.model import Account, AuthMethod, Security
from mailclient.accounts.signin import (
    Authenticator,
    Mechanism,
    Secret,
    choose_mechanism,
    sasl_error_reply,
    sasl_response,
)
from mailclient.core import connect
from mailclient.core.abort import AbortSwitch
from mailclient.core.connect import Endpoint
from mailclient.core.errors import (
    AuthenticationFailed,
    CannotConnect,
    ProtocolError,
    SignInExpired,
)
from mailclient.core.models import SpecialUse
from mailclient.imap import conversation, wire
from mailclient.imap.connection import (
    Connection,
    authenticate,
    command,
    quote,
    signed_in,
    wire_io,
)
from mailclient.imap.connection import connect as connect_imap

if TYPE_CHECKING:
    # Imported where used: a connection opens without the store and the header parsing
    # (the command line opens one while another thread loads those, see app.ahead).
    from mailclient.store.mail import RemoteFolder

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
# A connection that has sent LIST is renewed before opening a folder this big (see
# ImapSession._renew_before_opening).
RENEW_FROM = 100_000


@dataclass(frozen=True)
class ServerInfo:
    """What ``account test`` reports about an IMAP server."""

    host: str
    port: int
    security: Security
    capabilities: frozenset[str]
    folder_count: int


def _where(account: Account) -> str:
    return f"{account.imap_host}:{account.imap_port}"


def endpoint(account: Account) -> Endpoint:
    """The account's IMAP server, with what its connection trusts."""
    return Endpoint(
        service="IMAP",
        host=account.imap_host,
        port=account.imap_port,
        implicit_tls=account.imap_security is Security.SSL,
        implicit_tls_port=993,
        ca_file=account.ca_file,
        pinned_pem=account.pinned_pem(account.imap_host, account.imap_port),
    )


def translate_error(account: Account, error: BaseException) -> Exception:
    """Turn a socket, TLS or imapclient error into one of our readable errors."""
    return connect.translate_error(endpoint(account), error, lambda e: _imap_error(account, e))


# How imapclient words the server's NO or BAD to a command: its own "append failed:
# <text>", or imaplib's "LIST command error: BAD [b'<text>']".
_ANSWERED = re.compile(r"(\S+) (?:failed: |command error: (NO|BAD) )")


def _imap_error(account: Account, error: BaseException) -> Exception | None:
    where = _where(account)
    if isinstance(error, imapclient.exceptions.IMAPClientAbortError):
        return CannotConnect(f"The connection to the IMAP server {where} failed: {error}.")
    if isinstance(error, imapclient.exceptions.IMAPClientError):
        text = str(error)
        answered = _ANSWERED.match(text)
        # A NO or BAD to a command imapclient sent (LIST, APPEND, SEARCH...) is raised as
        # the base class itself; its subclasses (CapabilityError, LoginError...) and the
        # rest (a line too long, an unexpected answer to IDLE) are the library's own
        # findings. A refusal is a CommandFailed like our reader's, so that the callers
        # that undo a change the server refuses for good know it (changes._refusal).
        if type(error) is imapclient.exceptions.IMAPClientError and answered is not None:
            return wire.CommandFailed(
                answered.group(1).upper(),
                answered.group(2) or "NO",
                text,
                f"The IMAP server {where} answered with an error: {text.rstrip('.')}.",
            )
        # Worth asking again only when it says "not now", as a CommandFailed.
        failed = ProtocolError(f"The IMAP server {where} answered with an error: {error}.")
        failed.transient = wire.says_not_now(text)
        return failed
    return None


def open_client(
    account: Account,
    auth: Authenticator,
    timeout: float = DEFAULT_TIMEOUT,
    abort: AbortSwitch | None = None,
) -> Connection:
    """Connect, secure and log in; the returned connection belongs to the calling thread.

    ``abort`` (tripped from any thread) cuts the connection: whatever call of the client
    is blocked then fails at once with CannotConnect.
    """
    # Asked first: without a password or sign-in there is nothing to connect for.
    secret = auth.secret("imap")
    steps = _ImapSteps(account, auth, secret, timeout, abort or AbortSwitch())
    return connect.open_connection(endpoint(account), steps)


@dataclass
class _ImapSteps:
    """Opening an IMAP connection with imapclient (see connect.Steps)."""

    account: Account
    auth: Authenticator
    secret: Secret
    timeout: float
    abort: AbortSwitch

    def connect_tls(self, context: ssl.SSLContext) -> Connection:
        host, port = self.account.imap_host, self.account.imap_port
        return connect_imap(self.abort, host, port, context, self.timeout)

    def connect_plain(self) -> Connection:
        host, port = self.account.imap_host, self.account.imap_port
        return connect_imap(self.abort, host, port, None, self.timeout)

    def offers_starttls(self, connection: Connection) -> bool:
        return connection.has_capability("STARTTLS")

    def starttls(self, connection: Connection, context: ssl.SSLContext) -> None:
        connection.starttls(context)

    def socket(self, connection: Connection) -> socket.socket:
        return connection.socket()

    def sign_in(self, connection: Connection) -> None:
        _sign_in(connection, self.account, self.auth, self.secret)

    def close(self, connection: Connection) -> None:
        close_quietly(connection)

    def translate(self, error: BaseException) -> Exception:
        return translate_error(self.account, error)


def _sign_in(client: Connection, account: Account, auth: Authenticator, secret: Secret) -> None:
    """Log in the way the account signs in: LOGIN with a password, AUTHENTICATE with a
    token (once more with a fresh token when the server refuses ``secret``)."""
    if auth.method is AuthMethod.PASSWORD:
        _login(client, account, secret.value)
        return
    offered = [
        c.decode("ascii", "replace")[5:]
        for c in client.capabilities()
        if c.upper().startswith(b"AUTH=")
    ]
    mechanism = choose_mechanism(offered, auth.mechanism, f"IMAP server {_where(account)}")
    for attempt in range(2):
        refusal = _authenticate(client, account, mechanism, secret)
        if refusal is None:
            return
        if not auth.rejected("imap", secret) or attempt:
            break
        secret = auth.secret("imap")
    raise SignInExpired(
        account.name,
        f"the IMAP server {account.imap_host} did not accept the token"
        + (f": {refusal}" if refusal else ""),
    )


def _authenticate(
    client: Connection, account: Account, mechanism: Mechanism, secret: Secret
) -> str | None:
    """AUTHENTICATE (RFC 3501 §6.2.2) with a token; None when accepted, else the
    server's words. Network failures and [UNAVAILABLE] raise as for LOGIN."""
    where = _where(account)
    response = sasl_response(mechanism, secret, account.imap_host, account.imap_port)
    answers = iter([response])

    def answer(challenge: bytes) -> bytes:
        # The first continuation asks for the initial response; a second one carries
        # the server's error details, answered so that the tagged NO follows.
        return next(answers, sasl_error_reply(mechanism))

    try:
        status, data = authenticate(client, mechanism.value, answer)
    except (OSError, imaplib.IMAP4.abort) as error:
        raise translate_error(account, error) from error
    except imaplib.IMAP4.error as error:
        raise ProtocolError(
            f"The IMAP server {where} did not accept AUTHENTICATE {mechanism}: {error}."
        ) from error
    if status == "OK":
        signed_in(client)
        return None
    raw = data[-1] if data and isinstance(data[-1], bytes) else b""
    text = raw.decode("utf-8", "replace").strip()
    if b"[UNAVAILABLE]" in raw.upper():
        raise CannotConnect(
            f"The IMAP server {where} cannot check sign-ins at the moment ({text})."
        )
    return text


def _login(client: Connection, account: Account, password: str) -> None:
    """LOGIN (RFC 3501 §6.2.3): only the server's tagged NO means the password was refused.

    imapclient's login() calls every failure a LoginError, a connection that broke during
    the command too; here that stays a network failure, which is retried. So is a NO with
    [UNAVAILABLE] (RFC 5530 §3): the server cannot check passwords just now (Dovecot says
    so while its authentication service is down). imaplib's LOGIN is used below
    imapclient to see the tagged status itself.
    """
    where = _where(account)
    try:
        if password.isascii():
            status, data = command(client, "LOGIN", account.login, quote(client, password))
        else:
            # imaplib would encode a quoted string as ASCII; a literal carries the
            # password's UTF-8 bytes as they are (RFC 3501 §4.3).
            status, data = command(client, "LOGIN", account.login, literal=password.encode("utf-8"))
    except (OSError, imaplib.IMAP4.abort) as error:
        found = translate_error(account, error)
        if isinstance(found, CannotConnect) and not isinstance(error, TimeoutError):
            found = CannotConnect(
                f"The connection to the IMAP server {where} broke while logging in "
                f"({error}); the password was not refused."
            )
        raise found from error
    except imaplib.IMAP4.error as error:  # a tagged BAD: the server did not understand
        raise ProtocolError(
            f"The IMAP server {where} did not accept the LOGIN command: {error}."
        ) from error
    if status == "OK":
        signed_in(client)
        return
    raw = data[-1] if data and isinstance(data[-1], bytes) else b""
    text = raw.decode("utf-8", "replace").strip()
    if b"[UNAVAILABLE]" in raw.upper():
        raise CannotConnect(
            f"The IMAP server {where} cannot check passwords at the moment ({text})."
        )
    raise AuthenticationFailed(
        f"The IMAP server {account.imap_host} rejected the password for {account.login}"
        + (f" ({text})." if text else ".")
    )


def close_quietly(client: Connection) -> None:
    """Drop a connection that may already be broken, without masking the real error."""
    with contextlib.suppress(Exception):
        client.shutdown()


def open_special_folder(
    account: Account, auth: Authenticator, use: SpecialUse, default_name: str
) -> tuple[Connection, str]:
    """Log in and find the folder with special use ``use`` as the sync does (see
    list_remote_folders), creating ``default_name`` in the personal namespace (RFC 2342)
    only when the server has none."""
    client = open_client(account, auth)
    try:
        prefixes = _personal_prefixes(client)
        found = find_special(list_remote_folders(client, prefixes), use)
        if found is not None:
            folder = found.name
        else:
            folder = prefixes[0] + default_name
            client.create_folder(folder)
            with contextlib.suppress(imapclient.exceptions.IMAPClientError):
                client.subscribe_folder(folder)
    except Exception as error:
        close_quietly(client)
        raise translate_error(account, error) from error
    return client, folder


def _personal_prefixes(client: Connection) -> list[str]:
    """The personal namespace prefixes the server announces (RFC 2342), [""] when it has
    no NAMESPACE; the first is where new folders go."""
    if not client.has_capability("NAMESPACE"):
        return [""]
    personal = client.namespace().personal or ()
    prefixes = [_text(entry[0]) for entry in personal if entry]
    return prefixes or [""]


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def list_remote_folders(
    client: Connection, prefixes: Sequence[str] | None = None
) -> list[RemoteFolder]:
    """Every folder with its special use and subscription (RFC 3501 LIST, RFC 6154)."""
    if prefixes is None:
        prefixes = _personal_prefixes(client)
    subscribed = {str(name) for _, _, name in client.list_sub_folders()}
    listed = [
        (
            str(name),
            delimiter.decode("ascii", "replace") if delimiter else None,
            [f.decode("ascii", "replace") for f in flags],
        )
        for flags, delimiter, name in client.list_folders()
    ]
    return classify_folders(listed, subscribed, prefixes)


def probe(account: Account, auth: Authenticator, timeout: float = DEFAULT_TIMEOUT) -> ServerInfo:
    """Log in, look around and log out: the IMAP half of ``account test``."""
    client = open_client(account, auth, timeout)
    try:
        capabilities = frozenset(
            c.decode("ascii", "replace").upper() for c in client.capabilities()
        )
        folder_count = len(client.list_folders())
        client.logout()
    except Exception as error:
        close_quietly(client)
        raise translate_error(account, error) from error
    return ServerInfo(
        account.imap_host, account.imap_port, account.imap_security, capabilities, folder_count
    )


# --- the session the sync engine and the client's changes use ----------------------------

# Names of special-use folders on servers that do not announce RFC 6154 attributes.
_USE_BY_NAME = {
    "sent": SpecialUse.SENT,
    "sent items": SpecialUse.SENT,
    "sent messages": SpecialUse.SENT,
    "sent mail": SpecialUse.SENT,
    "drafts": SpecialUse.DRAFTS,
    "trash": SpecialUse.TRASH,
    "deleted items": SpecialUse.TRASH,
    "deleted messages": SpecialUse.TRASH,
    "junk": SpecialUse.JUNK,
    "spam": SpecialUse.JUNK,
    "archive": SpecialUse.ARCHIVE,
}
_SPECIAL_USES = {use.value.lower(): use for use in SpecialUse}
_CODE = re.compile(rb"\[([A-Z-]+)(?: ([^\]]*))?\]")
_FLAG_LIST = re.compile(rb"\(([^()]*)\)")
# STATUS commands sent in one write by ImapSession.statuses().
_STATUS_PIPELINE = 100
_STATUS_ITEMS = re.compile(rb"\(([A-Z0-9 ]*)\)\s*$")
# The folder a STATUS response names (RFC 3501 §7.2.4): an atom or a quoted string.
_STATUS_MAILBOX = re.compile(rb'STATUS (?:"((?:[^"\\]|\\.)*)"|([^\s"({]+)) ', re.IGNORECASE)
_QUOTED_PAIR = re.compile(rb"\\(.)")
_COPYUID = re.compile(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]")


@dataclass(frozen=True)
class MailboxStatus:
    """A folder's state as SELECT reports it (RFC 3501 §6.3.1, RFC 7162 §3.1.2.1)."""

    name: str
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None = None
    # Keywords the folder's FLAGS and PERMANENTFLAGS name (RFC 3501 §7.2.6, §7.1).
    keywords: frozenset[str] = frozenset()


def _status_items(line: bytes) -> dict[bytes, int]:
    """The numbers of a STATUS response: {b"UIDNEXT": 12, ...}."""
    m = _STATUS_ITEMS.search(line)
    if m is None:
        return {}
    words = m.group(1).split()
    return dict(zip(words[::2], map(int, words[1::2]), strict=False))


def _status_mailbox(line: bytes) -> bytes | None:
    """The folder a STATUS response names, as sent (modified UTF-7); None for a literal."""
    m = _STATUS_MAILBOX.match(line)
    if m is None:
        return None
    if m.group(1) is not None:
        return _QUOTED_PAIR.sub(rb"\1", m.group(1))
    return m.group(2)


def _status_key(encoded: bytes | None) -> bytes | None:
    # INBOX is INBOX in any case (RFC 3501 §5.1).
    return b"INBOX" if encoded is not None and encoded.upper() == b"INBOX" else encoded


def _mailbox_status(name: str, values: dict[bytes, int]) -> MailboxStatus:
    return MailboxStatus(
        name=name,
        uidvalidity=values[b"UIDVALIDITY"],
        uidnext=values.get(b"UIDNEXT", 0),
        exists=values.get(b"MESSAGES", 0),
        highestmodseq=values.get(b"HIGHESTMODSEQ"),
    )


def _keywords(text: bytes) -> set[str]:
    """The keywords in a parenthesised flag list ("\\Seen $label1 \\*" gives $label1)."""
    found = _FLAG_LIST.search(text)
    if found is None:
        return set()
    words = found.group(1).decode("utf-8", "replace").split()
    return {w for w in words if not w.startswith("\\")}


@dataclass(frozen=True)
class AppendUid:
    """Where an appended message went (RFC 4315 §3, APPENDUID)."""

    uidvalidity: int
    uid: int


_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


def appenduid(text: bytes) -> AppendUid | None:
    """The APPENDUID response code in a tagged OK, if there is one."""
    found = _APPENDUID.search(text)
    return AppendUid(int(found.group(1)), int(found.group(2))) if found else None


@dataclass(frozen=True)
class CopyUid:
    """Where copied or moved messages went (RFC 4315 §3, COPYUID)."""

    uidvalidity: int  # the target folder's
    uids: dict[int, int]  # old UID -> new UID


@dataclass(frozen=True)
class FlagChanges:
    """What a flag fetch found: new flag sets, and UIDs the server says are gone."""

    flags: dict[int, frozenset[str]]
    vanished: list[tuple[int, int]]  # inclusive UID ranges (RFC 7162 VANISHED)


@dataclass(frozen=True)
class FetchedBatch:
    """The answer to one UID FETCH of a batch, with what tells where missing UIDs went."""

    uids: Sequence[int]  # the UIDs asked for
    messages: list[wire.FetchResponse]
    vanished: list[tuple[int, int]]  # expunged meanwhile (RFC 7162 VANISHED), UID ranges
    refused: str | None = None  # the server's NO or BAD, when it did not finish the batch

    def absent(self) -> list[int]:
        """The UIDs asked for that did not come back."""
        came = {m.uid for m in self.messages}
        return [uid for uid in self.uids if uid not in came]


def quote_mailbox(name: str) -> bytes:
    """A folder name as a command argument: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    encoded: bytes = imap_utf7.encode(name)
    return b'"' + encoded.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def special_use_of(name: str, flags: Sequence[str]) -> SpecialUse | None:
    """The RFC 6154 use a LIST response announces (flags ignore case); INBOX is INBOX."""
    if name.upper() == "INBOX":
        return SpecialUse.INBOX
    for flag in flags:
        use = _SPECIAL_USES.get(flag.lower())
        if use is not None and use is not SpecialUse.INBOX:
            return use
    return None


def classify_folders(
    listed: Sequence[tuple[str, str | None, Sequence[str]]],
    subscribed: set[str],
    prefixes: Sequence[str] = ("",),
) -> list[RemoteFolder]:
    """Folders from LIST (name, delimiter, flags) with their special uses.

    A use no folder announces (a server without SPECIAL-USE, or one that flags only some)
    goes to the folder with a usual name right below a personal namespace prefix
    (RFC 2342: "INBOX.Trash" under "INBOX."), never to one nested deeper.
    """
    from mailclient.store.mail import RemoteFolder

    folders = []
    for name, delimiter, flags in listed:
        lowered = {f.lower() for f in flags}
        folders.append(
            RemoteFolder(
                name=name,
                delimiter=delimiter,
                special_use=special_use_of(name, flags),
                subscribed=name in subscribed or name.upper() == "INBOX",
                selectable=not ({"\\noselect", "\\nonexistent"} & lowered),
            )
        )
    announced = {f.special_use for f in folders}
    for index, folder in enumerate(folders):
        use = _use_by_name(folder, prefixes)
        if folder.special_use is None and use is not None and use not in announced:
            folders[index] = replace(folder, special_use=use)
            announced.add(use)
    return folders


def _use_by_name(folder: RemoteFolder, prefixes: Sequence[str]) -> SpecialUse | None:
    for prefix in prefixes:
        # "INBOX" in a prefix is case-insensitive like INBOX itself (RFC 3501 §5.1).
        head = folder.name[: len(prefix)]
        inbox_prefix = prefix.upper().startswith("INBOX")
        if head != prefix and not (inbox_prefix and head.upper() == prefix.upper()):
            continue
        rest = folder.name[len(prefix) :]
        if rest and not (folder.delimiter and folder.delimiter in rest):
            return _USE_BY_NAME.get(rest.casefold())
    return None


def find_special(folders: Iterable[RemoteFolder], use: SpecialUse) -> RemoteFolder | None:
    """The folder with special use ``use`` that list_remote_folders found, if any."""
    return next((f for f in folders if f.special_use is use), None)


class ImapSession:
    """One logged-in IMAP connection, spoken to in our own types.

    Belongs to one thread at a time: the one that made it, or one it was handed to once
    that one was done with it (``mailclient sync`` opens it on a thread of its own while
    it loads the sync engine). Every method raises our errors (CannotConnect when the
    connection broke, CommandFailed when the server said NO). The bulk data of a sync
    (FETCH, SEARCH) goes through wire.ResponseReader, not imapclient's parser.
    """

    def __init__(self, account: Account, client: Connection, use_extensions: bool = True) -> None:
        self.account = account
        self._use_extensions = use_extensions
        self._prefixes: list[str] | None = None  # personal namespace prefixes, once asked
        # Opens the connection again (see _renew_before_opening); None: it cannot.
        self._reopen: Callable[[], Connection] | None = None
        self._sizes: dict[str, int] = {}  # messages in a folder, as last selected or asked
        self._attach(client)

    def _attach(self, client: Connection) -> None:
        """Speak over ``client`` from now on: a new connection, nothing selected yet."""
        self._client = client
        raw = client.capabilities()
        self.capabilities = frozenset(c.decode("ascii", "replace").upper() for c in raw)
        if not self._use_extensions:
            # The engine's switch for plain IMAP4rev1: as if the server had none of these.
            self.capabilities -= {"CONDSTORE", "QRESYNC", "ESEARCH", "MOVE"}
        self.condstore = False
        self.qresync = False
        self.selected: str | None = None
        self.uidvalidity: int | None = None  # of the selected folder
        self.writable = False  # the selected folder was SELECTed, not EXAMINEd
        self.alive = True  # False once the connection failed or was dropped
        self._listed = False  # LIST was sent on this connection
        # Dovecot opens a big folder slowly after a LIST (see _renew_before_opening).
        self._slow_after_list = b"Dovecot" in (getattr(client, "welcome", None) or b"")
        self._reader = wire.ResponseReader(
            *conversation.logged_io(_where(self.account), *wire_io(client))
        )

    @classmethod
    def connect(
        cls,
        account: Account,
        auth: Authenticator,
        timeout: float = DEFAULT_TIMEOUT,
        use_extensions: bool = True,
        abort: AbortSwitch | None = None,
    ) -> ImapSession:
        """Log in and turn on QRESYNC (or CONDSTORE) where the server offers it.

        ``abort`` can cut the connection from another thread (see open_client).
        """

        def reopen() -> Connection:
            return open_client(account, auth, timeout, abort)

        session = cls(account, reopen(), use_extensions)
        session._reopen = reopen
        try:
            session._enable()
        except BaseException:
            session.close()
            raise
        return session

    def _enable(self) -> None:
        wanted = [c for c in ("QRESYNC", "CONDSTORE") if c in self.capabilities]
        if not wanted:
            return
        if "ENABLE" in self.capabilities:
            enabled: set[bytes] = set()
            for response in self._run(b"ENABLE " + b" ".join(w.encode() for w in wanted)):
                if isinstance(response, wire.Untagged) and response.kind == b"ENABLED":
                    enabled.update(response.line.upper().split()[1:])
            self.qresync = b"QRESYNC" in enabled
            self.condstore = self.qresync or b"CONDSTORE" in enabled
        else:
            # CONDSTORE without ENABLE is turned on by the first CONDSTORE-using command.
            self.condstore = "CONDSTORE" in self.capabilities

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities

    def _run(self, command: bytes) -> Iterator[wire.Response]:
        yield from self._guard_iter(self._reader.run(command))

    def run(self, command: bytes) -> list[wire.Response]:
        """Run one command; return its untagged responses."""
        return list(self._run(command))

    @property
    def completion(self) -> bytes:
        """The text of the last command's tagged OK (it may carry a response code)."""
        return self._reader.completion

    def close(self) -> None:
        """Log out politely if possible; always drop the connection."""
        if not self.alive:
            return
        self.alive = False
        self.selected = None
        try:
            self._client.logout()
        except Exception:
            close_quietly(self._client)

    # -- folders ----------------------------------------------------------------------------

    def expect_sizes(self, sizes: Mapping[str, int]) -> None:
        """How many messages folders held when last synced, until the server tells."""
        for name, size in sizes.items():
            self._sizes.setdefault(name, size)

    def _renew_before_opening(self, names: Iterable[str]) -> None:
        """Log out and connect again before a folder of RENEW_FROM messages or more is
        opened (SELECT, EXAMINE or STATUS) on a Dovecot connection that has sent LIST.

        Dovecot (2.3, Maildir) answers every such command that follows a LIST on the same
        connection by reading the folder's whole list of file names (dovecot-uidlist):
        for a million messages about 1 s each time, for 50,000 45 ms, where a connection
        that has not listed answers in 17 and 2 ms. A new connection costs about 20 ms on
        loopback, a few round trips elsewhere. Servers whose greeting does not name
        Dovecot keep their connection.
        """
        if not (self._listed and self._slow_after_list) or self._reopen is None:
            return
        if all(self._sizes.get(name, 0) < RENEW_FROM for name in names):
            return
        log.debug("%s: connecting again before opening a big folder", self.account.name)
        self.close()
        self._attach(self._reopen())
        try:
            self._enable()
        except (wire.CommandFailed, ProtocolError) as error:
            # Not the folder's fault, nor the change's that wanted it: the connection's.
            self.abort()
            raise CannotConnect(
                f"The IMAP server {_where(self.account)} did not take the connection again: {error}"
            ) from error
        except BaseException:
            self.close()
            raise

    def list_folders(self) -> list[RemoteFolder]:
        """Every folder with its special use and subscription (see list_remote_folders)."""
        try:
            if self._prefixes is None:
                self._prefixes = _personal_prefixes(self._client)
            self._listed = True
            return list_remote_folders(self._client, self._prefixes)
        except Exception as error:
            raise translate_error(self.account, error) from error

    def create_folder(self, name: str) -> None:
        self.run(b"CREATE " + quote_mailbox(name))
        self.run(b"SUBSCRIBE " + quote_mailbox(name))

    def rename_folder(self, old: str, new: str) -> None:
        self.run(b"RENAME " + quote_mailbox(old) + b" " + quote_mailbox(new))
        self.run(b"SUBSCRIBE " + quote_mailbox(new))

    def subscribe_folder(self, name: str, subscribed: bool = True) -> None:
        """SUBSCRIBE or UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7)."""
        self.run((b"SUBSCRIBE " if subscribed else b"UNSUBSCRIBE ") + quote_mailbox(name))

    def delete_folder(self, name: str) -> None:
        if self.selected == name:
            self.run(b"UNSELECT" if self.has("UNSELECT") else b"CLOSE")
            self.selected = None
        self.run(b"DELETE " + quote_mailbox(name))
        with contextlib.suppress(wire.CommandFailed):
            self.run(b"UNSUBSCRIBE " + quote_mailbox(name))

    def select(self, name: str, readonly: bool = False) -> MailboxStatus:
        """SELECT (or EXAMINE, read-only) a folder; report UIDVALIDITY, UIDNEXT and counts.

        The sync reads with EXAMINE: a read-write SELECT changes the mailbox (\\Recent),
        which makes Dovecot do its bookkeeping again at the next STATUS.
        """
        self._renew_before_opening([name])
        values: dict[bytes, int] = {}
        exists = 0
        keywords: set[str] = set()
        self.selected = None
        verb = b"EXAMINE " if readonly else b"SELECT "
        for response in self._run(verb + quote_mailbox(name)):
            if not isinstance(response, wire.Untagged):
                continue
            if response.kind == b"EXISTS":
                exists = int(response.line.split(b" ", 1)[0])
            elif response.kind == b"FLAGS":
                keywords |= _keywords(response.line)
            elif response.kind == b"OK":
                code = _CODE.search(response.line)
                if code and code.group(1) == b"PERMANENTFLAGS" and code.group(2):
                    keywords |= _keywords(code.group(2))
                elif code and code.group(2) and code.group(2).isdigit():
                    values[code.group(1)] = int(code.group(2))
        if b"UIDVALIDITY" not in values:
            raise ProtocolError(f"The IMAP server gave no UIDVALIDITY for the folder {name}.")
        self.selected = name
        self.uidvalidity = values[b"UIDVALIDITY"]
        self.writable = not readonly
        self._sizes[name] = exists
        return MailboxStatus(
            name=name,
            uidvalidity=values[b"UIDVALIDITY"],
            # A server may leave UIDNEXT out (RFC 3501 allows it); then nothing is new.
            uidnext=values.get(b"UIDNEXT", 0),
            exists=exists,
            highestmodseq=values.get(b"HIGHESTMODSEQ") if self.condstore else None,
            keywords=frozenset(keywords),
        )

    def status(self, name: str) -> MailboxStatus:
        """A folder's state without selecting it (RFC 3501 §6.3.10, RFC 7162 §3.1.7)."""
        self._renew_before_opening([name])
        self._leave_if_selected([name])
        values: dict[bytes, int] = {}
        for response in self._run(self._status_command(name)):
            if isinstance(response, wire.Untagged) and response.kind == b"STATUS":
                values.update(_status_items(response.line))
        if b"UIDVALIDITY" not in values:
            raise ProtocolError(f"The IMAP server gave no UIDVALIDITY for the folder {name}.")
        return self._counted(_mailbox_status(name, values))

    def statuses(self, names: Sequence[str]) -> dict[str, MailboxStatus]:
        """STATUS of each folder of ``names``, the commands sent all at once (RFC 3501 §5.5):
        one round trip however many folders. Each answer goes to the folder it names; a
        folder the server refused (deleted meanwhile), or whose answer names it in a way
        not told apart here (a literal), is left out: ask status() for it."""
        self._renew_before_opening(names)
        self._leave_if_selected(names)
        wanted = {_status_key(imap_utf7.encode(name)): name for name in names}
        found: dict[str, dict[bytes, int]] = {}
        # A few KB at a time: a server that stops reading while we do not read its answers
        # would otherwise leave both sides waiting once the socket buffers are full.
        for start in range(0, len(names), _STATUS_PIPELINE):
            commands = [self._status_command(n) for n in names[start : start + _STATUS_PIPELINE]]
            tags = self._guard(partial(self._reader.send_commands, commands))
            for tag in tags:
                try:
                    for response in self._guard_iter(self._reader.responses(tag, "STATUS")):
                        if isinstance(response, wire.Untagged) and response.kind == b"STATUS":
                            named = wanted.get(_status_key(_status_mailbox(response.line)))
                            if named is not None:
                                found.setdefault(named, {}).update(_status_items(response.line))
                except wire.CommandFailed as error:
                    log.debug("%s: %s", self.account.name, error)
        return {
            name: self._counted(_mailbox_status(name, values))
            for name, values in found.items()
            if b"UIDVALIDITY" in values
        }

    def _counted(self, status: MailboxStatus) -> MailboxStatus:
        self._sizes[status.name] = status.exists
        return status

    def _status_command(self, name: str) -> bytes:
        items = b"MESSAGES UIDNEXT UIDVALIDITY" + (b" HIGHESTMODSEQ" if self.condstore else b"")
        return b"STATUS " + quote_mailbox(name) + b" (" + items + b")"

    def _leave_if_selected(self, names: Sequence[str]) -> None:
        if self.selected in names:
            # STATUS of the selected folder is discouraged (RFC 3501); leave it first.
            self.run(b"UNSELECT" if self.has("UNSELECT") else b"CLOSE")
            self.selected = None

    # -- messages in the selected folder ----------------------------------------------------

    def search_uids(self, first_uid: int = 1) -> list[int]:
        """UIDs at or above ``first_uid``, ascending (ESEARCH where offered, RFC 4731)."""
        criteria = b"UID %d:*" % first_uid
        uids: list[int] = []
        if self.has("ESEARCH"):
            for response in self._run(b"UID SEARCH RETURN (ALL) " + criteria):
                if isinstance(response, wire.Untagged) and response.kind == b"ESEARCH":
                    words = response.line.split()
                    if b"ALL" in words:
                        uid_set = words[words.index(b"ALL") + 1]
                        for low, high in wire.parse_uid_set(uid_set):
                            uids.extend(range(low, high + 1))
        else:
            for response in self._run(b"UID SEARCH " + criteria):
                if isinstance(response, wire.Untagged) and response.kind == b"SEARCH":
                    uids.extend(int(w) for w in response.line.split()[1:])
        # "n:*" also matches the highest UID when it is below n (RFC 3501 §6.4.8).
        return sorted(u for u in set(uids) if u >= first_uid)

    def search_text(self, criteria: Sequence[str]) -> list[int]:
        """UIDs in the selected folder matching ``criteria``, ascending (RFC 3501 §6.4.4).

        Under CHARSET UTF-8; each value is sent as a quoted string, or as a literal when
        it is not ASCII (imapclient does both).
        """
        try:
            found = self._client.search(list(criteria), charset="UTF-8")
        except (OSError, imapclient.exceptions.IMAPClientAbortError) as error:
            self.abort()
            raise translate_error(self.account, error) from error
        except imapclient.exceptions.IMAPClientError as error:
            # A NO or BAD (a charset the server lacks, say): the connection is still fine.
            raise translate_error(self.account, error) from error
        return sorted(int(uid) for uid in found)

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[str] = (),
        internal_date: int | None = None,
    ) -> AppendUid | None:
        """APPEND ``raw`` to ``folder`` (RFC 3501 §6.3.11); where it went when the server
        says (APPENDUID, RFC 4315 §3), else None."""
        when = datetime.fromtimestamp(internal_date, UTC) if internal_date is not None else None
        kept = [f for f in sorted(flags) if f.lower() not in ("\\recent", "\\deleted")]
        try:
            answer = self._client.append(folder, raw, flags=kept, msg_time=when)
        except (OSError, imapclient.exceptions.IMAPClientAbortError) as error:
            self.abort()
            raise translate_error(self.account, error) from error
        except imapclient.exceptions.IMAPClientError as error:
            raise translate_error(self.account, error) from error
        return appenduid(answer if isinstance(answer, bytes) else str(answer).encode())

    def fetch_summaries(self, batches: Iterable[Sequence[int]]) -> Iterator[FetchedBatch]:
        """Flags, size, dates and summary header fields, one answer per batch of UIDs.

        A message whose header section the server sends as NIL (a broken message) is
        kept, without header fields: leaving it out would leave it out for good, since
        the folder's UIDNEXT moves past it.
        """
        from mailclient.imap.headers import SUMMARY_FIELDS

        fields = " ".join(SUMMARY_FIELDS).encode("ascii")
        items = b" (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (" + fields + b")])"
        for batch in self._pipelined(batches, items):
            # A server may slip in unsolicited FETCHes of flag changes (RFC 3501 §7.4.2),
            # with a UID under QRESYNC; only an answer to ours carries more than flags.
            answers = [r for r in batch.messages if r.uid is not None and _answered(r)]
            yield replace(batch, messages=answers)

    def fetch_structures(
        self, batches: Iterable[Sequence[int]]
    ) -> Iterator[dict[int, list[wire.Value] | None]]:
        """BODYSTRUCTURE (RFC 3501 §7.4.2) as nested lists, by UID, one dict per batch; a
        UID asked for that the server sent none for (expunged meanwhile, or refused) is
        there with None."""
        for batch in self._pipelined(batches, b" (UID BODYSTRUCTURE)"):
            found = {r.uid: r.bodystructure for r in batch.messages if r.uid and r.bodystructure}
            yield {uid: found.get(uid) for uid in batch.uids}

    def _pipelined(self, batches: Iterable[Sequence[int]], items: bytes) -> Iterator[FetchedBatch]:
        """UID FETCH ``items`` batch by batch; the FETCH for the next batch is sent before
        the current one is read (RFC 3501 §5.5 allows pipelining), so the server prepares
        it while we parse and store. If the caller stops early or anything fails, the
        connection is closed: answers to a command nobody reads would confuse the next one.
        """
        pending = iter(batches)

        def send_next() -> tuple[Sequence[int], bytes] | None:
            batch = next(pending, None)
            if batch is None:
                return None
            return batch, self._reader.send_command(b"UID FETCH " + wire.uid_set(batch) + items)

        finished = False
        # With two commands in flight a server may answer the second before it completes
        # the first: answers of UIDs another batch asked for wait for that batch.
        early: list[wire.FetchResponse] = []
        try:
            current = self._guard(send_next)
            while current is not None:
                following = self._guard(send_next)
                batch = self._read_batch(*current)
                asked = set(batch.uids)
                # In one pass: Dovecot runs pipelined FETCHes in parallel, so a whole batch
                # may come early, and comparing each answer with every early one was
                # quadratic (nine tenths of the CPU time of a 20,000-message first sync).
                mine: list[wire.FetchResponse] = []
                later: list[wire.FetchResponse] = []
                for m in early + batch.messages:
                    (later if m.uid is not None and m.uid not in asked else mine).append(m)
                early = later
                yield replace(batch, messages=mine)
                current = following
            finished = True
        finally:
            if not finished:
                self.abort()

    def _read_batch(self, uids: Sequence[int], tag: bytes) -> FetchedBatch:
        messages: list[wire.FetchResponse] = []
        vanished: list[tuple[int, int]] = []
        refused = None
        try:
            for response in self._guard_iter(self._reader.responses(tag, "FETCH")):
                if isinstance(response, wire.FetchResponse):
                    messages.append(response)
                elif response.kind == b"VANISHED":
                    vanished.extend(wire.parse_uid_set(response.line.split()[-1]))
        except wire.CommandFailed as error:
            # A NO may cover only some messages: expunged meanwhile (RFC 2180 §4.1.3) or
            # unreadable (Gmail: "Some messages could not be FETCHed"). What came is kept;
            # the caller asks for the rest again.
            refused = str(error)
        return FetchedBatch(uids, messages, vanished, refused)

    def _guard(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except (OSError, imapclient.exceptions.IMAPClientError) as error:
            self.abort()
            raise translate_error(self.account, error) from error

    def _guard_iter(self, responses: Iterator[wire.Response]) -> Iterator[wire.Response]:
        try:
            yield from responses
        except (OSError, imapclient.exceptions.IMAPClientError) as error:
            self.abort()
            raise translate_error(self.account, error) from error
        except wire.CommandFailed:
            raise
        except ProtocolError:
            # An answer that could not be read leaves the connection out of step.
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the connection without a word (it failed, or got out of step)."""
        self.selected = None
        if self.alive:
            self.alive = False
            close_quietly(self._client)

    def fetch_flags(self, below_uid: int | None, since_modseq: int | None) -> FlagChanges:
        """Flags of the messages below ``below_uid`` (all when None).

        With ``since_modseq`` only those changed since (RFC 7162 CHANGEDSINCE), and with
        QRESYNC also the UIDs expunged since (VANISHED (EARLIER)).
        """
        if below_uid is not None and below_uid <= 1:
            return FlagChanges({}, [])
        uid_range = b"1:%d" % (below_uid - 1) if below_uid is not None else b"1:*"
        command = b"UID FETCH " + uid_range + b" (UID FLAGS)"
        if since_modseq is not None:
            modifier = b" VANISHED" if self.qresync else b""
            command += b" (CHANGEDSINCE %d%s)" % (since_modseq, modifier)
        flags: dict[int, frozenset[str]] = {}
        vanished: list[tuple[int, int]] = []
        for response in self._run(command):
            if isinstance(response, wire.FetchResponse):
                if response.uid is not None and response.flags is not None:
                    flags[response.uid] = response.flags
            elif response.kind == b"VANISHED":
                vanished.extend(wire.parse_uid_set(response.line.split()[-1]))
        return FlagChanges(flags, vanished)

    def fetch_body(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen (BODY.PEEK[], RFC 3501 §6.4.5)."""
        found = None
        # Read to the end: the tagged OK left unread would meet imapclient's next command.
        for response in self._run(b"UID FETCH %d (UID BODY.PEEK[])" % uid):
            if isinstance(response, wire.FetchResponse) and response.uid == uid and response.body:
                found = response.body
        return found

    def store_flags(
        self, uids: Sequence[int], add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> None:
        """Add and remove flags on ``uids`` (UID STORE ... FLAGS.SILENT)."""
        for sign, flags in ((b"+", sorted(add)), (b"-", sorted(remove))):
            if flags and uids:
                text = " ".join(flags).encode("utf-8")
                items = sign + b"FLAGS.SILENT (" + text + b")"
                self.run(b"UID STORE " + wire.uid_set(uids) + b" " + items)

    def move(self, uids: Sequence[int], target: str) -> CopyUid | None:
        """Move ``uids`` to ``target``; returns their new UIDs when the server says.

        MOVE where offered (RFC 6851), else COPY, \\Deleted and UID EXPUNGE (RFC 4315).
        """
        if not uids:
            return None
        if self.has("MOVE"):
            responses = self.run(b"UID MOVE " + wire.uid_set(uids) + b" " + quote_mailbox(target))
            lines = [r.line for r in responses if isinstance(r, wire.Untagged)]
            return _copyuid([*lines, self.completion])
        self.run(b"UID COPY " + wire.uid_set(uids) + b" " + quote_mailbox(target))
        mapping = _copyuid([self.completion])
        self.expunge(uids)
        return mapping

    def expunge(self, uids: Sequence[int]) -> None:
        """Remove ``uids`` for good: \\Deleted, then UID EXPUNGE (RFC 4315 §2.1).

        Without UIDPLUS only a plain EXPUNGE exists, which also removes other messages
        marked \\Deleted in this folder; that is what every client does there.
        """
        if not uids:
            return
        self.store_flags(uids, add=["\\Deleted"])
        if self.has("UIDPLUS"):
            self.run(b"UID EXPUNGE " + wire.uid_set(uids))
        else:
            self.run(b"EXPUNGE")

    # -- IDLE (RFC 2177) --------------------------------------------------------------------

    def idle_start(self) -> None:
        try:
            self._client.idle()
        except Exception as error:
            raise translate_error(self.account, error) from error

    def idle_wait(self, timeout: float) -> list[bytes]:
        """Wait up to ``timeout`` seconds; return the kinds of what the server reported."""
        try:
            return _kinds(self._client.idle_check(timeout=timeout))
        except Exception as error:
            raise translate_error(self.account, error) from error

    def idle_done(self) -> list[bytes]:
        """End IDLE; returns the kinds of what the server reported since the last wait."""
        try:
            _, responses = self._client.idle_done()
        except Exception as error:
            raise translate_error(self.account, error) from error
        return _kinds(responses)


def _answered(response: wire.FetchResponse) -> bool:
    return (
        response.size is not None
        or response.internal_date is not None
        or response.header is not None
    )


def _kinds(responses: Iterable[Any]) -> list[bytes]:
    """b"EXISTS", b"FETCH"... of imapclient's parsed unsolicited responses."""
    kinds = []
    for response in responses:
        if isinstance(response, tuple) and len(response) > 1:
            kind = response[1] if isinstance(response[0], int) else response[0]
            if isinstance(kind, bytes):
                kinds.append(kind.upper())
    return kinds


def _copyuid(lines: Sequence[bytes]) -> CopyUid | None:
    for line in lines:
        m = _COPYUID.search(line)
        if m:
            old = [u for low, high in wire.parse_uid_set(m.group(2)) for u in range(low, high + 1)]
            new = [u for low, high in wire.parse_uid_set(m.group(3)) for u in range(low, high + 1)]
            if len(old) == len(new):
                return CopyUid(int(m.group(1)), dict(zip(old, new, strict=True)))
    return None
