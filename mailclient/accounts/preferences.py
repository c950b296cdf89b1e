"""The user's preferences: what the Preferences dialog edits, kept in the profile's config.json.

Stored as plain JSON values under the config's "settings", one key per preference, so that
an older or newer mailclient reading the same profile keeps what it does not know about.
A value that is missing or of the wrong kind reads as the default: a hand-edited config
never stops the window from opening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from mailclient.accounts.store import AccountStore

NEVER = -1  # mark_read_delay_ms: shown messages stay unread until the user marks them
MIN_CHECK_MINUTES = 1
MAX_CHECK_MINUTES = 24 * 60
MAX_MARK_READ_DELAY_MS = 60_000
# How long a sent message waits in the outbox so that Undo can take it back; 0: not at all.
UNDO_SEND_CHOICES = (0, 5, 10, 20, 30)


@dataclass(frozen=True)
class Preferences:
    """Everything the Settings dialog offers; the defaults are what a new profile gets."""

    # How long a shown message waits before it is marked read; NEVER: not by itself.
    mark_read_delay_ms: int = 2000
    # Show the text part of messages that have both, never the HTML.
    prefer_plain_text: bool = False
    # A desktop notification for new messages in an inbox.
    notify_new_mail: bool = True
    # An icon with the unread count in the system tray (where the desktop has one).
    tray_icon: bool = True
    # How often every folder is checked; IDLE tells about the inbox at once anyway.
    check_interval_minutes: int = 5
    # Seconds a sent message waits before it goes, while Undo can take it back.
    undo_send_seconds: int = 10

    def validated(self) -> Preferences:
        """The same preferences with every number brought into its allowed range."""
        delay = self.mark_read_delay_ms
        delay = NEVER if delay < 0 else min(delay, MAX_MARK_READ_DELAY_MS)
        minutes = min(max(self.check_interval_minutes, MIN_CHECK_MINUTES), MAX_CHECK_MINUTES)
        undo = min(UNDO_SEND_CHOICES, key=lambda choice: abs(choice - self.undo_send_seconds))
        return Preferences(
            mark_read_delay_ms=delay,
            prefer_plain_text=self.prefer_plain_text,
            notify_new_mail=self.notify_new_mail,
            tray_icon=self.tray_icon,
            check_interval_minutes=minutes,
            undo_send_seconds=undo,
        )

    def to_settings(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Preferences:
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            default = getattr(defaults, f.name)
            value = settings.get(f.name)
            # bool is an int to Python; neither may stand in for the other here.
            if type(value) is not type(default):
                value = default
            values[f.name] = value
        return cls(**values).validated()


def load_preferences(accounts: AccountStore) -> Preferences:
    """The profile's preferences (from the config already read: no file access)."""
    return Preferences.from_settings(
        {f.name: accounts.setting(f.name) for f in fields(Preferences)}
    )


def save_preferences(accounts: AccountStore, preferences: Preferences) -> Preferences:
    """Write the preferences to the config file in one atomic write. Blocking: a worker's job."""
    preferences = preferences.validated()
    accounts.set_settings(preferences.to_settings())
    return preferences
