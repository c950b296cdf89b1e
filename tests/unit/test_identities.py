"""The From addresses offered for a message: listed, chosen for a reply, found for a draft."""

from __future__ import annotations

from mailclient.accounts.identities import (
    Identity,
    choose_identity,
    identities_of,
    identity_index,
)
from mailclient.accounts.model import Account

ACCOUNTS = [
    Account(
        name="work",
        email="alice@example.org",
        imap_host="h",
        smtp_host="h",
        display_name="Alice Example",
        signature="Alice",
        identities=("alice@example.net", "ALICE@example.org"),
    ),
    Account(
        name="home",
        email="alice@home.example",
        imap_host="h",
        smtp_host="h",
        display_name="Alice",
        signature="A.",
    ),
]
IDENTITIES = identities_of(ACCOUNTS)


def test_every_account_then_its_other_addresses_once() -> None:
    assert [i.label for i in IDENTITIES] == [
        "Alice Example <alice@example.org>  (work)",
        "Alice Example <alice@example.net>  (work)",
        "Alice <alice@home.example>  (home)",
    ]
    assert IDENTITIES[1] == Identity(
        "work", "Alice Example <alice@example.net>", "alice@example.net", "Alice"
    )


def test_a_reply_comes_from_the_address_the_original_was_sent_to() -> None:
    chosen = choose_identity(IDENTITIES, "work", "bob@example.org, Alice <ALICE@example.NET>")
    assert chosen.address == "alice@example.net"


def test_a_reply_to_none_of_the_addresses_comes_from_the_accounts_own() -> None:
    assert choose_identity(IDENTITIES, "home", "list@example.org").address == "alice@home.example"
    # An account that offers none (removed since): the first of all.
    assert choose_identity(IDENTITIES, "gone", "x@example.org") is IDENTITIES[0]


def test_a_draft_finds_its_from_by_sender_then_address_then_account() -> None:
    assert identity_index(IDENTITIES, "work", "Alice Example <alice@example.net>") == 1
    # The name changed since the draft was written: the address still matches.
    assert identity_index(IDENTITIES, "work", "Old Name <alice@example.net>") == 1
    assert identity_index(IDENTITIES, "home", "someone@else.example") == 2
    assert identity_index(IDENTITIES, "gone", "Alice <alice@example.org>") == 0
