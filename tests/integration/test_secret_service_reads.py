"""The credential store's own reads of the Secret Service (without keyring) find what
keyring's Secret Service backend stored, over an encrypted session, against the rig's
gnome-keyring."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import secretstorage.item
from keyring.backends import SecretService
from secretstorage.dhcrypto import Session

from mailclient.accounts.credentials import KEYRING_SERVICE, SecretServiceReads
from tests.rig import SecretService as Rig


@pytest.fixture
def stored(secret_service: Rig) -> Iterator[tuple[str, str]]:
    """(user name, password) stored by keyring's Secret Service backend, as ``account
    add`` stores one; removed afterwards."""
    backend = SecretService.Keyring()
    username = f"{uuid.uuid4().hex}/work/imap"
    password = "pässwörd €, long enough for two AES blocks"
    backend.set_password(KEYRING_SERVICE, username, password)
    yield username, password
    backend.delete_password(KEYRING_SERVICE, username)


def test_the_password_keyring_stored_is_read(
    stored: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    username, password = stored
    sessions: list[Session] = []
    opened = secretstorage.item.open_session

    def open_session(connection: object) -> Session:
        session = opened(connection)
        sessions.append(session)
        return session

    monkeypatch.setattr(secretstorage.item, "open_session", open_session)
    assert SecretServiceReads().get_password(KEYRING_SERVICE, username) == password
    # The secret crossed the bus encrypted (dh-ietf1024-sha256-aes128-cbc-pkcs7).
    assert [session.encrypted for session in sessions] == [True]


def test_only_the_same_service_and_user_name_match(stored: tuple[str, str]) -> None:
    username, _ = stored
    reads = SecretServiceReads()
    assert reads.get_password(KEYRING_SERVICE, f"{username}x") is None
    assert reads.get_password(f"{KEYRING_SERVICE}-other", username) is None
    assert reads.get_password(KEYRING_SERVICE, username.rsplit("/", 1)[0]) is None
