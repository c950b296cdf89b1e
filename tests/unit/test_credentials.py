"""The credential store: keyed by profile, account and service; never a plaintext fallback."""

from __future__ import annotations

from pathlib import Path

import keyring
import keyring.core
import pytest
import secretstorage
import secretstorage.exceptions
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from mailclient.accounts import credentials
from mailclient.accounts.credentials import (
    KEYRING_SERVICE,
    LOCKED_HELP,
    CredentialStore,
    SecretBackend,
    SecretServiceReads,
    ServiceUnavailable,
    keyring_configured,
)
from mailclient.core.errors import CredentialError, NoKeyringBackend, PasswordMissing


class MemoryKeyring:
    """A fake backend. Not a KeyringBackend subclass: those register themselves with
    keyring and would change which backend every later test in the process gets."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class PlaintextKeyring(MemoryKeyring):
    """Stands for keyrings.alt's file backends, which must be refused."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


A = "a" * 32  # two profile ids
B = "b" * 32


def test_keyed_by_profile_account_and_service() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend, profile_id=A)
    store.set_password("work", "imap", "i-secret")
    store.set_password("work", "smtp", "s-secret")
    store.set_password("home", "imap", "h-secret")
    assert store.get_password("work", "imap") == "i-secret"
    assert store.get_password("work", "smtp") == "s-secret"
    assert set(backend.items) == {
        (KEYRING_SERVICE, f"{A}/work/imap"),
        (KEYRING_SERVICE, f"{A}/work/smtp"),
        (KEYRING_SERVICE, f"{A}/home/imap"),
    }
    store.delete_account("work")
    assert set(backend.items) == {(KEYRING_SERVICE, f"{A}/home/imap")}
    with pytest.raises(PasswordMissing, match="work"):
        store.get_password("work", "imap")
    store.delete_account("work")  # removing twice is fine


def test_two_profiles_with_an_account_of_the_same_name_keep_apart() -> None:
    backend = MemoryKeyring()
    first = CredentialStore(backend, profile_id=A)
    second = CredentialStore(backend, profile_id=B)
    first.set_password("work", "smtp", "first's")
    second.set_password("work", "smtp", "second's")
    assert first.get_password("work", "smtp") == "first's"
    assert second.get_password("work", "smtp") == "second's"
    second.delete_account("work")
    assert first.get_password("work", "smtp") == "first's"
    with pytest.raises(PasswordMissing):
        second.get_password("work", "smtp")


def test_an_entry_without_profile_moves_to_the_first_profile_that_asks() -> None:
    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, "work/imap", "old")
    backend.set_password(KEYRING_SERVICE, "work/smtp", "old-smtp")
    first = CredentialStore(backend, profile_id=A)
    second = CredentialStore(backend, profile_id=B)
    assert first.get_password("work", "imap") == "old"
    assert backend.items == {
        (KEYRING_SERVICE, f"{A}/work/imap"): "old",
        (KEYRING_SERVICE, "work/smtp"): "old-smtp",
    }
    # Taken: the other profile's server never gets it, nor can its `account remove`
    # delete it.
    with pytest.raises(PasswordMissing, match="mailclient account password work"):
        second.get_password("work", "imap")
    second.delete_account("work")
    assert (KEYRING_SERVICE, "work/smtp") in backend.items
    assert first.get_password("work", "smtp") == "old-smtp"
    assert set(backend.items) == {
        (KEYRING_SERVICE, f"{A}/work/imap"),
        (KEYRING_SERVICE, f"{A}/work/smtp"),
    }


def test_an_account_name_with_a_slash_cannot_reach_another_key() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend, profile_id=A)
    store.set_password("a/imap", "smtp", "one")
    store.set_password("a", "imap", "two")
    assert store.get_password("a/imap", "smtp") == "one"
    assert store.get_password("a", "imap") == "two"
    with pytest.raises(ValueError):
        CredentialStore(backend, profile_id=f"{A}/x")


@pytest.mark.parametrize("backend", [fail.Keyring(), PlaintextKeyring()])
def test_no_usable_backend_is_refused_plainly(backend: SecretBackend) -> None:
    store = CredentialStore(backend, profile_id=A)
    with pytest.raises(NoKeyringBackend, match="Secret Service"):
        store.set_password("work", "imap", "pw")
    if isinstance(backend, PlaintextKeyring):
        assert backend.items == {}


