"""Search hits marked in a shown message, found the way the full-text index finds them."""

from __future__ import annotations

import re

import nh3

from mailclient.mime.highlight import FIRST_HIT, MARK_CLOSE, MARK_OPEN, mark_hits
from mailclient.mime.plaintext import plain_to_html

FIRST = f'<span id="{FIRST_HIT}"></span>'  # before the first hit only, for views to scroll to


def marked(document: str, *terms: tuple[str, bool]) -> list[str]:
    """The texts marked in ``document``."""
    out, count = mark_hits(document, terms)
    pieces = [p.split(MARK_CLOSE, 1)[0] for p in out.split(MARK_OPEN)[1:]]
    assert len(pieces) == count
    return pieces


def test_free_words_match_the_start_of_words_in_any_case() -> None:
    text = "<p>Invoices and the INVOICE, not reinvoice nor in_voice.</p>"
    assert marked(text, ("invoice", False)) == ["Invoices", "INVOICE"]


def test_phrases_match_whole_words_in_order_across_punctuation() -> None:
    text = "<p>The annual report, annual  reports, annual-report and report annual.</p>"
    assert marked(text, ("annual report", True)) == ["annual report", "annual-report"]


def test_accents_and_case_are_folded_as_the_index_folds_them() -> None:
    text = "<p>Grüße aus Köln, Ελλάδα, cafe\u0301 and CAFÉ</p>"
    assert marked(text, ("grusse", False)) == ["Grüße"]
    assert marked(text, ("koln", False)) == ["Köln"]
    assert marked(text, ("ελλαδα", False)) == ["Ελλάδα"]
    assert marked(text, ("café", False)) == ["cafe\u0301", "CAFÉ"]


def test_chinese_is_found_inside_a_run() -> None:
    assert marked("<p>我住在東京都。</p>", ("東京", False)) == ["東京"]


def test_tags_entities_and_styles_are_left_alone() -> None:
    document = (
        "<html><head><style>.report { color: red }</style><title>report</title></head>"
        '<body><a href="https://example.org/report" title="report">the report</a>'
        "<p>AT&amp;T &lt;report&gt; amp</p></body></html>"
    )
    out, count = mark_hits(document, [("report", False), ("amp", False)])
    assert count == 3
    assert "<style>.report { color: red }</style><title>report</title>" in out
    assert 'href="https://example.org/report" title="report"' in out
    assert f"the {FIRST}{MARK_OPEN}report{MARK_CLOSE}</a>" in out
    assert f"AT&amp;T &lt;{MARK_OPEN}report{MARK_CLOSE}&gt; {MARK_OPEN}amp{MARK_CLOSE}" in out


def test_marked_text_stays_escaped() -> None:
    out, _ = mark_hits(plain_to_html("a <b>bold</b> word"), [("bold", False)])
    assert "<b>" not in out
    assert f"&lt;b&gt;{FIRST}{MARK_OPEN}bold{MARK_CLOSE}&lt;/b&gt;" in out


def test_nothing_to_mark() -> None:
    assert mark_hits("<p>text</p>", []) == ("<p>text</p>", 0)
    assert mark_hits("<p>text</p>", [("--", False)]) == ("<p>text</p>", 0)
    assert mark_hits("<p>text</p>", [("other", False)]) == ("<p>text</p>", 0)


def test_a_hit_in_a_link_leaves_the_whole_text_in_the_link() -> None:
    document = '<p>Pay <a href="https://pay.example/may">the invoice of May</a> today.</p>'
    out, count = mark_hits(document, [("invoice", False)])
    assert count == 1
    # As a browser builds the page (html5ever, nh3's parser): an <a> opened inside a
    # link would close it, and the rest of its text would be no link any more.
    parsed = nh3.clean(
        out,
        tags={"p", "a", "span"},
        attributes={"a": {"href", "name"}, "span": {"id", "class", "style"}},
        link_rel=None,
    )
    link = re.search(r'<a href="https://pay.example/may">(.*?)</a>', parsed)
    assert link is not None
    assert re.sub(r"<[^>]*>", "", link.group(1)) == "the invoice of May"
