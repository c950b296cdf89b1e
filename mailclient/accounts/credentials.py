"""The credential store: passwords in the system keyring, keyed by account and service.

This is the only module that imports ``keyring``. Its calls may block on D-Bus, so they
belong on worker threads or in the command line, never on the GUI thread. ``keyring`` is
imported on first use: loading it (and its plugins) costs the window ~75 ms at start-up.
"""

from __future__ import annotations

from types import ModuleType
from typing import Literal, Protocol

from mailclient.core.errors import CredentialError, NoKeyringBackend, PasswordMissing

Service = Literal["imap", "smtp"]
SERVICES: tuple[Service, ...] = ("imap", "smtp")
KEYRING_SERVICE = "mailclient"

NO_BACKEND_HELP = (
    "No system keyring is available to keep passwords safe. Start a Secret Service "
    "(for example gnome-keyring-daemon or KeePassXC with Secret Service enabled) in your "
    "session and try again. mailclient never stores passwords in a file."
)

# Backends that keep secrets in a plain or weakly protected file: never acceptable.
_REFUSED_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")


class SecretBackend(Protocol):
    """What we use of a keyring backend (keyring.backend.KeyringBackend fits)."""

    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


def _key(account: str, service: Service) -> str:
    return f"{account}/{service}"


class CredentialStore:
    """Passwords of every account, shared by the IMAP and SMTP modules and the UI."""

    def __init__(self, backend: SecretBackend | None = None) -> None:
        self._backend = backend

    def _keyring(self) -> SecretBackend:
        import keyring
        from keyring.backends import chainer, fail

        backend: SecretBackend = self._backend or keyring.get_keyring()
        candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
        usable = [b for b in candidates if not _is_refused(b)]
        if not usable or isinstance(backend, fail.Keyring):
            raise NoKeyringBackend(NO_BACKEND_HELP)
        self._backend = usable[0]
        return self._backend

    def set_password(self, account: str, service: Service, password: str) -> None:
        backend = self._keyring()
        errors = _errors()
        try:
            backend.set_password(KEYRING_SERVICE, _key(account, service), password)
        except errors.KeyringLocked as error:
            raise CredentialError(
                "The system keyring is locked. Unlock it and try again."
            ) from error
        except errors.KeyringError as error:
            raise CredentialError(
                f"The system keyring refused to store the password: {error}"
            ) from error

    def get_password(self, account: str, service: Service) -> str:
        backend = self._keyring()
        errors = _errors()
        try:
            password = backend.get_password(KEYRING_SERVICE, _key(account, service))
        except errors.KeyringLocked as error:
            raise CredentialError(
                "The system keyring is locked. Unlock it and try again."
            ) from error
        except errors.KeyringError as error:
            raise CredentialError(f"The system keyring could not be read: {error}") from error
        if password is None:
            raise PasswordMissing(account, service)
        return password

    def delete_account(self, account: str) -> None:
        """Remove every secret of ``account``; missing ones are not an error."""
        backend = self._keyring()
        errors = _errors()
        for service in SERVICES:
            try:
                backend.delete_password(KEYRING_SERVICE, _key(account, service))
            except errors.PasswordDeleteError:
                pass
            except errors.KeyringError as error:
                raise CredentialError(
                    f"The system keyring could not remove a password: {error}"
                ) from error


def _errors() -> ModuleType:
    import keyring.errors

    return keyring.errors


def _is_refused(backend: SecretBackend) -> bool:
    return type(backend).__module__.startswith(_REFUSED_MODULE_PREFIXES)