class GoneBackend(MemoryKeyring):
    """The Secret Service went away after it was found: D-Bus calls fail."""

    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionResetError(104, "Connection reset by peer")


def test_a_keyring_that_went_away_is_a_credential_error() -> None:
    store = CredentialStore(GoneBackend(), profile_id=A)
    with pytest.raises(CredentialError, match=r"could not be read.*reset"):
        store.get_password("work", "imap")


def test_a_configured_backend_that_cannot_start_is_no_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What keyring does when PYTHON_KEYRING_BACKEND names the Secret Service and there is
    # no D-Bus session.
    def get_keyring() -> None:
        raise RuntimeError("Unable to initialize SecretService: no session bus")

    monkeypatch.setattr(keyring, "get_keyring", get_keyring)
    store = CredentialStore(profile_id=A)
    with pytest.raises(NoKeyringBackend, match=r"Secret Service.*no session bus"):
        store.get_password("work", "imap")


class SecretServiceLike(MemoryKeyring):
    """Stands for keyring's own Secret Service backend, by the name a profile remembers."""


SecretServiceLike.__module__ = "keyring.backends.SecretService"
SecretServiceLike.__qualname__ = "Keyring"


class KWalletLike(MemoryKeyring):
    """Stands for keyring's KWallet backend."""


KWalletLike.__module__ = "keyring.backends.kwallet"
KWalletLike.__qualname__ = "DBusKeyring"


