"""Adding, renaming and removing an account together with its passwords, so that neither is
left behind.

Blocking (config file, keyring): call from a worker thread or the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mailclient.accounts.credentials import SERVICES, CredentialStore, Service
from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AccountExists, AccountNotFound, MailclientError


def add_account(
    accounts: AccountStore, credentials: CredentialStore, account: Account, password: str
) -> Account:
    """Store the password for IMAP and SMTP, then the account.

    If the account cannot be saved, its passwords are removed again.
    """
    account = account.validated()
    try:
        accounts.get(account.name)
    except AccountNotFound:
        pass
    else:
        # Checked first: the password of an existing account must not be overwritten.
        raise AccountExists(account.name)
    for service in SERVICES:
        credentials.set_password(account.name, service, password)
    try:
        return accounts.add(account)
    except MailclientError:
        credentials.delete_account(account.name)
        raise


def remove_account(accounts: AccountStore, credentials: CredentialStore, name: str) -> Account:
    """Remove the account's passwords from the keyring, then the account from the config.

    In this order, a keyring that cannot be reached leaves everything as it was (to try
    again later), never passwords that no account would remove any more.
    """
    account = accounts.get(name)
    credentials.delete_account(account.name)
    return accounts.remove(account.name)


def rename_account(
    accounts: AccountStore,
    credentials: CredentialStore,
    old: str,
    new: str,
    move_data: Callable[[str, str], None],
) -> Account:
    """Rename account ``old`` to ``new``: its secrets, its data (``move_data(old, new)``:
    the stored mail, the outbox, drafts), then the config, which makes it final.

    A step that fails undoes the ones before it, so the account is either renamed with
    everything that belongs to it or not at all; the secrets under the old name go last.
    """
    account = accounts.get(old)
    renamed = replace(account, name=new).validated()
    if new == old:
        return account
    try:
        accounts.get(new)
    except AccountNotFound:
        pass
    else:
        raise AccountExists(new)
    credentials.copy_account(old, new)
    try:
        move_data(old, new)
    except BaseException:
        credentials.delete_account(new)
        raise
    try:
        accounts.update(old, renamed)
    except BaseException:
        move_data(new, old)
        credentials.delete_account(new)
        raise
    credentials.delete_account(old)
    return renamed


def set_passwords(
    credentials: CredentialStore, name: str, password: str, services: tuple[Service, ...] = SERVICES
) -> None:
    for service in services:
        credentials.set_password(name, service, password)
