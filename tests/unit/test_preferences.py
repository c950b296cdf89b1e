"""Preferences in the profile's config: defaults, bad values, one write for all of them."""

from __future__ import annotations

import json
from pathlib import Path

from mailclient.accounts.model import Account
from mailclient.accounts.preferences import (
    NEVER,
    Preferences,
    load_preferences,
    save_preferences,
)
from mailclient.accounts.store import AccountStore


def test_a_new_profile_has_the_defaults(tmp_path: Path) -> None:
    assert load_preferences(AccountStore(tmp_path / "config.json")) == Preferences()
    assert Preferences().mark_read_delay_ms == 2000
    assert Preferences().notify_new_mail


def test_saved_preferences_come_back_and_the_rest_of_the_config_stays(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    store = AccountStore(path)
    store.add(Account(name="work", email="a@example.org", imap_host="h", smtp_host="h"))
    store.set_setting("something/else", [1, 2])
    chosen = Preferences(
        mark_read_delay_ms=NEVER,
        prefer_plain_text=True,
        notify_new_mail=False,
        tray_icon=False,
        check_interval_minutes=15,
    )
    assert save_preferences(store, chosen) == chosen
    again = AccountStore(path)
    assert load_preferences(again) == chosen
    assert again.setting("something/else") == [1, 2]
    assert [a.name for a in again.accounts()] == ["work"]
    settings = json.loads(path.read_text())["settings"]
    assert settings["check_interval_minutes"] == 15
    assert settings["prefer_plain_text"] is True


def test_values_of_the_wrong_kind_read_as_defaults() -> None:
    read = Preferences.from_settings(
        {
            "mark_read_delay_ms": "soon",
            "prefer_plain_text": 1,  # not a bool
            "notify_new_mail": None,
            "check_interval_minutes": True,  # a bool is no number of minutes
            "unknown": 3,
        }
    )
    assert read == Preferences()


def test_numbers_are_kept_in_range() -> None:
    read = Preferences.from_settings({"mark_read_delay_ms": -500, "check_interval_minutes": 0})
    assert read.mark_read_delay_ms == NEVER
    assert read.check_interval_minutes == 1
    read = Preferences.from_settings({"mark_read_delay_ms": 10**9, "check_interval_minutes": 10**9})
    assert read.mark_read_delay_ms == 60_000
    assert read.check_interval_minutes == 24 * 60
