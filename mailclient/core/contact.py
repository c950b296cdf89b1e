"""A person in the address book: a name, their addresses, and notes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contact:
    """``id`` is None until the contact is stored; ``addresses`` are bare (``ann@example.org``),
    the first one preferred."""

    name: str = ""
    addresses: tuple[str, ...] = ()
    notes: str = ""
    id: int | None = None

    def label(self) -> str:
        """How the contact is listed: the name, else the first address."""
        return self.name or (self.addresses[0] if self.addresses else "")
