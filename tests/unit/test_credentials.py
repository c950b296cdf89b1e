"""The credential store: keyed by account and service, and never a plaintext fallback."""

from __future__ import annotations

import pytest
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from mailclient.accounts.credentials import KEYRING_SERVICE, CredentialStore, SecretBackend
from mailclient.core.errors import NoKeyringBackend, PasswordMissing


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


def test_keyed_by_account_and_service() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend)
    store.set_password("work", "imap", "i-secret")
    store.set_password("work", "smtp", "s-secret")
    store.set_password("home", "imap", "h-secret")
    assert store.get_password("work", "imap") == "i-secret"
    assert store.get_password("work", "smtp") == "s-secret"
    assert set(backend.items) == {
        (KEYRING_SERVICE, "work/imap"),
        (KEYRING_SERVICE, "work/smtp"),
        (KEYRING_SERVICE, "home/imap"),
    }
    store.delete_account("work")
    assert set(backend.items) == {(KEYRING_SERVICE, "home/imap")}
    with pytest.raises(PasswordMissing, match="work"):
        store.get_password("work", "imap")
    store.delete_account("work")  # removing twice is fine


@pytest.mark.parametrize("backend", [fail.Keyring(), PlaintextKeyring()])
def test_no_usable_backend_is_refused_plainly(backend: SecretBackend) -> None:
    store = CredentialStore(backend)
    with pytest.raises(NoKeyringBackend, match="Secret Service"):
        store.set_password("work", "imap", "pw")
    if isinstance(backend, PlaintextKeyring):
        assert backend.items == {}
