"""What discovery finds: server settings, where each came from, and the account they make."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from mailclient.accounts.model import Account, Security


class Method(StrEnum):
    """The ways of finding settings, in the order discovery tries them."""

    PROVIDERS = "providers"
    AUTOCONFIG = "autoconfig"
    SRV = "srv"
    GUESS = "guess"


METHOD_TITLES = {
    Method.PROVIDERS: "Known providers",
    Method.AUTOCONFIG: "Provider's configuration file",
    Method.SRV: "DNS service records",
    Method.GUESS: "Common server names",
}


@dataclass(frozen=True)
class FoundServer:
    """One server (IMAP or SMTP) and how it was found."""

    host: str
    port: int
    security: Security
    method: Method
    source: str  # where exactly: a provider's name, a URL, a DNS name, "tested"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Discovery:
    """The outcome of discover(): either half may be missing when nothing was found."""

    email: str
    imap: FoundServer | None = None
    smtp: FoundServer | None = None
    username: str = ""  # empty: log in with the address
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.imap is not None and self.smtp is not None

    def summary(self) -> str:
        """One plain sentence that says which method worked."""
        if self.imap is None and self.smtp is None:
            return "No settings were found. Enter your provider's server names below."
        halves = [("incoming", self.imap), ("outgoing", self.smtp)]
        found = [(name, server) for name, server in halves if server is not None]
        methods = {server.method for _, server in found}
        if len(methods) == 1 and len(found) == 2:
            return f"Found with: {_describe(found[0][1])}."
        parts = [f"{name} server with {_describe(server)}" for name, server in found]
        missing = [name for name, server in halves if server is None]
        text = "Found the " + "; the ".join(parts) + "."
        if missing:
            text += f" No {missing[0]} server was found: enter it below."
        return text

    def apply(self, account: Account) -> Account:
        """``account`` with the found servers and username filled in."""
        if self.imap is not None:
            account = replace(
                account,
                imap_host=self.imap.host,
                imap_port=self.imap.port,
                imap_security=self.imap.security,
            )
        if self.smtp is not None:
            account = replace(
                account,
                smtp_host=self.smtp.host,
                smtp_port=self.smtp.port,
                smtp_security=self.smtp.security,
            )
        username = "" if self.username == self.email else self.username
        return replace(account, username=username)


def _describe(server: FoundServer) -> str:
    if server.method is Method.PROVIDERS:
        return f"mailclient's list of known providers ({server.source})"
    if server.method is Method.AUTOCONFIG:
        return f"the provider's configuration file ({server.source})"
    if server.method is Method.SRV:
        return f"the domain's DNS service records ({server.source})"
    return f"a tested guess ({server.address} answered)"
