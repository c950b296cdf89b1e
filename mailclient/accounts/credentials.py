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

When the remembered backend is keyring's Secret Service one, a password is read without
loading keyring at all: loading it (importlib_metadata, jaraco, more_itertools behind
its backend module) costs about 30 ms of CPU, a third of a sync that finds nothing new.
The read goes through what that backend itself uses, secretstorage, and asks for the same
item the same way (see SecretServiceReads); storing and removing go through keyring.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
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
# keyring's Secret Service backend, by the name a profile remembers it.
SECRET_SERVICE_BACKEND = "keyring.backends.SecretService.Keyring"
LOCKED_HELP = "The system keyring is locked. Unlock it and try again."


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
        # False once the Secret Service could not be reached without keyring: keyring
        # chooses then, as for any remembered backend that cannot run.
        self._direct_reads = backend is None

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

        name = self._recalled_name()
        if name is None:
            return None
        try:
            # Raises when the backend cannot run here now (its service is gone, it is
            # another platform's).
            backend: SecretBackend = keyring.core.load_keyring(name)
        except Exception as error:
            log.info("The keyring backend %s cannot be used now (%s); keyring chooses", name, error)
            return None
        return backend

    def _recalled_name(self) -> str | None:
        """The name of the backend the profile remembers, if it is one of keyring's own."""
        if self._remembered is None:
            return None
        try:
            name = self._remembered.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return name if name.startswith(_REMEMBERED_MODULE_PREFIX) else None

    def _direct_reader(self) -> SecretServiceReads | None:
        """The Secret Service, read without keyring, when that is where keyring would look:
        nothing chose a backend but the profile's memory, and it remembers that one."""
        if not self._direct_reads or self._backend is not None or keyring_configured():
            return None
        if self._recalled_name() != SECRET_SERVICE_BACKEND:
            return None
        return SecretServiceReads()

    def reads_directly(self) -> bool:
        """Whether a password is read from the Secret Service without keyring (over
        secretstorage's D-Bus connection, made per read)."""
        return self._direct_reader() is not None

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
            raise CredentialError(LOCKED_HELP) from error
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
        password = self._read(key.username)
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
        reader = self._direct_reader()
        if reader is not None:
            try:
                return reader.get_password(KEYRING_SERVICE, username)
            except ServiceUnavailable as error:
                log.info(
                    "The Secret Service cannot be reached directly (%s); keyring chooses", error
                )
                self._direct_reads = False
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


def keyring_configured() -> bool:
    """Whether keyring's own configuration names a backend, or may: its environment
    variable, or its config file (keyring.core.load_env, load_config). Elsewhere than on
    Windows keyring keeps that file in the XDG config folder; on Windows the question is
    left to keyring itself."""
    if "PYTHON_KEYRING_BACKEND" in os.environ or sys.platform == "win32":
        return True
    root = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return (Path(root) / "python_keyring" / "keyringrc.cfg").exists()


class ServiceUnavailable(Exception):
    """No Secret Service can be reached (no session bus, or no service on it)."""


class SecretServiceReads:
    """Reads of keyring's Secret Service backend (keyring.backends.SecretService), made
    without loading keyring.

    The same as that backend's get_password: the default collection (created if there is
    none, unlocked if locked), the item whose attributes are keyring's default scheme
    (``username``, ``service``), unlocked if locked, its secret read over secretstorage's
    session, which is encrypted (Diffie-Hellman, AES) wherever the service offers it. A
    connection to the session bus of its own per read, so any thread may read.
    """

    def get_password(self, service: str, username: str) -> str | None:
        import secretstorage
        from secretstorage.exceptions import LockedException, SecretServiceNotAvailableException

        try:
            connection = secretstorage.dbus_init()
        except (SecretServiceNotAvailableException, OSError) as error:
            # No session bus, or nothing listening where it should be.
            raise ServiceUnavailable(str(error) or type(error).__name__) from error
        try:
            with contextlib.closing(connection):
                collection = secretstorage.get_default_collection(connection)
                _unlock(collection)
                for item in collection.search_items({"username": username, "service": service}):
                    try:
                        secret = item.get_secret()  # asks whether the item is locked first
                    except LockedException:
                        _unlock(item)
                        secret = item.get_secret()
                    return secret.decode("utf-8")
        except SecretServiceNotAvailableException as error:
            raise ServiceUnavailable(str(error) or type(error).__name__) from error
        except LockedException as error:
            raise CredentialError(LOCKED_HELP) from error
        except CredentialError:
            raise
        except Exception as error:
            # What the D-Bus layer raises when the service failed or went away meanwhile
            # (secretstorage's and jeepney's errors, an OSError).
            log.debug("Secret Service read failed", exc_info=True)
            raise CredentialError(f"The system keyring could not be read: {error}") from error
        return None


class _Lockable(Protocol):
    def is_locked(self) -> bool: ...
    def unlock(self) -> bool: ...


def _unlock(thing: _Lockable) -> None:
    """Unlock a collection or item if it is locked (the service may ask the user)."""
    if thing.is_locked():
        thing.unlock()
        if thing.is_locked():  # the user dismissed the prompt
            raise CredentialError(LOCKED_HELP)


def _errors() -> ModuleType:
    import keyring.errors

    return keyring.errors


def _is_refused(backend: SecretBackend) -> bool:
    return type(backend).__module__.startswith(_REFUSED_MODULE_PREFIXES)
