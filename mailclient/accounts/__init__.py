"""Accounts and their credentials: the account store and the keyring-backed secrets."""

from mailclient.accounts.model import Account, Security
from mailclient.accounts.store import AccountStore

__all__ = ["Account", "AccountStore", "Security"]
