"""The address book: contacts kept in their own file, vCard in and out, completion order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mailclient.core.contact import Contact
from mailclient.core.errors import InvalidInput
from mailclient.core.models import SpecialUse
from mailclient.mime.vcard import read_vcards, write_vcards
from mailclient.store.addresses import HALF_LIFE_DAYS, completions, known_addresses
from mailclient.store.contacts import ContactBook
from mailclient.store.mail import MailStore, NewMessage

# A card as Apple Contacts exports it (grouped EMAIL lines, a PHOTO folded over lines,
# escaped NOTE), one of vCard 4.0 with PREF=1, one of 2.1 with quoted-printable UTF-8.
REAL_WORLD = Path(__file__).parent.parent / "data" / "contacts.vcf"


@pytest.fixture
def book(tmp_path: Path) -> ContactBook:
    opened = ContactBook(tmp_path / "contacts.sqlite3")
    yield opened  # type: ignore[misc]
    opened.close()


def test_save_edit_search_and_delete(book: ContactBook) -> None:
    bob = book.save(Contact("Bob Builder", ("bob@example.org", " bob@home.example "), "Tea"))
    assert bob.id is not None and bob.addresses == ("bob@example.org", "bob@home.example")
    carol = book.save(Contact("", ("carol@example.org",)))
    assert carol.label() == "carol@example.org"
    assert [c.id for c in book.contacts()] == [carol.id, bob.id]  # by name, "" first
    assert [c.id for c in book.contacts("HOME.example")] == [bob.id]
    assert [c.id for c in book.contacts("tea")] == [bob.id]
    assert book.contacts("%") == [] and book.contacts("_") == []  # LIKE syntax is text
    edited = book.save(Contact("Bob", ("bob@home.example",), "", id=bob.id))
    assert edited == Contact("Bob", ("bob@home.example",), "", bob.id)
    assert book.owner("BOB@HOME.EXAMPLE") == edited
    assert book.owner("bob@example.org") is None
    book.delete([edited.id or 0])
    assert book.contacts() == [carol]


def test_an_address_belongs_to_one_contact(book: ContactBook) -> None:
    book.save(Contact("Bob", ("bob@example.org",)))
    with pytest.raises(
        InvalidInput, match=r"(?i)bob@example\.org is already in the address book as Bob"
    ):
        book.save(Contact("Robert", ("Bob@Example.org",)))
    with pytest.raises(InvalidInput, match="name or an address"):
        book.save(Contact(" ", ()))
    assert len(book.contacts()) == 1


def test_merge_joins_into_the_first(book: ContactBook) -> None:
    first = book.save(Contact("", ("bob@example.org",), "Met 2020"))
    second = book.save(Contact("Bob Builder", ("bob@home.example", "b@x.example"), "Likes tea"))
    merged = book.merge([first.id or 0, second.id or 0])
    assert merged == Contact(
        "Bob Builder",
        ("bob@example.org", "bob@home.example", "b@x.example"),
        "Met 2020\n\nLikes tea",
        first.id,
    )
    assert book.contacts() == [merged]
    with pytest.raises(InvalidInput, match="at least two"):
        book.merge([first.id or 0])


def test_a_real_world_vcard_file_round_trips(book: ContactBook) -> None:
    cards = read_vcards(REAL_WORLD.read_text())
    assert cards == [
        Contact(
            "Bob Builder",
            ("bob@work.example", "bob@home.example"),  # the preferred one first
            "Met at the fair, 2024.\nLikes tea.",
        ),
        Contact("Jörg Müller", ("j.mueller@example.de", "joerg@example.de")),
        Contact("Ayşe Öztürk", ("ayse@example.com.tr",)),
    ]
    assert book.import_contacts(cards) == 3
    assert book.import_contacts(cards) == 0  # nothing new the second time
    exported = write_vcards(book.contacts())
    assert exported.count("BEGIN:VCARD") == 3 and "VERSION:3.0" in exported
    assert sorted(read_vcards(exported), key=lambda c: c.name) == sorted(
        cards, key=lambda c: c.name
    )


def test_an_import_adds_to_the_contact_an_address_belongs_to(book: ContactBook) -> None:
    kept = book.save(Contact("Bobby", ("bob@home.example",)))
    book.import_contacts(read_vcards(REAL_WORLD.read_text())[:1])
    assert book.contact(kept.id or 0) == Contact(
        "Bobby",
        ("bob@home.example", "bob@work.example"),
        "Met at the fair, 2024.\nLikes tea.",
        kept.id,
    )


def test_garbage_is_not_a_vcard_file() -> None:
    with pytest.raises(InvalidInput, match="vCard"):
        read_vcards("BEGIN:VCARD\nVERSION:3.0\nFN:x\n")  # never ends
    assert read_vcards("just some text\n") == []


def test_completion_ranks_recent_and_written_to_people_first(tmp_path: Path) -> None:
    now = time.time()
    day = 86400
    store_path = tmp_path / "mail.sqlite3"
    with MailStore.open(store_path) as store:
        inbox = store.add_folder("work", "INBOX", "/", SpecialUse.INBOX)
        sent = store.add_folder("work", "Sent", "/", SpecialUse.SENT)
        old = int(now - 4 * HALF_LIFE_DAYS * day)  # a sixteenth of the weight
        store.add_messages(
            inbox.id,
            [
                NewMessage(u, frozenset(), sender="Old <old@example.org>", date=old)
                for u in range(10)
            ]
            + [NewMessage(20, frozenset(), sender="New <new@example.org>", date=int(now - day))],
        )
        store.add_messages(
            sent.id,
            [NewMessage(1, frozenset(), recipients="Wrote <wrote@example.org>", date=int(now))],
        )
    ranked = [k.address for k in known_addresses(store_path, now=now)]
    assert ranked == ["wrote@example.org", "new@example.org", "old@example.org"]

    contacts_path = tmp_path / "contacts.sqlite3"
    with ContactBook(contacts_path) as book:
        book.save(Contact("Oldie", ("old@example.org",)))
        book.save(Contact("Zed", ("zed@example.org",)))  # no mail at all: still offered
    assert completions(store_path, contacts_path) == [
        "Oldie <old@example.org>",
        "Zed <zed@example.org>",
        "Wrote <wrote@example.org>",
        "New <new@example.org>",
    ]
