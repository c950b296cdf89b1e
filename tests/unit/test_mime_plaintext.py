"""Plain-text bodies as HTML: escaped, links clickable, quotes and signatures set off."""

from __future__ import annotations

from mailclient.mime.plaintext import QUOTE_COLOURS, SIGNATURE_COLOUR, linkify, plain_to_html


def test_text_is_escaped() -> None:
    html = plain_to_html("<script>alert('x')</script> & more")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html and "&amp; more" in html


def test_links_and_addresses() -> None:
    assert linkify("see https://example.org/a?b=1&c=2.") == (
        'see <a href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>.'
    )
    assert linkify("(https://en.wikipedia.org/wiki/Foo_(bar))") == (
        '(<a href="https://en.wikipedia.org/wiki/Foo_(bar)">'
        "https://en.wikipedia.org/wiki/Foo_(bar)</a>)"
    )
    assert 'href="http://www.example.org"' in linkify("go to www.example.org")
    assert 'href="mailto:bob@example.org"' in linkify("write bob@example.org!")
    assert '"javascript' not in linkify("javascript:alert(1)")


def test_quotes_are_indented_and_coloured_by_depth() -> None:
    html = plain_to_html("Hi\n> first\n>> second\n> > also second\nreply")
    paragraphs = html.split("\n")
    assert len(paragraphs) == 4
    assert "color" not in paragraphs[0] and "Hi" in paragraphs[0]
    assert QUOTE_COLOURS[0] in paragraphs[1] and "&gt;" not in paragraphs[1]
    assert "first" in paragraphs[1]
    assert QUOTE_COLOURS[1] in paragraphs[2] and "second<br>also second" in paragraphs[2]
    assert "reply" in paragraphs[3]


def test_signature_is_greyed() -> None:
    html = plain_to_html("Body\n-- \nAlice\nhttps://alice.example\n\n")
    body, signature = html.split("\n")
    assert SIGNATURE_COLOUR not in body
    assert SIGNATURE_COLOUR in signature and "Alice" in signature
    assert signature.endswith('https://alice.example">https://alice.example</a></p>')
