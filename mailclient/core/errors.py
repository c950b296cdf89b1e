"""The error hierarchy: every error a person can act on carries a readable message."""

from __future__ import annotations

import shlex


class MailclientError(Exception):
    """Base of every error that mailclient reports to a person.

    ``str(error)`` is a complete sentence meant for the user, never a traceback.
    """


class InvalidInput(MailclientError):
    """A value given by the user is not acceptable; ``field`` names which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class AccountExists(MailclientError):
    def __init__(self, name: str) -> None:
        super().__init__(f"An account named {name!r} already exists.")
        self.name = name


class AccountNotFound(MailclientError):
    def __init__(self, name: str) -> None:
        super().__init__(f"There is no account named {name!r}.")
        self.name = name


class ConfigError(MailclientError):
    """The profile's configuration cannot be read or written."""


class ProfileInUse(MailclientError):
    """Another start holds the profile but does not take our arguments."""

    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(
            f"Mailclient is already running with the profile {profile}, but it does not "
            f"answer ({reason}). If it hangs, end it and start Mailclient again."
        )
        self.profile = profile


class ProfileLockFailed(MailclientError):
    def __init__(self, profile: str, reason: str) -> None:
        super().__init__(f"Cannot lock the profile folder {profile}: {reason}.")
        self.profile = profile


class CredentialError(MailclientError):
    """The credential store failed."""


class NoKeyringBackend(CredentialError):
    """No system keyring is available; we never fall back to a plaintext file."""


def password_command(account: str) -> str:
    """The command that stores a new password for ``account``, quoted for a shell."""
    return f"mailclient account password {shlex.quote(account)}"


class PasswordMissing(CredentialError):
    def __init__(self, account: str, service: str) -> None:
        super().__init__(
            f"No {service.upper()} password is stored for account {account!r}. "
            f"Enter it with: {password_command(account)}"
        )
        self.account = account
        self.service = service


class NetworkError(MailclientError):
    """Talking to a server failed. Subclasses say whether retrying may help."""

    transient = True


class CannotConnect(NetworkError):
    """No connection could be made (DNS, refused, timeout, dropped)."""


class TlsError(NetworkError):
    """The TLS handshake failed or the certificate was not accepted."""

    transient = False


class CertificateNotTrusted(TlsError):
    """The server's certificate does not verify against the trusted CAs."""


class CertificateChanged(CertificateNotTrusted):
    """A server whose certificate the user pinned presented a different one.

    A subclass of CertificateNotTrusted so that code which offers to inspect an untrusted
    certificate handles both; the message says that the trusted certificate changed.
    """


class StartTlsUnavailable(TlsError):
    """STARTTLS was required but the server does not offer it."""


class AuthenticationFailed(NetworkError):
    """The server rejected the username or password."""

    transient = False


class SignInExpired(AuthenticationFailed):
    """An OAuth2 account must be signed in again in the browser: its refresh token was
    revoked or has expired, or there is none."""

    def __init__(self, account: str, reason: str) -> None:
        super().__init__(
            f"Account {account!r} must be signed in again ({reason}). "
            f"Sign in with: mailclient account login {shlex.quote(account)}"
        )
        self.account = account


class OAuthNotConfigured(MailclientError):
    """A provider needs OAuth2 but mailclient has no client ID for it."""


class ProtocolError(NetworkError):
    """The server answered something we cannot use."""
