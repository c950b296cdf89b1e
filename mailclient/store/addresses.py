"""People to complete in address fields: everyone we received mail from or wrote to.

Read from the mail cache: senders of every folder, and the recipients of messages in
Sent folders. People we wrote to rank first, then by how much mail was exchanged.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path

from mailclient.core.models import SpecialUse
from mailclient.store.db import connect, store_error

# A message we sent counts this many received ones: whom we write to matters most.
WROTE_TO_WEIGHT = 5


@dataclass(frozen=True)
class KnownAddress:
    name: str
    address: str
    score: int  # received from + WROTE_TO_WEIGHT x written to

    def text(self) -> str:
        """As it goes into an address field: "Name <address>", or the address alone."""
        if not self.name:
            return self.address
        try:
            return str(Address(display_name=self.name, addr_spec=self.address))
        except (ValueError, IndexError):
            return self.address


def known_addresses(path: Path, own_addresses: Collection[str] = ()) -> list[KnownAddress]:
    """Every correspondent in the store at ``path``, best first; ours left out.

    Opens its own connection: call it on a worker thread.
    """
    db = connect(path)
    try:
        senders = db.execute(
            "SELECT sender, count(*) FROM messages WHERE sender != '' GROUP BY sender"
        ).fetchall()
        sent = db.execute(
            "SELECT m.recipients, m.cc FROM messages m JOIN folders f ON f.id = m.folder_id "
            "WHERE f.special_use = ?",
            (str(SpecialUse.SENT),),
        ).fetchall()
    except sqlite3.Error as error:
        raise store_error(path, error) from error
    finally:
        db.close()

    own = {a.lower() for a in own_addresses}
    scores: Counter[str] = Counter()
    names: defaultdict[str, Counter[str]] = defaultdict(Counter)
    spelling: dict[str, str] = {}

    def count(text: str, weight: int) -> None:
        for name, address in getaddresses([text]):
            if "@" not in address or address.lower() in own:
                continue
            key = address.lower()
            spelling.setdefault(key, address)
            scores[key] += weight
            if name.strip():
                names[key][name.strip()] += weight

    for sender, messages in senders:
        count(str(sender), int(messages))
    for recipients, cc in sent:
        count(f"{recipients}, {cc}", WROTE_TO_WEIGHT)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [
        KnownAddress(names[key].most_common(1)[0][0] if names[key] else "", spelling[key], score)
        for key, score in ranked
    ]
