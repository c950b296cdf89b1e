"""Servers configured unlike the rig's Dovecot, the way real IMAP servers are run.

Each is another Dovecot on the rig's mail storage, started on first use:

- ``namespace``: every folder under a personal namespace prefix ``INBOX.`` with ``.`` as
  separator and no SPECIAL-USE (RFC 6154) at all, as Courier and several hosting
  providers have by default; no CONDSTORE, QRESYNC or MOVE either. User dave.
- ``lowercase``: special-use flags in lower case (``\\sent``: flags are case-insensitive)
  on folders with German names, Sent being "Gesendet"; there is no "Sent". User erin.
- ``no-uidnext``: never reports UIDNEXT (SELECT, EXAMINE, STATUS: RFC 3501 lets a server
  leave it out), no CONDSTORE or QRESYNC; reached through tests/rig/imap_proxy.py, which
  takes the lines out. Standard folders; any user (it shares the rig's namespace).
"""

from __future__ import annotations

from dataclasses import dataclass

from .dovecot import SPECIAL_FOLDERS, STANDARD_NAMESPACE, Dovecot, Namespace
from .imap_proxy import RewritingProxy, without_uidnext
from .servers import MailServers
from .util import LOOPBACK

# Dovecot 2.3's capabilities without CONDSTORE, QRESYNC, MOVE, ESEARCH and SPECIAL-USE.
BASE_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 LITERAL+"
)

NAMES = ("namespace", "lowercase", "no-uidnext")


@dataclass(frozen=True)
class _Kind:
    namespace: Namespace
    capabilities: str | None  # None: Dovecot's own
    user: str | None
    proxied: bool = False


_KINDS = {
    "namespace": _Kind(
        Namespace(
            prefix="INBOX.",
            separator=".",
            folders=tuple((name, None) for name in SPECIAL_FOLDERS),
        ),
        BASE_CAPABILITIES,
        "dave",
    ),
    "lowercase": _Kind(
        Namespace(
            folders=(
                ("Gesendet", "\\sent"),
                ("Entwürfe", "\\drafts"),
                ("Papierkorb", "\\trash"),
                ("Spam", "\\junk"),
                ("Archiv", "\\archive"),
            )
        ),
        None,
        "erin",
    ),
    "no-uidnext": _Kind(STANDARD_NAMESPACE, f"{BASE_CAPABILITIES} SPECIAL-USE", None, True),
}


@dataclass(frozen=True)
class OtherServer:
    """One of them, started: where to connect (IMAPS) and how it names its folders."""

    name: str
    host: str
    port: int
    user: str | None  # the user whose mail only this server sees; None: any user
    namespace: Namespace
    dovecot: Dovecot

    def folder(self, flag: str) -> str:
        """The full name of the folder this server uses for ``flag`` (``\\Sent``...),
        whether or not it announces the flag."""
        standard = SPECIAL_FOLDERS.values()
        for (name, _), announced in zip(self.namespace.folders, standard, strict=True):
            if announced == flag:
                return self.namespace.full_name(name)
        raise KeyError(flag)


class OtherServers:
    """Starts each kind on first use; close() stops the proxies (the rig stops Dovecot)."""

    def __init__(self, servers: MailServers) -> None:
        self.servers = servers
        self._started: dict[str, OtherServer] = {}
        self._proxies: list[RewritingProxy] = []

    def get(self, name: str) -> OtherServer:
        if name not in self._started:
            kind = _KINDS[name]
            extra = f"imap_capability = {kind.capabilities}" if kind.capabilities else ""
            dovecot = self.servers.start_dovecot(extra, kind.namespace)
            assert dovecot.imaps_port is not None
            port = dovecot.imaps_port
            if kind.proxied:
                proxy = RewritingProxy(
                    (LOOPBACK, dovecot.imap_port), self.servers.certs, without_uidnext
                )
                self._proxies.append(proxy)
                port = proxy.port
            self._started[name] = OtherServer(
                name, LOOPBACK, port, kind.user, kind.namespace, dovecot
            )
        return self._started[name]

    def reset(self, server: OtherServer, user: str | None = None) -> None:
        """Fresh mail for ``user`` (default: the server's own user) as that server sees it."""
        name = user or server.user
        assert name is not None, f"say which user's mail on {server.name} to reset"
        self.servers.reset_user(name, server.dovecot)

    def close(self) -> None:
        for proxy in self._proxies:
            proxy.close()
        self._proxies.clear()
