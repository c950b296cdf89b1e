"""The account setting "Keep messages on this computer": kept in the config, obeyed by the
background download."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailclient.accounts.model import Account
from mailclient.core.errors import InvalidInput
from mailclient.imap.bodies import MB, KeepPolicy

ACCOUNT = Account(name="work", email="alice@example.org", imap_host="h", smtp_host="h")


def test_on_by_default_for_a_year_of_mail_up_to_20_mb() -> None:
    assert KeepPolicy.of(ACCOUNT) == KeepPolicy() == KeepPolicy(True, 365, 20 * MB)
    # A config written before the setting existed reads as the default.
    older = {k: v for k, v in ACCOUNT.to_dict().items() if not k.startswith("keep_")}
    assert Account.from_dict(older) == ACCOUNT


def test_the_setting_goes_through_the_config_and_reaches_the_download() -> None:
    chosen = replace(ACCOUNT, keep_messages=False, keep_days=None, keep_max_mb=3)
    again = Account.from_dict(chosen.to_dict())
    assert again == chosen
    assert KeepPolicy.of(again) == KeepPolicy(enabled=False, days=None, max_size=3 * MB)
    assert KeepPolicy.of(replace(ACCOUNT, keep_days=30)).days == 30


@pytest.mark.parametrize(
    ("field", "value"),
    [("keep_days", 0), ("keep_days", -5), ("keep_max_mb", 0), ("keep_max_mb", 10**6)],
)
def test_out_of_range_values_are_refused(field: str, value: int) -> None:
    with pytest.raises(InvalidInput):
        replace(ACCOUNT, **{field: value}).validated()


def test_a_hand_edited_config_of_the_wrong_kind_is_named() -> None:
    with pytest.raises(InvalidInput, match="keep_days"):
        Account.from_dict({**ACCOUNT.to_dict(), "keep_days": "all"})
    with pytest.raises(InvalidInput, match="keep_messages"):
        Account.from_dict({**ACCOUNT.to_dict(), "keep_messages": 1})
