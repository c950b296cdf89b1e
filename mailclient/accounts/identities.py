"""The addresses a message can be sent from: each account's own and its other identities.

The compose window offers them in its From field; these rules choose one for a reply (the
address the original was sent to) and find the one a reopened draft was written from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from mailclient.accounts.model import Account


@dataclass(frozen=True)
class Identity:
    """One address the From field offers: an account's own, or one of its identities."""

    account: str
    sender: str  # "Name <address>"
    address: str
    signature: str = ""

    @property
    def label(self) -> str:
        return f"{self.sender}  ({self.account})"


def identities_of(accounts: Sequence[Account]) -> list[Identity]:
    """Every account's main address, then its other identities, account by account."""
    found = []
    for account in accounts:
        found.append(Identity(account.name, account.sender, account.email, account.signature))
        for address in account.identities:
            if address.lower() == account.email.lower():
                continue
            other = replace(account, email=address)
            found.append(Identity(account.name, other.sender, address, account.signature))
    return found


def choose_identity(identities: Sequence[Identity], account: str, recipients: str) -> Identity:
    """The identity of ``account`` the original was addressed to, else its main one."""
    mine = [i for i in identities if i.account == account] or list(identities)
    lowered = recipients.lower()
    for identity in mine:
        if identity.address.lower() in lowered:
            return identity
    return mine[0]


def identity_index(identities: Sequence[Identity], account: str, sender: str) -> int:
    """Where in ``identities`` a draft of ``account`` from ``sender`` stands: the same From,
    else the account's identity whose address the From holds, else the account's first;
    0 when the account offers none."""
    mine = [(n, i) for n, i in enumerate(identities) if i.account == account]
    lowered = sender.lower()
    for match in (
        lambda i: i.sender == sender,
        lambda i: i.address.lower() in lowered,
        lambda i: True,
    ):
        for index, identity in mine:
            if match(identity):
                return index
    return 0
