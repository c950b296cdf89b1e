"""Recipient lists as people type them: split into items, each checked on its own.

One rule for the compose window and the command line. A list is separated by commas, or
by semicolons as Outlook writes them; a separator inside a quoted display name
(``"Doe, J." <j@example.org>``), an angle-bracket address, a comment or a domain literal
does not count, and a group (RFC 5322 3.4, ``Team: a@example.org, b@example.org;``) is
one item. Empty items, from a trailing separator left by completion or doubled commas,
are dropped. Each item is parsed alone, so a bad one is named by itself instead of the
whole field being refused.
"""

from __future__ import annotations

from dataclasses import dataclass

_CLOSING = {'"': '"', "<": ">", "(": ")", "[": "]"}


@dataclass(frozen=True)
class RecipientItem:
    """One item of a recipient list: its text and why it is not an address ("" if it is)."""

    text: str
    problem: str = ""

    @property
    def valid(self) -> bool:
        return not self.problem


def split_recipients(text: str) -> list[str]:
    """The items of a typed recipient list, stripped, without empty ones."""
    items, start = [], 0
    for end, kept in _item_ends(text):
        items.append(text[start : end + kept])
        start = end + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def current_item_start(text: str) -> int:
    """Where the item being typed at the end of ``text`` starts (after the last separator)."""
    ends = _item_ends(text)
    return ends[-1][0] + 1 if ends else 0


def next_item_start(text: str) -> int:
    """Where the item after the one ``text`` starts in begins (``len(text)`` if none)."""
    ends = _item_ends(text)
    return ends[0][0] + 1 if ends else len(text)


def _item_ends(text: str) -> list[tuple[int, int]]:
    """Each separator's index, with 1 when it belongs to its item (a group's ";")."""
    ends: list[tuple[int, int]] = []
    nesting: list[str] = []  # closing characters we wait for, innermost last
    in_group = False
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif nesting:
            if char == "\\" and nesting[-1] in '")':
                escaped = True
            elif char == nesting[-1]:
                nesting.pop()
            elif char == "(" and nesting[-1] == ")":
                nesting.append(")")  # comments nest (RFC 5322 3.2.2)
        elif char in _CLOSING:
            nesting.append(_CLOSING[char])
        elif char == ":" and not in_group:
            in_group = True
        elif char == ";" and in_group:
            in_group = False
            ends.append((index, 1))
        elif char in ",;" and not in_group:
            ends.append((index, 0))
    return ends
