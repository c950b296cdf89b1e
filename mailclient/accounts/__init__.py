"""Accounts and how they sign in: the account store, the keyring-backed secrets, OAuth2."""

from mailclient.accounts.model import Account, Security
from mailclient.accounts.store import AccountStore

__all__ = ["Account", "AccountStore", "Security"]
