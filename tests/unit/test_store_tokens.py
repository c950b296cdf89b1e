"""Text as the full-text index stores it: folding for every script, CJK pairs."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailclient.store import tokens
from mailclient.store.tokens import index_text, search_text


def folded_by_decomposing(text: str) -> str:
    """Folding the way it is defined: decompose, drop each combining mark but the kana
    voicing marks, compose again."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = "".join(c for c in decomposed if c in "\u3099\u309a" or unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", kept)


# Where the letters, marks and ideographs are: planes 0 to 3, and the variation selectors
# of plane 14 (marks too). The planes between are unassigned, 15 and 16 private.
ASSIGNED = [*range(0x30000 + 0x10000), *range(0xE0000, 0xE1000)]
MARKS = [chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) == "Mn"]
MARKED_LETTERS = "ÅåǘǗẞßΣσςΐἀῼﬃİıŉǰ가각ガがぱ゙゚ヴ𝔄Ωá̧̈ṩ"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Grüße aus München", "grusse aus munchen"),
        ("ΕΛΛΆΔΑ Ελλάδα Ώρα", "ελλαδα ελλαδα ωρα"),
        ("Москва Ёлка Й", "москва елка и"),
        ("Žluťoučký kůň", "zlutoucky kun"),
        ("ガギグ がぎぐ ぱぴぷ", "ガギグ がぎぐ ぱぴぷ"),  # voicing marks are part of kana
        ("한국어", "한국어"),  # Hangul is decomposed and composed again
        ("e\u0301 a\u0308\u0301", "e a"),  # marks given apart
        ("ﬁ Ǆ", "fi ǆ"),
    ],
)
def test_folding_drops_marks_for_every_script(text: str, folded: str) -> None:
    assert tokens._fold(text) == folded


def test_every_character_folds_as_decomposing_would(monkeypatch: pytest.MonkeyPatch) -> None:
    # A table of its own: this test meets every character, the application a few scripts.
    monkeypatch.setattr(tokens, "_UNMARKED", tokens._Unmarked())
    for start in range(0, len(ASSIGNED), 256):
        run = "".join(chr(c) for c in ASSIGNED[start : start + 256] if not 0xD800 <= c < 0xE000)
        assert tokens._fold(run) == folded_by_decomposing(run), hex(ASSIGNED[start])


@settings(max_examples=500)
@given(
    st.text(
        st.one_of(
            st.characters(blacklist_categories=("Cs",)),
            st.sampled_from(MARKS),
            st.sampled_from(MARKED_LETTERS),
        ),
        max_size=40,
    )
)
def test_marks_in_any_order_fold_as_decomposing_would(text: str) -> None:
    assert tokens._fold(text) == folded_by_decomposing(text)


def test_ascii_is_left_as_it_is() -> None:
    assert index_text("Re: Invoice #42 <Bob@Example.ORG>") == "Re: Invoice #42 <Bob@Example.ORG>"
    assert search_text("Bob") == "Bob"


def test_cjk_runs_become_pairs() -> None:
    assert index_text("東京都の会議") == " 東京 京都 都の の会 会議 議 "
    assert search_text("東京") == " 東京 "
    assert index_text("Grüße 東京") == "grusse  東京 京 "
