"""The address book: the people the user keeps, in a file of their own.

Contacts are what the user typed, so they live apart from the mail cache (which is set
aside and fetched again when damaged): ``contacts.sqlite3`` in the profile. An address
belongs to at most one contact; merging joins several contacts into the first.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from mailclient.core.contact import Contact
from mailclient.core.errors import InvalidInput
from mailclient.store.db import connect, store_error

CONTACTS_FILE = "contacts.sqlite3"

SCHEMA = """
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL                -- Unix time
);
CREATE TABLE contact_addresses (
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,           -- 0: the preferred address
    address TEXT NOT NULL,
    PRIMARY KEY (contact_id, position)
) WITHOUT ROWID;
CREATE UNIQUE INDEX contact_addresses_unique ON contact_addresses (address COLLATE NOCASE);
"""
MIGRATIONS: list[str] = [SCHEMA]


class ContactBook:
    """The address book of one profile, for the calling thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path, MIGRATIONS)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ContactBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------

    def contacts(self, query: str = "") -> list[Contact]:
        """Every contact whose name, address or notes contain ``query``, by name."""
        like = f"%{_escape_like(query.strip())}%"
        rows = self._run(
            "SELECT c.id, c.name, c.notes, "
            "  (SELECT group_concat(address, char(10)) FROM "
            "    (SELECT address FROM contact_addresses a WHERE a.contact_id = c.id "
            "     ORDER BY position)) "
            "FROM contacts c WHERE c.name LIKE ?1 ESCAPE '\\' OR c.notes LIKE ?1 ESCAPE '\\' "
            "OR EXISTS (SELECT 1 FROM contact_addresses a WHERE a.contact_id = c.id "
            "           AND a.address LIKE ?1 ESCAPE '\\') "
            "ORDER BY lower(c.name), c.id",
            (like,),
        )
        return [_contact(row) for row in rows]

    def contact(self, contact_id: int) -> Contact | None:
        rows = self._run(
            "SELECT c.id, c.name, c.notes, (SELECT group_concat(address, char(10)) FROM "
            "(SELECT address FROM contact_addresses a WHERE a.contact_id = c.id "
            "ORDER BY position)) FROM contacts c WHERE c.id = ?",
            (contact_id,),
        )
        return _contact(rows[0]) if rows else None

    def owner(self, address: str) -> Contact | None:
        """The contact ``address`` belongs to, if any."""
        rows = self._run(
            "SELECT contact_id FROM contact_addresses WHERE address = ? COLLATE NOCASE",
            (address.strip(),),
        )
        return self.contact(int(str(rows[0][0]))) if rows else None

    # -- changing ---------------------------------------------------------------------------------

    def save(self, contact: Contact) -> Contact:
        """Store a new contact (``id`` None) or replace a stored one; the stored contact back.

        Refuses an address that already belongs to another contact, and a contact with
        neither a name nor an address."""
        addresses = _unique(contact.addresses)
        if not contact.name.strip() and not addresses:
            raise InvalidInput("Contact", "give a name or an address")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                contact_id = self._write(contact, addresses)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError:
            taken = next((a for a in addresses if (o := self.owner(a)) and o.id != contact.id), "")
            owner = self.owner(taken) if taken else None
            raise InvalidInput(
                "Contact",
                f"{taken} is already in the address book as {owner.label() if owner else '?'}",
            ) from None
        except sqlite3.Error as error:
            raise store_error(self.path, error) from error
        saved = self.contact(contact_id)
        assert saved is not None
        return saved

    def _write(self, contact: Contact, addresses: Sequence[str]) -> int:
        now = time.time()
        if contact.id is None:
            cursor = self._db.execute(
                "INSERT INTO contacts (name, notes, updated) VALUES (?, ?, ?)",
                (contact.name.strip(), contact.notes, now),
            )
            contact_id = int(cursor.lastrowid or 0)
        else:
            contact_id = contact.id
            self._db.execute(
                "UPDATE contacts SET name = ?, notes = ?, updated = ? WHERE id = ?",
                (contact.name.strip(), contact.notes, now, contact_id),
            )
            self._db.execute("DELETE FROM contact_addresses WHERE contact_id = ?", (contact_id,))
        self._db.executemany(
            "INSERT INTO contact_addresses (contact_id, position, address) VALUES (?, ?, ?)",
            [(contact_id, position, address) for position, address in enumerate(addresses)],
        )
        return contact_id

    def delete(self, contact_ids: Iterable[int]) -> None:
        self._run_many("DELETE FROM contacts WHERE id = ?", [(i,) for i in contact_ids])

    def merge(self, contact_ids: Sequence[int]) -> Contact:
        """Join the contacts into the first: its name (else the first name found), every
        address once, the notes one after the other."""
        found = [c for c in (self.contact(i) for i in contact_ids) if c is not None]
        if len(found) < 2:
            raise InvalidInput("Merge", "choose at least two contacts")
        first, others = found[0], found[1:]
        merged = Contact(
            name=first.name or next((c.name for c in others if c.name), ""),
            addresses=tuple(a for c in found for a in c.addresses),
            notes="\n\n".join(c.notes.strip() for c in found if c.notes.strip()),
            id=first.id,
        )
        self.delete(c.id for c in others if c.id is not None)
        return self.save(merged)

    def import_contacts(self, contacts: Iterable[Contact]) -> int:
        """Add contacts (from a vCard file); an address already known adds to its owner.

        Returns how many contacts were added or changed."""
        changed = 0
        for contact in contacts:
            owners = [o for o in (self.owner(a) for a in contact.addresses) if o is not None]
            if owners:
                owner = owners[0]
                merged = Contact(
                    name=owner.name or contact.name,
                    addresses=(*owner.addresses, *contact.addresses),
                    notes=owner.notes or contact.notes,
                    id=owner.id,
                )
                if _unique(merged.addresses) == owner.addresses and merged.name == owner.name:
                    continue
                self.save(merged)
            else:
                self.save(Contact(contact.name, contact.addresses, contact.notes))
            changed += 1
        return changed

    # -- plumbing ---------------------------------------------------------------------------------

    def _run(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise store_error(self.path, error) from error

    def _run_many(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(sql, rows)
        except sqlite3.Error as error:
            raise store_error(self.path, error) from error


def _contact(row: Sequence[object]) -> Contact:
    contact_id, name, notes, addresses = row
    return Contact(
        name=str(name),
        addresses=tuple(str(addresses).split("\n")) if addresses else (),
        notes=str(notes),
        id=int(str(contact_id)),
    )


def _unique(addresses: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    kept = []
    for address in (a.strip() for a in addresses):
        if address and address.lower() not in seen:
            seen.add(address.lower())
            kept.append(address)
    return tuple(kept)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
