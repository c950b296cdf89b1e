"""Address header previews: the first addresses and how many more, without reading it all."""

from __future__ import annotations

import pytest

from mailclient.mime.addresses import QUICK_CHARS, AddressPreview, preview, split_addresses


def test_commas_inside_quotes_comments_and_brackets_separate_nothing() -> None:
    value = '"Doe, Jane" <jane@x.org>, bob@y.org, (Carol, the boss) carol@z.org, <"d,e"@f.org>'
    assert split_addresses(value) == [
        '"Doe, Jane" <jane@x.org>',
        " bob@y.org",
        " (Carol, the boss) carol@z.org",
        ' <"d,e"@f.org>',
    ]
    assert [address for _, address in preview(value).addresses] == [
        "jane@x.org",
        "bob@y.org",
        "carol@z.org",
        '"d,e"@f.org',
    ]
    assert preview(value).addresses[0] == ("Doe, Jane", "jane@x.org")


def test_many_addresses_show_the_first_and_count_the_rest() -> None:
    value = ", ".join(f'"Person {n}, Jr" <p{n}@example.org>' for n in range(10_000))
    shown = preview(value, 3)
    assert shown == AddressPreview(
        (
            ("Person 0, Jr", "p0@example.org"),
            ("Person 1, Jr", "p1@example.org"),
            ("Person 2, Jr", "p2@example.org"),
        ),
        9_997,
    )


def test_the_quick_preview_reads_only_the_start() -> None:
    value = ", ".join(f"p{n}@example.org" for n in range(10_000))
    quick = preview(value, 3, whole=False)
    assert quick.addresses == (
        ("", "p0@example.org"),
        ("", "p1@example.org"),
        ("", "p2@example.org"),
    )
    assert quick.more is None
    # Whatever follows the first QUICK_CHARS characters is not read.
    broken = value[:QUICK_CHARS] + ' "unterminated' * 100_000
    assert preview(broken, 3, whole=False) == quick
    short = "a@x.org, b@y.org"
    assert (
        preview(short, whole=False)
        == preview(short)
        == AddressPreview((("", "a@x.org"), ("", "b@y.org")), 0)
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", AddressPreview((), 0)),
        (" , ,", AddressPreview((), 0)),
        ("undisclosed-recipients:;", AddressPreview((("undisclosed-recipients:;", ""),), 0)),
        # A quote never closed takes the rest: one address shown, nothing lost.
        (
            '"never closed <a@b.org>, c@d.org',
            AddressPreview((("", "never closed <a@b.org>, c@d.org"),), 0),
        ),
    ],
)
def test_odd_values(value: str, expected: AddressPreview) -> None:
    assert preview(value) == expected
