"""Quantities as people read them."""

from __future__ import annotations


def human_size(size: int) -> str:
    """A size in bytes as the list, the attachments and the composer show it (SI units)."""
    if size < 1000:
        return f"{size} B"
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    return f"{size / 1_000_000:.1f} MB"
