"""People to complete in address fields: everyone we received mail from or wrote to.

Read from the mail cache: senders of every folder, and the recipients of messages in
Sent folders. A message we wrote counts more than one we received, and recent mail more
than old: each message's weight halves every HALF_LIFE_DAYS. The address book's contacts
come first in completion, ranked the same way among themselves.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path

from mailclient.core.models import SpecialUse
from mailclient.store.contacts import ContactBook
from mailclient.store.db import connect, store_error

# A message we sent counts this many received ones: whom we write to matters most.
WROTE_TO_WEIGHT = 5
HALF_LIFE_DAYS = 180.0
_MONTH = 30 * 86400


@dataclass(frozen=True)
class KnownAddress:
    name: str
    address: str
    score: float  # received from + WROTE_TO_WEIGHT x written to, each weighed by its age

    def text(self) -> str:
        """As it goes into an address field: "Name <address>", or the address alone."""
        if not self.name:
            return self.address
        try:
            return str(Address(display_name=self.name, addr_spec=self.address))
        except (ValueError, IndexError):
            return self.address


def known_addresses(
    path: Path, own_addresses: Collection[str] = (), now: float | None = None
) -> list[KnownAddress]:
    """Every correspondent in the store at ``path``, best first; ours left out.

    Opens its own connection: call it on a worker thread.
    """
    now = time.time() if now is None else now
    db = connect(path)
    try:
        # Counted per month: the weight of a month's mail is that of its middle.
        senders = db.execute(
            "SELECT sender, count(*), date / ?1 FROM messages WHERE sender != '' "
            "GROUP BY sender, date / ?1",
            (_MONTH,),
        ).fetchall()
        sent = db.execute(
            "SELECT m.recipients, m.cc, m.date FROM messages m "
            "JOIN folders f ON f.id = m.folder_id WHERE f.special_use = ?",
            (str(SpecialUse.SENT),),
        ).fetchall()
    except sqlite3.Error as error:
        raise store_error(path, error) from error
    finally:
        db.close()

    own = {a.lower() for a in own_addresses}
    scores: defaultdict[str, float] = defaultdict(float)
    names: defaultdict[str, Counter[str]] = defaultdict(Counter)
    spelling: dict[str, str] = {}

    def count(text: str, weight: float) -> None:
        for name, address in getaddresses([text]):
            if "@" not in address or address.lower() in own:
                continue
            key = address.lower()
            spelling.setdefault(key, address)
            scores[key] += weight
            if name.strip():
                names[key][name.strip()] += 1

    def aged(weight: float, when: float | None) -> float:
        """``weight`` halved for every HALF_LIFE_DAYS of age (mail without a date: not)."""
        days = 0.0 if when is None else max(now - when, 0.0) / 86400
        return float(weight * 0.5 ** (days / HALF_LIFE_DAYS))

    for sender, messages, month in senders:
        middle = None if month is None else (int(month) + 0.5) * _MONTH
        count(str(sender), aged(int(messages), middle))
    for recipients, cc, date in sent:
        count(f"{recipients}, {cc}", aged(WROTE_TO_WEIGHT, None if date is None else float(date)))
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [
        KnownAddress(names[key].most_common(1)[0][0] if names[key] else "", spelling[key], score)
        for key, score in ranked
    ]


def completions(
    store_path: Path, contacts_path: Path, own_addresses: Collection[str] = ()
) -> list[str]:
    """What address fields offer, best first: the address book's people (each address of
    theirs, under their name), then everyone else mail was exchanged with."""
    known = known_addresses(store_path, own_addresses) if store_path.exists() else []
    score = {k.address.lower(): k.score for k in known}
    with ContactBook(contacts_path) as book:
        contacts = book.contacts()
    entries = [
        (score.get(address.lower(), 0.0), KnownAddress(contact.name, address, 0).text())
        for contact in contacts
        for address in contact.addresses
    ]
    kept = {address.lower() for contact in contacts for address in contact.addresses}
    ranked = [text for _, text in sorted(entries, key=lambda entry: -entry[0])]
    return ranked + [k.text() for k in known if k.address.lower() not in kept]
