"""vCard files (RFC 2426 version 3.0, RFC 6350 version 4.0) in and out of the address book.

vobject does the format: line folding, escaping, quoted-printable in old cards, and both
versions. What we take from a card is its name (FN, else N), its e-mail addresses (the
preferred one first) and its NOTE; everything else on the card is left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import vobject

from mailclient.core.contact import Contact
from mailclient.core.errors import InvalidInput

MAX_CARDS = 100_000


def read_vcards(text: str) -> list[Contact]:
    """The contacts in a vCard file; cards with neither a name nor an address are skipped."""
    contacts = []
    try:
        for number, card in enumerate(vobject.readComponents(text, ignoreUnreadable=True)):
            if number >= MAX_CARDS:
                break
            if card.name != "VCARD":
                continue
            contact = _contact(card)
            if contact.name or contact.addresses:
                contacts.append(contact)
    except (vobject.base.ParseError, ValueError, UnicodeError) as error:
        raise InvalidInput("vCard", f"the file is not a vCard file ({error})") from None
    return contacts


def _contact(card: Any) -> Contact:
    name = _text(card, "fn")
    if not name and hasattr(card, "n"):
        n = card.n.value
        name = " ".join(p for p in (n.prefix, n.given, n.additional, n.family, n.suffix) if p)
    emails: list[tuple[bool, int, str]] = []
    for line in card.contents.get("email", []):
        address = str(line.value).strip().removeprefix("mailto:")
        if "@" not in address:
            continue
        types = {str(t).lower() for t in line.params.get("TYPE", [])}
        preferred = "pref" in types or "PREF" in line.params
        emails.append((not preferred, len(emails), address))
    addresses = tuple(address for *_, address in sorted(emails))
    notes = "\n".join(str(line.value) for line in card.contents.get("note", []))
    return Contact(name=name.strip(), addresses=addresses, notes=notes.strip())


def _text(card: Any, field: str) -> str:
    line = card.contents.get(field)
    return str(line[0].value) if line else ""


def write_vcards(contacts: Iterable[Contact]) -> str:
    """The contacts as one vCard 3.0 file (what most programs read)."""
    cards = []
    for contact in contacts:
        card = vobject.vCard()
        name = contact.name or (contact.addresses[0] if contact.addresses else "")
        card.add("fn").value = name
        # N is required in 3.0; a display name does not say which part is the family name.
        card.add("n").value = vobject.vcard.Name(given=name)
        for position, address in enumerate(contact.addresses):
            email = card.add("email")
            email.value = address
            email.type_param = ["INTERNET", "PREF"] if position == 0 else ["INTERNET"]
        if contact.notes:
            card.add("note").value = contact.notes
        cards.append(card.serialize())
    return "".join(cards)
