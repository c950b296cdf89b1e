"""How an account signs in: the authenticator that protocol code asks for credentials.

IMAP and SMTP code never holds a password. At login time it asks the account's
Authenticator for a Secret (a password, or an OAuth2 access token) and picks the SASL
mechanism the server offers that fits it: the IMAP LOGIN command or SASL PLAIN/LOGIN for
a password, XOAUTH2 or OAUTHBEARER (RFC 7628) for a token. A refreshed token is therefore
used by the next connection without anyone holding on to the old one. A new sign-in
method is one more Authenticator here, registered in SignIn.authenticator().
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.model import Account, AuthMethod
from mailclient.core.errors import OAuthNotConfigured, ProtocolError

__all__ = [
    "AuthMethod",
    "Authenticator",
    "Authenticators",
    "FixedPassword",
    "Mechanism",
    "PasswordAuthenticator",
    "Secret",
    "SignIn",
    "choose_mechanism",
    "sasl_response",
]


class Mechanism(StrEnum):
    XOAUTH2 = "XOAUTH2"  # Google's, also Microsoft's and Yahoo's
    OAUTHBEARER = "OAUTHBEARER"  # RFC 7628


@dataclass(frozen=True)
class Secret:
    """What one login presents: a user name and a password or access token.

    The value never appears in repr(), so a Secret in a traceback or log says nothing.
    """

    user: str
    value: str = field(repr=False)
    token: bool = False  # an OAuth2 bearer token, not a password
    fresh: bool = False  # made for this login (a refused fresh token is not retried)


class Authenticator(Protocol):
    """Credentials for one account, asked for at login time (may block: keyring, network)."""

    @property
    def method(self) -> AuthMethod: ...

    @property
    def mechanism(self) -> Mechanism | None:
        """The SASL mechanism a token account prefers (from its provider), if any."""

    def secret(self, service: Service) -> Secret:
        """The credential to log in to ``service`` with now."""

    def rejected(self, service: Service, secret: Secret) -> bool:
        """The server refused ``secret``: forget it, and say whether one more login with
        a fresh one may work (True at most once in a row for a token, never for a
        password)."""


class Authenticators(Protocol):
    """Gives each account its authenticator (SignIn, or a test's stand-in)."""

    def authenticator(self, account: Account) -> Authenticator: ...


class PasswordAuthenticator:
    """A password account: the stored password of each server, read when asked."""

    method = AuthMethod.PASSWORD
    mechanism = None

    def __init__(self, account: Account, credentials: CredentialStore) -> None:
        self._account = account
        self._credentials = credentials

    def secret(self, service: Service) -> Secret:
        return Secret(
            self._account.login, self._credentials.get_password(self._account.name, service)
        )

    def rejected(self, service: Service, secret: Secret) -> bool:
        return False  # another try with the same password could lock the account


class FixedPassword:
    """A password given now, not yet stored (the account being added, a password being
    checked before it is saved)."""

    method = AuthMethod.PASSWORD
    mechanism = None

    def __init__(self, password: str, user: str = "") -> None:
        self._password = password
        self._user = user

    def __repr__(self) -> str:
        return "FixedPassword(...)"

    def secret(self, service: Service) -> Secret:
        return Secret(self._user, self._password)

    def for_user(self, user: str) -> FixedPassword:
        return FixedPassword(self._password, user)

    def rejected(self, service: Service, secret: Secret) -> bool:
        return False


def choose_mechanism(
    offered: Collection[str], preferred: Mechanism | None, where: str
) -> Mechanism:
    """The token mechanism to use among the SASL mechanisms the server ``offered``:
    the provider's own choice where offered, else OAUTHBEARER, else XOAUTH2."""
    names = {name.upper() for name in offered}
    order = [preferred] if preferred else []
    order += [Mechanism.OAUTHBEARER, Mechanism.XOAUTH2]
    for mechanism in order:
        if mechanism in names:
            return mechanism
    raise ProtocolError(
        f"The server {where} does not offer OAuth2 sign-in (XOAUTH2 or OAUTHBEARER); "
        "this account needs a password instead."
    )


def _saslname(user: str) -> str:
    # RFC 5801 §4: "," and "=" in the authorization identity are escaped.
    return user.replace("=", "=3D").replace(",", "=2C")


def sasl_response(mechanism: Mechanism, secret: Secret, host: str, port: int) -> bytes:
    """The client's initial response (before base64) for a token mechanism."""
    if mechanism is Mechanism.XOAUTH2:
        text = f"user={secret.user}\x01auth=Bearer {secret.value}\x01\x01"
    else:  # RFC 7628 §3.1
        text = (
            f"n,a={_saslname(secret.user)},\x01host={host}\x01port={port}"
            f"\x01auth=Bearer {secret.value}\x01\x01"
        )
    return text.encode("utf-8")


def sasl_error_reply(mechanism: Mechanism) -> bytes:
    """What the client answers to the server's error challenge, so that the server can
    send its final refusal (RFC 7628 §3.2.3: a lone %x01; XOAUTH2: an empty line)."""
    return b"\x01" if mechanism is Mechanism.OAUTHBEARER else b""


class SignIn:
    """The authenticators of one profile's accounts.

    Token accounts keep their access token in memory between connections, so one
    authenticator per account is kept here and shared by every thread (each is
    thread-safe). ``oauth_clients`` gives the client registration of a provider.
    """

    def __init__(
        self,
        credentials: CredentialStore,
        oauth_clients: Callable[[str], tuple[str, str] | None] = lambda provider: None,
    ) -> None:
        self.credentials = credentials
        self._oauth_clients = oauth_clients
        self._lock = threading.Lock()
        self._token_accounts: dict[str, tuple[Account, Authenticator]] = {}

    def authenticator(self, account: Account) -> Authenticator:
        if account.auth is AuthMethod.PASSWORD:
            return PasswordAuthenticator(account, self.credentials)
        from mailclient.accounts.oauth2 import OAuth2Authenticator

        with self._lock:
            known = self._token_accounts.get(account.name)
            if known is not None and known[0] == account:
                return known[1]
            made = OAuth2Authenticator(account, self.client_for(account), self.credentials)
            self._token_accounts[account.name] = (account, made)
            return made

    def client_for(self, account: Account) -> tuple[str, str]:
        """The (client id, client secret) this account signs in with."""
        if account.oauth_client_id:
            return account.oauth_client_id, ""
        found = self._oauth_clients(account.oauth_provider)
        if found is None or not found[0]:
            raise OAuthNotConfigured(no_client_message(account.oauth_provider or "this server"))
        return found

    def forget(self, name: str) -> None:
        """Drop an account's access token (removed, or signed in anew)."""
        with self._lock:
            self._token_accounts.pop(name, None)


def no_client_message(provider: str) -> str:
    return (
        f"mailclient has no OAuth2 client ID for {provider}. Register one with the "
        "provider and put it in the profile's config.json under "
        f'"oauth_clients": {{"{provider}": {{"client_id": "..."}}}} '
        "(see README, Signing in with OAuth2)."
    )
