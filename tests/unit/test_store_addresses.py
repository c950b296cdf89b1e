"""Address completion data from the mail cache."""

from __future__ import annotations

from pathlib import Path

from mailclient.core.models import SpecialUse
from mailclient.store.addresses import WROTE_TO_WEIGHT, KnownAddress, known_addresses
from mailclient.store.mail import MailStore, NewMessage


def test_senders_and_people_we_wrote_to_ranked(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    with MailStore.open(path) as store:
        inbox = store.add_folder("work", "INBOX", "/", SpecialUse.INBOX)
        sent = store.add_folder("work", "Sent", "/", SpecialUse.SENT)
        store.add_messages(
            inbox.id,
            [
                NewMessage(1, frozenset(), sender="Bob Builder <bob@example.org>"),
                NewMessage(2, frozenset(), sender="bob@example.org"),
                NewMessage(3, frozenset(), sender="Carol <CAROL@example.org>"),
                NewMessage(4, frozenset(), sender="Me <me@example.org>"),
                NewMessage(5, frozenset(), sender="newsletter@example.org"),
                NewMessage(6, frozenset(), sender="newsletter@example.org"),
                NewMessage(7, frozenset(), sender="newsletter@example.org"),
            ],
        )
        store.add_messages(
            sent.id,
            [
                NewMessage(
                    1,
                    frozenset(),
                    sender="Me <me@example.org>",
                    recipients='"Smith, Dave" <dave@example.org>',
                    cc="carol@example.org",
                )
            ],
        )
    found = known_addresses(path, own_addresses=["ME@example.org"])
    assert found == [
        KnownAddress("Carol", "CAROL@example.org", 1 + WROTE_TO_WEIGHT),
        KnownAddress("Smith, Dave", "dave@example.org", WROTE_TO_WEIGHT),
        KnownAddress("", "newsletter@example.org", 3),
        KnownAddress("Bob Builder", "bob@example.org", 2),
    ]
    assert [a.text() for a in found] == [
        "Carol <CAROL@example.org>",
        '"Smith, Dave" <dave@example.org>',
        "newsletter@example.org",
        "Bob Builder <bob@example.org>",
    ]


def test_empty_store(tmp_path: Path) -> None:
    assert known_addresses(tmp_path / "mail.sqlite3") == []
