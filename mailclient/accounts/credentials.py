"""The credential store: secrets in the system keyring, keyed by profile, account and kind.

This is the only module that imports ``keyring``. Its calls may block on D-Bus, so they
belong on worker threads or in the command line, never on the GUI thread. ``keyring`` is
imported on first use: loading it (and its plugins) costs the window ~75 ms at start-up.

Every entry is the keyring service ``mailclient`` with the user name
``<profile id>/<account>/<kind>`` (CredentialKey): two profiles may hold accounts of the
same name, and their secrets never meet. Entries of older versions (``<account>/<kind>``,
without a profile) are moved under the profile's key the first time the profile asks for
them.

Which backend keyring uses is its own choice: the one its configuration names
(``PYTHON_KEYRING_BACKEND``, its config file), else the best of all it can find. Finding
them loads every backend keyring knows, one of which (macOS') looks for its libraries on
Linux by running ldconfig, gcc and ld: about 0.1 s at each start of the command line. So
the profile remembers which of keyring's own backends keyring chose for it (the file
``keyring-backend``, a class name, no secret) and asks that one directly as long as it
can run and nothing is configured; otherwise keyring chooses again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal, Protocol, TypeVar

from mailclient.core.atomic import write_atomic
from mailclient.core.errors import CredentialError, NoKeyringBackend, PasswordMissing

log = logging.getLogger(__name__)
T = TypeVar("T")

# The servers an account signs in to; each has a password of its own.
Service = Literal["imap", "smtp"]
SERVICES: tuple[Service, ...] = ("imap", "smtp")
# The kinds of secret an account has: a password per server, or one OAuth2 refresh token
# that stands for both (the access tokens made from it live in memory only).
Kind = Literal["imap", "smtp", "oauth2"]
KINDS: tuple[Kind, ...] = ("imap", "smtp", "oauth2")
KEYRING_SERVICE = "mailclient"

NO_BACKEND_HELP = (
    "No system keyring is available to keep passwords safe. Start a Secret Service "
    "(for example gnome-keyring-daemon or KeePassXC with Secret Service enabled) in your "
    "session and try again. mailclient never stores passwords in a file."
)

# Backends that keep secrets in a plain or weakly protected file: never acceptable.
_REFUSED_MODULE_PREFIXES = ("keyrings.alt", "keyring.backends.null", "keyring.backends.fail")
# The backends a profile may remember: keyring's own. The name is imported when read back,
# so a plugin's (or anything else a changed file names) is left to keyring's choice.
_REMEMBERED_MODULE_PREFIX = "keyring.backends."


class SecretBackend(Protocol):
    """What we use of a keyring backend (keyring.backend.KeyringBackend fits)."""

    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


@dataclass(frozen=True)
class CredentialKey:
    """Names one secret: of which account of which profile, and what kind."""

    profile_id: str
    account: str
    kind: Kind

    @property
    def username(self) -> str:
        """The keyring user name. The profile id holds no "/" and the kind is last, so an
        account name with "/" in it cannot make two keys collide."""
        return f"{self.profile_id}/{self.account}/{self.kind}"

    @property
    def legacy_username(self) -> str:
        """Where versions before profile ids kept this secret (shared by all profiles)."""
        return f"{self.account}/{self.kind}"


class CredentialStore:
    """Secrets of the accounts of one profile, shared by the IMAP and SMTP modules and the UI.

    ``profile_id`` is the profile's stable id (Profile.id()). Without a ``backend``, keyring
    chooses one, and ``remembered`` (a file in the profile) keeps that choice for the next
    start (see the module docstring).
    """

    def __init__(
        self,
        backend: SecretBackend | None = None,
        *,
        profile_id: str,
        remembered: Path | None = None,
    ) -> None:
        if not profile_id or "/" in profile_id:
            raise ValueError(f"{profile_id!r} is not a profile id")
        self._backend = backend
        self.profile_id = profile_id
        self._remembered = remembered

    def key(self, account: str, service: Kind) -> CredentialKey:
        return CredentialKey(self.profile_id, account, service)

    def _keyring(self) -> SecretBackend:
        from keyring.backends import chainer, fail

        if self._backend is None:
            try:
                found, detected = self._choose()
            except Exception as error:
                # A backend chosen in keyring's configuration (PYTHON_KEYRING_BACKEND, its
                # config file) that cannot start: the Secret Service without a D-Bus session.
                log.debug("No keyring backend", exc_info=True)
                raise NoKeyringBackend(f"{NO_BACKEND_HELP} ({error})") from error
        else:
            found, detected = self._backend, False
        candidates = found.backends if isinstance(found, chainer.ChainerBackend) else [found]
        usable = [b for b in candidates if not _is_refused(b)]
        if not usable or isinstance(found, fail.Keyring):
            raise NoKeyringBackend(NO_BACKEND_HELP)
        self._backend = usable[0]
        if detected:
            self._remember(self._backend)
        return self._backend

    def _choose(self) -> tuple[SecretBackend, bool]:
        """keyring's backend for this profile, and whether keyring had to look for the best
        of all it knows (a choice worth remembering)."""
        import keyring
        import keyring.core

        if "PYTHON_KEYRING_BACKEND" in os.environ:
            return keyring.get_keyring(), False
        configured: SecretBackend | None = keyring.core.load_config()
        if configured is not None:
            return configured, False
        remembered = self._recall()
        if remembered is not None:
            return remembered, False
        return keyring.get_keyring(), True

    def _recall(self) -> SecretBackend | None:
        """The remembered backend, if there is one and it can run now."""
        import keyring.core

        if self._remembered is None:
            return None
        try:
            name = self._remembered.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        if not name.startswith(_REMEMBERED_MODULE_PREFIX):
            return None
        try:
            # Raises when the backend cannot run here now (its service is gone, it is
            # another platform's).
            backend: SecretBackend = keyring.core.load_keyring(name)
        except Exception as error:
            log.info("The keyring backend %s cannot be used now (%s); keyring chooses", name, error)
            return None
        return backend

    def _remember(self, backend: SecretBackend) -> None:
        name = f"{type(backend).__module__}.{type(backend).__qualname__}"
        if self._remembered is None or not name.startswith(_REMEMBERED_MODULE_PREFIX):
            return
        try:
            write_atomic(self._remembered, f"{name}\n".encode())
        except OSError as error:
            # Only the next start is slower: keyring chooses again.
            log.warning("Cannot remember the keyring backend in %s: %s", self._remembered, error)

    def _call(self, action: Callable[[SecretBackend], T], failed: str) -> T:
        """Run ``action`` on the backend; its failures become a CredentialError saying
        ``failed`` ("could not be read") and why."""
        backend = self._keyring()
        errors = _errors()
        try:
            return action(backend)
        except errors.KeyringLocked as error:
            raise CredentialError(
                "The system keyring is locked. Unlock it and try again."
            ) from error
        except errors.PasswordDeleteError:
            raise
        except Exception as error:
            # KeyringError, and what the D-Bus layer raises when the Secret Service went
            # away since it was found (an OSError, secretstorage's and jeepney's errors).
            log.debug("Keyring call failed", exc_info=True)
            raise CredentialError(f"The system keyring {failed}: {error}") from error

    def set_password(self, account: str, service: Kind, password: str) -> None:
        key = self.key(account, service)
        self._call(
            lambda b: b.set_password(KEYRING_SERVICE, key.username, password),
            "refused to store the password",
        )

    def get_password(self, account: str, service: Kind) -> str:
        key = self.key(account, service)
        password = self._call(
            lambda b: b.get_password(KEYRING_SERVICE, key.username), "could not be read"
        )
        if password is None:
            password = self._adopt_legacy(key)
        if password is None:
            raise PasswordMissing(account, service)
        return password

    def _adopt_legacy(self, key: CredentialKey) -> str | None:
        """Move a secret stored before profile ids under this profile's key.

        The old entry belonged to every profile with an account of this name; the first
        profile that asks takes it, so that no other profile's ``account remove`` can
        delete it nor its password go to another profile's server.
        """
        password = self._call(
            lambda b: b.get_password(KEYRING_SERVICE, key.legacy_username), "could not be read"
        )
        if password is None:
            return None
        self._call(
            lambda b: b.set_password(KEYRING_SERVICE, key.username, password),
            "refused to store the password",
        )
        self._delete(key.legacy_username)
        log.info("Moved the %s secret of %s under this profile's key", key.kind, key.account)
        return password

    def _delete(self, username: str) -> None:
        try:
            self._call(
                lambda b: b.delete_password(KEYRING_SERVICE, username),
                "could not remove a password",
            )
        except _errors().PasswordDeleteError:
            pass  # not there: nothing to remove

    def copy_account(self, old: str, new: str) -> list[Kind]:
        """Store the secrets of account ``old`` under account ``new`` too (the account being
        renamed; delete_account(old) once it is); returns the kinds there were."""
        copied: list[Kind] = []
        for kind in KINDS:
            source, target = self.key(old, kind).username, self.key(new, kind).username
            secret = self._read(source)
            if secret is None:
                continue
            self._store(target, secret)
            copied.append(kind)
        return copied

    def _read(self, username: str) -> str | None:
        return self._call(lambda b: b.get_password(KEYRING_SERVICE, username), "could not be read")

    def _store(self, username: str, secret: str) -> None:
        self._call(
            lambda b: b.set_password(KEYRING_SERVICE, username, secret),
            "refused to store the password",
        )

    def delete_account(self, account: str) -> None:
        """Remove every secret of ``account`` in this profile; missing ones are not an error.

        Entries of older versions without a profile id are left alone: they may belong
        to an account of the same name in another profile.
        """
        for kind in KINDS:
            self._delete(self.key(account, kind).username)


def _errors() -> ModuleType:
    import keyring.errors

    return keyring.errors


def _is_refused(backend: SecretBackend) -> bool:
    return type(backend).__module__.startswith(_REFUSED_MODULE_PREFIXES)
