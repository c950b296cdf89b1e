"""Recipient lists as people type and paste them, checked item by item."""

from __future__ import annotations

import pytest

from mailclient.core.errors import InvalidInput
from mailclient.mime.compose import check_recipients, parse_addresses
from mailclient.mime.recipients import current_item_start, next_item_start, split_recipients

# (typed text, the addresses it names): each is a shape seen in real address fields.
VALID = [
    ("bob@example.org", ["bob@example.org"]),
    # What completion leaves behind: a complete item and a separator for the next.
    ("Bob Builder <bob@example.test>, ", ["bob@example.test"]),
    ("bob@example.org,", ["bob@example.org"]),
    ("  bob@example.org ,  carol@example.org  ", ["bob@example.org", "carol@example.org"]),
    ("bob@example.org,, ,carol@example.org", ["bob@example.org", "carol@example.org"]),
    # Outlook separates with semicolons.
    ("bob@example.org; carol@example.org;", ["bob@example.org", "carol@example.org"]),
    ('"Doe, John" <john@example.org>, k@example.org', ["john@example.org", "k@example.org"]),
    ('"Smith; Jo" <jo@example.org>; a@example.org', ["jo@example.org", "a@example.org"]),
    ('"Bob \\"The, Builder\\"" <bob@example.org>', ["bob@example.org"]),
    ("jo@example.org (Jo, the boss), a@example.org", ["jo@example.org", "a@example.org"]),
    ("Müller, Jörg <joerg@example.org>".replace("Müller, ", ""), ["joerg@example.org"]),
    ("'Ann O'Neil' <ann@example.org>", ["ann@example.org"]),
    ("Team: a@example.org, b@example.org;", ["a@example.org", "b@example.org"]),
    (
        "Team: a@example.org, b@example.org; c@example.org",
        ["a@example.org", "b@example.org", "c@example.org"],
    ),
    ("undisclosed-recipients:;", []),
    ("<bob@example.org>", ["bob@example.org"]),
    ("bob@[192.0.2.1], carol@example.org", ["bob@[192.0.2.1]", "carol@example.org"]),
    ("Ünï <info@exämple.org>", ["info@xn--exmple-cua.org"]),
    ("", []),
    (" , ; ", []),
]


@pytest.mark.parametrize(("text", "addresses"), VALID)
def test_valid_lists(text: str, addresses: list[str]) -> None:
    assert [m.addr for m in parse_addresses("To", text)] == addresses
    assert all(item.valid for item in check_recipients("To", text))


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("bob@example.org, carol@", ["carol@"]),
        ("bob@example.org, bad, carol@example.org", ["bad"]),
        ("foo bar", ["foo bar"]),
        ("bob@example.org carol@example.org", ["bob@example.org carol@example.org"]),
        ("x, bob@example.org, @example.org", ["x", "@example.org"]),
        ('"Doe, John <john@example.org>', ['"Doe, John <john@example.org>']),
        ("Bob <bob@", ["Bob <bob@"]),
        ("bob@-x-.org", ["bob@-x-.org"]),
    ],
)
def test_each_bad_item_is_named_on_its_own(text: str, bad: list[str]) -> None:
    items = check_recipients("Cc", text)
    assert [item.text for item in items if not item.valid] == bad
    with pytest.raises(InvalidInput, match="Cc") as refused:
        parse_addresses("Cc", text)
    message = str(refused.value)
    # The item, or for an address with a bad domain, the domain.
    assert repr(bad[0]) in message or repr(bad[0].rsplit("@", 1)[-1]) in message
    # The message names the item, not the whole field.
    if len(split_recipients(text)) > 1:
        assert repr(text.strip()) not in str(refused.value)


def test_line_breaks_are_refused_before_splitting() -> None:
    with pytest.raises(InvalidInput, match="line breaks"):
        check_recipients("To", "bob@example.org,\r\nBcc: eve@example.org")


def test_where_the_item_being_typed_starts_and_the_next_begins() -> None:
    text = '"Doe, J." <j@example.org>, ca'
    assert text[current_item_start(text) :] == " ca"
    assert current_item_start("ca") == 0
    after = 'rol@x.org, "Doe, J." <j@example.org>'
    assert after[next_item_start(after) :] == ' "Doe, J." <j@example.org>'
    assert next_item_start("rol@x.org") == len("rol@x.org")
