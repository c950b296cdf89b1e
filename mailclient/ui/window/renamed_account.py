"""The window's remembered state (shown folder, open folders, threaded folders) following an
account that was renamed.

The window names folder-list entries by keys that hold the account name (``account:NAME``,
``folder:NAME:FOLDER``, ``node:NAME:TEXT``); these are the keys it keeps between runs.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

THREADS_PREFIX = "threads/"


def renamed_key(key: str, old: str, new: str) -> str:
    """``key`` with account ``old`` named ``new`` (unchanged if it names another account)."""
    if key == f"account:{old}":
        return f"account:{new}"
    for kind in ("folder", "node"):
        prefix = f"{kind}:{old}:"
        if key.startswith(prefix):
            return f"{kind}:{new}:{key[len(prefix) :]}"
    return key


def rename_in_settings(settings: QSettings, old: str, new: str) -> None:
    """Rewrite the window's settings for the account renamed from ``old`` to ``new``."""
    current = settings.value("folders/current")
    if isinstance(current, str):
        settings.setValue("folders/current", renamed_key(current, old, new))
    expanded = settings.value("folders/expanded")
    if isinstance(expanded, list):
        settings.setValue(
            "folders/expanded", sorted(renamed_key(str(k), old, new) for k in expanded)
        )
    for name in settings.allKeys():
        if not name.startswith(THREADS_PREFIX):
            continue
        moved = THREADS_PREFIX + renamed_key(name[len(THREADS_PREFIX) :], old, new)
        if moved != name:
            settings.setValue(moved, settings.value(name))
            settings.remove(name)
    settings.sync()
