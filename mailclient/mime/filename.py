"""Turning a file name chosen by a sender into one that is safe to create on disk and to show,
and telling which names a desktop would run rather than open."""

from __future__ import annotations

import re
import unicodedata

MAX_BYTES = 255  # the usual limit for one path component (ext4, NTFS in UTF-16 is larger)

# Control characters, the bidirectional controls that can make "exe.pdf" display as
# "fdp.exe" (the classic extension spoof), and characters that show nothing.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
    "\u00ad\u034f\u180e\u115f\u1160\u3164\uffa0]"
)
# Look-alikes of the full stop: "photo\u2024jpg" shows as "photo.jpg" but has no extension.
_DOT_LOOKALIKES = re.compile("[\u2024\u2025\ufe52\uff0e\u0701\u0702\ua4f8]")
# Files a Linux desktop runs when opened (a launcher names any command): kept as text.
_LAUNCHERS = {"desktop", "kdelnk", "directory"}
# Programs and scripts, on any desktop: opening one may run it.
EXECUTABLE_EXTENSIONS = frozenset(
    {
        *_LAUNCHERS,
        *("exe", "com", "scr", "pif", "cpl", "msi", "msp", "bat", "cmd", "ps1", "psm1"),
        *("vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "lnk", "reg", "scf", "jar"),
        *("sh", "bash", "zsh", "csh", "ksh", "run", "bin", "appimage", "flatpakref"),
        *("py", "pl", "rb", "deb", "rpm", "snap", "app", "command", "dmg", "pkg", "apk"),
    }
)
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-executable",
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-dos-executable",
        "application/vnd.microsoft.portable-executable",
        "application/x-sharedlib",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-desktop",
        "application/x-msi",
        "application/java-archive",
        "application/x-python-code",
        "text/x-python",
        "text/x-sh",
    }
)
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
    control, bidi or invisible characters, no look-alike of the full stop, no leading dot
    (hidden files), ``-`` (an option to a command) or ``~`` (a home folder to a shell), a
    launcher (``.desktop``) kept as text, at most MAX_BYTES bytes in UTF-8 with the
    extension kept. ``fallback`` when nothing is left.
    """
    text = unicodedata.normalize("NFC", name)
    text = re.split(r"[/\\]", text)[-1]
    text = re.sub(r"[ \t\r\n\f\v]+", " ", text)  # tabs and line breaks become single spaces
    text = _UNSAFE.sub("", text)
    text = _RESERVED.sub("_", text)
    text = _DOT_LOOKALIKES.sub("_", text)
    text = text.strip(" .")
    if not text:
        return fallback
    if text.startswith(("-", "~")):
        text = f"_{text}"
    stem = text.partition(".")[0]
    if stem.lower() in _DEVICE_NAMES:
        text = f"_{text}"
    if extension(text) in _LAUNCHERS:
        text = f"{text}.txt"
    return _shorten(text)


def extension(name: str) -> str:
    """The lower-case extension of ``name`` without its dot, "" when it has none."""
    stem, dot, suffix = name.rpartition(".")
    return suffix.lower() if dot and stem else ""


def is_executable(name: str, content_type: str) -> bool:
    """Whether opening this attachment may run it: a program, a script or a launcher by
    its name (as sent, or made safe) or by its declared type."""
    names = {extension(name), extension(_UNSAFE.sub("", name).strip(" ."))}
    return bool(names & EXECUTABLE_EXTENSIONS) or content_type.lower() in EXECUTABLE_TYPES


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
