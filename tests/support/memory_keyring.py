"""A keyring backend in a dict, for tests whose subject is not the keyring itself.

A plain class, not a KeyringBackend subclass: those register themselves with keyring and
would change which backend every later test in the process gets.
"""

from __future__ import annotations

import threading

# The profile id of credential stores in tests that have no profile folder.
PROFILE_ID = "0123456789abcdef0123456789abcdef"


class MemoryKeyring:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}
        self.lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self.lock:
            return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self.lock:
            self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self.lock:
            self.secrets.pop((service, username), None)
