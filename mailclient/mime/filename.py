"""Turning a file name chosen by a sender into one that is safe to create on disk."""

from __future__ import annotations

import re
import unicodedata

MAX_BYTES = 255  # the usual limit for one path component (ext4, NTFS in UTF-16 is larger)

# Control characters, and the bidirectional controls that can make "exe.pdf" display as
# "fdp.exe" (the classic extension spoof).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Reserved on Windows and awkward in shells everywhere.
_RESERVED = re.compile(r'[<>:"|?*]')
_DEVICE_NAMES = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{n}" for n in range(1, 10)),
    *(f"lpt{n}" for n in range(1, 10)),
}


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A single, harmless path component for ``name``.

    No directory separators (only the last component of a path is kept), no ``..``, no
    control or bidi-override characters, no leading dots (hidden files), at most
    MAX_BYTES bytes in UTF-8 with the extension kept. ``fallback`` when nothing is left.
    """
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"[ \t\r\n\f\v]+", " ", text)  # tabs and line breaks become single spaces
    text = _UNSAFE.sub("", text)
    text = _RESERVED.sub("_", text)
    text = text.strip(" .")
    if not text:
        return fallback
    stem = text.partition(".")[0]
    if stem.lower() in _DEVICE_NAMES:
        text = f"_{text}"
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text.encode("utf-8")) <= MAX_BYTES:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or len(extension.encode("utf-8")) > 16:
        stem, extension = text, ""
    suffix = f".{extension}" if extension else ""
    budget = MAX_BYTES - len(suffix.encode("utf-8"))
    shortened = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return shortened + suffix


def unique_path_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2).ext``, ``name (3).ext``... whichever is not in ``taken``."""
    if name not in taken:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    number = 2
    while f"{stem} ({number}){suffix}" in taken:
        number += 1
    return f"{stem} ({number}){suffix}"