class KeyringChoice:
    """keyring's ways to a backend, as the tests set them: the search of every backend
    (get_keyring), its configuration file, and the loading of one backend by name; and
    the Secret Service as the credential store reads it without keyring (``direct``:
    None when it cannot be reached)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, config_home: Path) -> None:
        self.found: SecretBackend | None = None  # what a search finds; None: no search
        self.configured: SecretBackend | None = None
        self.loadable: dict[str, SecretBackend] = {}
        self.loaded: list[str] = []
        self.direct: MemoryKeyring | None = None
        self.direct_reads = 0
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        # keyring's config file is looked for there (by keyring, and by keyring_configured).
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
        monkeypatch.setattr(keyring, "get_keyring", self.get_keyring)
        monkeypatch.setattr(keyring.core, "load_config", lambda: self.configured)
        monkeypatch.setattr(keyring.core, "load_keyring", self.load_keyring)
        monkeypatch.setattr(SecretServiceReads, "get_password", self.read_directly)

    def read_directly(self, service: str, username: str) -> str | None:
        self.direct_reads += 1
        if self.direct is None:
            raise ServiceUnavailable("no session bus")
        return self.direct.get_password(service, username)

    def get_keyring(self) -> SecretBackend:
        assert self.found is not None, "keyring searched its backends"
        return self.found

    def load_keyring(self, name: str) -> SecretBackend:
        self.loaded.append(name)
        if name not in self.loadable:
            raise RuntimeError(f"{name} cannot run here")
        return self.loadable[name]


SECRET_SERVICE = "keyring.backends.SecretService.Keyring"


@pytest.fixture
def choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> KeyringChoice:
    return KeyringChoice(monkeypatch, tmp_path / "config")


def test_the_backend_keyring_found_is_remembered_and_asked_directly_next_time(
    choice: KeyringChoice, tmp_path: Path
) -> None:
    remembered = tmp_path / "keyring-backend"
    backend = choice.found = SecretServiceLike()
    CredentialStore(profile_id=A, remembered=remembered).set_password("work", "imap", "pw")
    assert remembered.read_text() == f"{SECRET_SERVICE}\n"

    choice.found = None  # the next process must not search again
    choice.loadable[SECRET_SERVICE] = backend
    assert CredentialStore(profile_id=A, remembered=remembered).get_password("work", "imap") == "pw"
    assert choice.loaded == [SECRET_SERVICE]


def test_a_remembered_backend_that_cannot_run_now_leaves_the_choice_to_keyring(
    choice: KeyringChoice, tmp_path: Path
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")  # not in choice.loadable: it cannot run
    kwallet = choice.found = KWalletLike()
    kwallet.set_password(KEYRING_SERVICE, f"{A}/work/imap", "pw")
    assert CredentialStore(profile_id=A, remembered=remembered).get_password("work", "imap") == "pw"
    assert choice.loaded == [SECRET_SERVICE]
    assert remembered.read_text() == "keyring.backends.kwallet.DBusKeyring\n"


def test_keyrings_configuration_wins_over_the_remembered_backend(
    choice: KeyringChoice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")
    choice.loadable[SECRET_SERVICE] = SecretServiceLike()
    configured = choice.configured = KWalletLike()
    store = CredentialStore(profile_id=A, remembered=remembered)
    store.set_password("work", "imap", "in the configured one")
    assert configured.items == {(KEYRING_SERVICE, f"{A}/work/imap"): "in the configured one"}

    choice.configured = None
    from_environment = choice.found = KWalletLike()  # keyring reads PYTHON_KEYRING_BACKEND
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.kwallet.DBusKeyring")
    CredentialStore(profile_id=A, remembered=remembered).set_password("work", "imap", "env")
    assert from_environment.items == {(KEYRING_SERVICE, f"{A}/work/imap"): "env"}
    assert choice.loaded == []
    assert remembered.read_text() == f"{SECRET_SERVICE}\n"  # a configured choice is not kept


@pytest.mark.parametrize("name", ["keyrings.alt.file.PlaintextKeyring", "os.system", "", "\udcff"])
def test_only_keyrings_own_backends_are_loaded_by_their_remembered_name(
    choice: KeyringChoice, tmp_path: Path, name: str
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{name}\n", errors="surrogateescape")
    choice.found = SecretServiceLike()
    CredentialStore(profile_id=A, remembered=remembered).set_password("work", "imap", "pw")
    assert choice.loaded == []
    assert remembered.read_text() == f"{SECRET_SERVICE}\n"


def test_a_refused_backend_is_never_remembered(choice: KeyringChoice, tmp_path: Path) -> None:
    remembered = tmp_path / "keyring-backend"
    choice.found = PlaintextKeyring()
    with pytest.raises(NoKeyringBackend):
        CredentialStore(profile_id=A, remembered=remembered).set_password("work", "imap", "pw")
    assert not remembered.exists()


def test_the_remembered_secret_service_is_read_without_keyring(
    choice: KeyringChoice, tmp_path: Path
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")
    service = choice.direct = MemoryKeyring()
    service.set_password(KEYRING_SERVICE, f"{A}/work/imap", "pw")
    store = CredentialStore(profile_id=A, remembered=remembered)
    assert store.reads_directly()
    assert store.get_password("work", "imap") == "pw"
    assert choice.loaded == []  # keyring was not asked to load its backend

    # Storing goes through keyring's own backend.
    choice.loadable[SECRET_SERVICE] = service
    store.set_password("work", "smtp", "smtp-pw")
    assert choice.loaded == [SECRET_SERVICE]
    assert service.items[(KEYRING_SERVICE, f"{A}/work/smtp")] == "smtp-pw"


def test_a_secret_service_that_cannot_be_reached_leaves_the_choice_to_keyring(
    choice: KeyringChoice, tmp_path: Path
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")  # choice.direct is None: no session bus
    kwallet = choice.found = KWalletLike()
    kwallet.set_password(KEYRING_SERVICE, f"{A}/work/imap", "pw")
    store = CredentialStore(profile_id=A, remembered=remembered)
    assert store.get_password("work", "imap") == "pw"
    assert store.get_password("work", "imap") == "pw"
    assert choice.direct_reads == 1  # not tried again by the same store
    assert remembered.read_text() == "keyring.backends.kwallet.DBusKeyring\n"


@pytest.mark.parametrize("remembered_name", ["keyring.backends.kwallet.DBusKeyring", None])
def test_only_the_remembered_secret_service_is_read_directly(
    choice: KeyringChoice, tmp_path: Path, remembered_name: str | None
) -> None:
    remembered = tmp_path / "keyring-backend"
    if remembered_name is not None:
        remembered.write_text(f"{remembered_name}\n")
        choice.loadable[remembered_name] = KWalletLike()
    else:
        choice.found = KWalletLike()
    choice.direct = MemoryKeyring()
    store = CredentialStore(profile_id=A, remembered=remembered)
    assert not store.reads_directly()
    with pytest.raises(PasswordMissing):
        store.get_password("work", "imap")
    assert choice.direct_reads == 0


def test_keyrings_configuration_is_asked_before_any_direct_read(
    choice: KeyringChoice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")
    choice.direct = MemoryKeyring()
    store = CredentialStore(profile_id=A, remembered=remembered)
    assert not keyring_configured() and store.reads_directly()

    # Where keyring itself looks for its config file (the fixture points XDG_CONFIG_HOME
    # elsewhere than the user's).
    config = keyring.core._config_path()
    config.parent.mkdir(parents=True)
    config.write_text("[backend]\ndefault-keyring=keyring.backends.kwallet.DBusKeyring\n")
    assert keyring_configured() and not store.reads_directly()
    configured = choice.configured = KWalletLike()
    configured.set_password(KEYRING_SERVICE, f"{A}/work/imap", "configured")
    assert store.get_password("work", "imap") == "configured"
    config.unlink()

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.kwallet.DBusKeyring")
    assert keyring_configured()
    assert not CredentialStore(profile_id=A, remembered=remembered).reads_directly()
    assert choice.direct_reads == 0


def test_a_store_given_its_backend_never_reads_directly(
    choice: KeyringChoice, tmp_path: Path
) -> None:
    remembered = tmp_path / "keyring-backend"
    remembered.write_text(f"{SECRET_SERVICE}\n")
    backend = MemoryKeyring()
    backend.set_password(KEYRING_SERVICE, f"{A}/work/imap", "given")
    store = CredentialStore(backend, profile_id=A, remembered=remembered)
    assert not store.reads_directly()
    assert store.get_password("work", "imap") == "given"
    assert choice.direct_reads == 0


@pytest.mark.parametrize("address", [None, "unix:path=/nonexistent/bus"])
def test_no_session_bus_is_no_secret_service(
    monkeypatch: pytest.MonkeyPatch, address: str | None
) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    with pytest.raises(ServiceUnavailable):
        SecretServiceReads().get_password(KEYRING_SERVICE, f"{A}/work/imap")


class Lockable:
    """A collection or item of the Secret Service; ``unlocks``: whether the user unlocks
    it when asked."""

    def __init__(self, locked: bool, unlocks: bool) -> None:
        self.locked = locked
        self.unlocks = unlocks
        self.asked = 0

    def is_locked(self) -> bool:
        return self.locked

    def unlock(self) -> bool:
        self.asked += 1
        self.locked = not self.unlocks
        return self.locked  # dismissed


def test_a_locked_collection_or_item_is_unlocked_or_said_to_be_locked() -> None:
    open_one = Lockable(locked=False, unlocks=False)
    credentials._unlock(open_one)
    assert open_one.asked == 0
    unlocked = Lockable(locked=True, unlocks=True)
    credentials._unlock(unlocked)
    assert unlocked.asked == 1
    with pytest.raises(CredentialError, match=LOCKED_HELP):
        credentials._unlock(Lockable(locked=True, unlocks=False))


class LockedItem(Lockable):
    """An item of the Secret Service whose secret can be read once it is unlocked."""

    def get_secret(self) -> bytes:
        if self.locked:
            raise secretstorage.exceptions.LockedException("Item is locked!")
        return "pässword".encode()


class Collection(Lockable):
    def __init__(self, items: list[LockedItem]) -> None:
        super().__init__(locked=False, unlocks=True)
        self.items = items
        self.searched: list[dict[str, str]] = []

    def search_items(self, attributes: dict[str, str]) -> list[LockedItem]:
        self.searched.append(attributes)
        return self.items


@pytest.mark.parametrize("unlocks", [True, False])
def test_a_locked_item_is_unlocked_before_its_secret_is_read(
    monkeypatch: pytest.MonkeyPatch, unlocks: bool
) -> None:
    item = LockedItem(locked=True, unlocks=unlocks)
    collection = Collection([item])
    closed: list[bool] = []

    class Connection:
        def close(self) -> None:
            closed.append(True)

    monkeypatch.setattr(secretstorage, "dbus_init", Connection)
    monkeypatch.setattr(secretstorage, "get_default_collection", lambda connection: collection)
    reads = SecretServiceReads()
    if unlocks:
        assert reads.get_password(KEYRING_SERVICE, f"{A}/work/imap") == "pässword"
    else:
        with pytest.raises(CredentialError, match=LOCKED_HELP):
            reads.get_password(KEYRING_SERVICE, f"{A}/work/imap")
    assert item.asked == 1
    assert collection.searched == [{"username": f"{A}/work/imap", "service": KEYRING_SERVICE}]
    assert closed == [True]
