"""Adding, renaming and removing an account together with its passwords, so that neither is
left behind.

Blocking (config file, keyring): call from a worker thread or the command line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mailclient.accounts.credentials import SERVICES, CredentialStore, Service
from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.core.atomic import write_atomic
from mailclient.core.errors import AccountExists, AccountNotFound, MailclientError

log = logging.getLogger(__name__)


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


# Next to the config while an account is renamed: which rename a killed process left
# part-done, for finish_rename() at the next start.
RENAME_JOURNAL = "account-rename.json"


@dataclass(frozen=True)
class FinishedRename:
    """A rename that a killed process left part-done, finished by finish_rename()."""

    old: str
    new: str
    renamed: bool  # False: undone, the account keeps its old name


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
    A journal next to the config names the rename until it is over: a process killed on
    the way leaves it for finish_rename() at the next start. ``move_data`` must be
    idempotent (it runs again then).
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
    # An earlier rename's journal must not be overwritten before it is acted on.
    finish_rename(accounts, credentials, move_data)
    journal = _journal(accounts)
    write_atomic(journal, json.dumps({"old": old, "new": new}).encode())
    try:
        credentials.copy_account(old, new)
        move_data(old, new)
        accounts.update(old, renamed)
    except BaseException:
        # The data back to the name the config keeps; if that fails too, the journal
        # stays and the next start moves it.
        try:
            move_data(new, old)
        finally:
            credentials.delete_account(new)
        journal.unlink()
        raise
    _forget_old(credentials, journal, old)
    return renamed


def finish_rename(
    accounts: AccountStore, credentials: CredentialStore, move_data: Callable[[str, str], None]
) -> FinishedRename | None:
    """Finish the rename a killed process left part-done, if there is one.

    The config decides: naming the new name, the rename was made and only the old secrets
    are left to remove; naming the old one, it is undone (data moved back, copied secrets
    removed). Call it where no rename can be running: holding the profile's instance lock.
    Raises what a step raises (a keyring that cannot be reached); the journal stays then.
    """
    journal = _journal(accounts)
    try:
        entry = json.loads(journal.read_bytes())
        old, new = str(entry["old"]), str(entry["new"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # Not one of ours (it is written whole before the first step): nothing to finish.
        journal.unlink()
        return None
    names = {a.name for a in accounts.accounts()}
    if new in names and old not in names:
        _forget_old(credentials, journal, old)
        return FinishedRename(old, new, renamed=True)
    if old in names and new not in names:
        move_data(new, old)
        credentials.delete_account(new)
    journal.unlink()
    return FinishedRename(old, new, renamed=False)


def _journal(accounts: AccountStore) -> Path:
    return accounts.path.with_name(RENAME_JOURNAL)


def _forget_old(credentials: CredentialStore, journal: Path, old: str) -> None:
    """The rename is made: the secrets under the old name go, then the journal."""
    try:
        credentials.delete_account(old)
    except MailclientError as error:
        # Renamed all the same; the next start removes them.
        log.warning("The old secrets of %s stay until the next start: %s", old, error)
        return
    journal.unlink()


def set_passwords(
    credentials: CredentialStore, name: str, password: str, services: tuple[Service, ...] = SERVICES
) -> None:
    for service in services:
        credentials.set_password(name, service, password)
