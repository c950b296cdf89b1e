"""What discovery finds: server settings, where each came from, and the account they make."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from mailclient.accounts.model import Account, AuthMethod, Security
from mailclient.discovery.providers import OAuthSettings


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
    # OAUTH2 when the servers found take no password. ``oauth``: how they sign in with a
    # token, where known (the provider list, or the autoconfig file's <oAuth2>);
    # ``oauth_provider`` the provider list's id for it, which picks the client ID.
    auth: AuthMethod = AuthMethod.PASSWORD
    oauth: OAuthSettings | None = None
    oauth_provider: str = ""

    @property
    def complete(self) -> bool:
        return self.imap is not None and self.smtp is not None

    def summary(self) -> str:
        """One plain sentence that says which method worked."""
        if self.imap is None and self.smtp is None:
            return "No settings were found. Enter your provider's server names below."
        if (
            self.imap is not None
            and self.smtp is not None
            and (self.imap.method is self.smtp.method)
        ):
            return f"Found {_describe(self.imap)}."
        parts = [
            f"{name} server found {_describe(server)}" if server else f"no {name} server found"
            for name, server in (("incoming", self.imap), ("outgoing", self.smtp))
        ]
        text = "; ".join(parts) + "."
        if not self.complete:
            text += " Enter the missing one below."
        return text[0].upper() + text[1:]

    def sign_in_summary(self) -> str:
        """How the servers found sign in, when it is not with a password."""
        if self.auth is not AuthMethod.OAUTH2:
            return ""
        if self.oauth is None:
            return (
                "These servers take no password: they sign in with OAuth2. Enter the sign-in "
                "server's issuer or endpoints and a client ID below."
            )
        return "These servers take no password: you sign in in your browser (OAuth2)."

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
        if self.oauth is not None:
            account = replace(
                account,
                oauth_provider=self.oauth_provider,
                oauth_authorization_endpoint=self.oauth.authorization_endpoint,
                oauth_token_endpoint=self.oauth.token_endpoint,
                oauth_scopes=self.oauth.scopes,
                oauth_mechanism=self.oauth.mechanism,
            )
        return replace(account, username=username, auth=self.auth)


def _describe(server: FoundServer) -> str:
    if server.method is Method.PROVIDERS:
        return f"in mailclient's list of known providers: {server.source}"
    if server.method is Method.AUTOCONFIG:
        return f"in the provider's configuration file at {server.source}"
    if server.method is Method.SRV:
        return f"in the DNS service records ({server.source})"
    return f"by trying common server names: {server.address} answered"
