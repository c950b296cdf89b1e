"""Every key of the main window and the message window, in one table, so none is bound twice.

An action or shortcut takes its keys from here by name (its object name); a key bound to
two things in one window is ambiguous to Qt, which then runs neither.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

# The main window. Return/Enter, Space and the thread keys act in the message list only.
MAIN_WINDOW: dict[str, tuple[str, ...]] = {
    "getMail": ("F5",),
    "preferences": ("Ctrl+,",),
    "quit": ("Ctrl+Q",),
    "undo": ("Ctrl+Z",),
    "delete": ("Del",),
    "deleteForGood": ("Shift+Del",),
    "archive": ("A",),
    "junk": ("J",),
    "toggleRead": ("M",),
    "toggleFlag": ("S",),
    "markFolderRead": ("Shift+C",),
    "tag1": ("1",),
    "tag2": ("2",),
    "tag3": ("3",),
    "tag4": ("4",),
    "tag5": ("5",),
    "tagNone": ("0",),
    "openWindow": ("Return", "Enter"),
    "pageDown": ("Space",),
    "quickFilter": ("Ctrl+Shift+K",),
    "searchAll": ("Ctrl+K",),
    # Out of a search, else clears the quick filter (one action: one key, one meaning).
    "escape": ("Escape",),
    # Threads, in the message list only (Thunderbird's keys).
    "collapseThread": ("Left",),
    "expandThread": ("Right",),
    "expandAllThreads": ("*",),
    "collapseAllThreads": ("\\",),
    "new": ("Ctrl+N",),
    "reply": ("Ctrl+R",),
    "replyAll": ("Ctrl+Shift+R",),
    "forward": ("Ctrl+L",),
    "addressBook": ("Ctrl+Shift+B",),
    "viewSource": ("Ctrl+U",),  # the reading pane's
    "print": ("Ctrl+P",),
}

# A message in its own window: the main window's message keys, and Escape closes it.
MESSAGE_WINDOW: dict[str, tuple[str, ...]] = {
    "close": ("Escape", "Ctrl+W"),
    "pageDown": ("Space",),
    "delete": ("Del",),
    "archive": ("A",),
    "junk": ("J",),
    "toggleRead": ("M",),
    "toggleFlag": ("S",),
    "reply": ("Ctrl+R",),
    "replyAll": ("Ctrl+Shift+R",),
    "forward": ("Ctrl+L",),
    "viewSource": ("Ctrl+U",),  # the reading pane's
    "print": ("Ctrl+P",),
}


def keys(table: dict[str, tuple[str, ...]], name: str) -> list[QKeySequence]:
    """The key sequences of ``name`` in ``table`` (empty for an action without keys)."""
    return [QKeySequence(text) for text in table.get(name, ())]


def key_hint(table: dict[str, tuple[str, ...]], name: str) -> str:
    """The first key of ``name`` as shown in a tooltip ("Ctrl+R"), or ""."""
    found = keys(table, name)
    return found[0].toString(QKeySequence.SequenceFormat.NativeText) if found else ""
