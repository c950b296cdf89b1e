"""The account store: the profile's config file, versioned and written atomically."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from mailclient.accounts.model import Account
from mailclient.core.atomic import write_atomic
from mailclient.core.errors import AccountExists, AccountNotFound, ConfigError, InvalidInput

CONFIG_VERSION = 1


class AccountStore:
    """Accounts and settings of one profile, kept in ``config.json``.

    Every change is validated, then written with write_atomic(): a crash mid-save
    leaves the previous file intact.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._accounts: list[Account] = []
        self._settings: dict[str, Any] = {}
        self._load()

    @property
    def path(self) -> Path:
        return self._path

    def _load(self) -> None:
        self._accounts, self._settings = [], {}
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as error:
            raise ConfigError(f"Cannot read {self._path}: {error.strerror}.") from error
        try:
            data = json.loads(raw)
            version = int(data.get("version", 0))
        except (ValueError, AttributeError, TypeError) as error:
            raise ConfigError(
                f"The configuration file {self._path} is damaged ({error}). "
                "Move it aside to start with no accounts."
            ) from error
        if version > CONFIG_VERSION:
            raise ConfigError(
                f"{self._path} was written by a newer mailclient (format {version}); "
                "please upgrade."
            )
        entries, settings = data.get("accounts", []), data.get("settings", {})
        if not isinstance(entries, list):
            raise ConfigError(self._damaged('"accounts" is not a list'))
        if not isinstance(settings, dict):
            raise ConfigError(self._damaged('"settings" is not an object'))
        accounts = []
        for number, entry in enumerate(entries, 1):
            try:
                accounts.append(Account.from_dict(entry))
            except InvalidInput as error:
                name = entry.get("name") if isinstance(entry, dict) else None
                which = f"account {number}" + (f" ({name!r})" if isinstance(name, str) else "")
                raise ConfigError(
                    self._damaged(f"{which}, {error.field}: {error.reason}")
                ) from None
        self._accounts, self._settings = accounts, dict(settings)

    def _damaged(self, problem: str) -> str:
        return (
            f"The configuration file {self._path} has a mistake: {problem}. Correct it, or "
            "move the file aside to start with no accounts."
        )

    def _save(self) -> None:
        data = {
            "version": CONFIG_VERSION,
            "accounts": [a.to_dict() for a in self._accounts],
            "settings": self._settings,
        }
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        try:
            write_atomic(self._path, text.encode("utf-8"))
        except OSError as error:
            raise ConfigError(
                f"Cannot save the configuration to {self._path}: {error.strerror}. "
                "Nothing was changed."
            ) from error

    def accounts(self) -> list[Account]:
        with self._lock:
            return list(self._accounts)

    def get(self, name: str) -> Account:
        with self._lock:
            for account in self._accounts:
                if account.name == name:
                    return account
        raise AccountNotFound(name)

    def add(self, account: Account) -> Account:
        account = account.validated()
        with self._lock:
            self._load()
            if any(a.name == account.name for a in self._accounts):
                raise AccountExists(account.name)
            self._accounts.append(account)
            try:
                self._save()
            except ConfigError:
                self._accounts.pop()
                raise
        return account

    def update(self, name: str, account: Account) -> Account:
        """Replace account ``name`` with ``account`` (which may carry a new name)."""
        account = account.validated()
        with self._lock:
            self._load()
            index = self._index(name)
            if account.name != name and any(a.name == account.name for a in self._accounts):
                raise AccountExists(account.name)
            old = self._accounts[index]
            self._accounts[index] = account
            try:
                self._save()
            except ConfigError:
                self._accounts[index] = old
                raise
        return account

    def remove(self, name: str) -> Account:
        with self._lock:
            self._load()
            index = self._index(name)
            removed = self._accounts.pop(index)
            try:
                self._save()
            except ConfigError:
                self._accounts.insert(index, removed)
                raise
        return removed

    def reorder(self, names: list[str]) -> None:
        with self._lock:
            self._load()
            by_name = {a.name: a for a in self._accounts}
            if sorted(names) != sorted(by_name):
                raise ValueError("reorder() needs every account name exactly once")
            old = self._accounts
            self._accounts = [by_name[n] for n in names]
            try:
                self._save()
            except ConfigError:
                self._accounts = old
                raise

    def setting(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._settings.get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self.set_settings({key: value})

    def set_settings(self, values: dict[str, Any]) -> None:
        """Change several settings with one write of the file."""
        with self._lock:
            self._load()
            old = dict(self._settings)
            self._settings.update(values)
            try:
                self._save()
            except ConfigError:
                self._settings = old
                raise

    def _index(self, name: str) -> int:
        for index, account in enumerate(self._accounts):
            if account.name == name:
                return index
        raise AccountNotFound(name)
