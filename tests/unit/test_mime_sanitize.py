"""HTML sanitizing: nothing active and nothing remote survives, cid: parts are rewritten."""

from __future__ import annotations

import html
import re

import pytest

from mailclient.mime.sanitize import link_key, sanitize_html

CID_BASE = "mailpart:tok/cid/"


def _body(document: str) -> str:
    return document.split("<body>", 1)[1]


def test_scripts_frames_forms_and_handlers_are_removed() -> None:
    result = sanitize_html(
        '<p onclick="steal()">text</p><script>alert(1)</script><iframe src="https://x/"></iframe>'
        '<object data="x.swf"></object><embed src="x"><form action="https://x/"><input></form>'
        '<svg><script>alert(2)</script></svg><a href="javascript:alert(3)">j</a>'
        '<meta http-equiv="refresh" content="0;url=https://x/"><base href="https://x/">'
        '<link rel="stylesheet" href="https://x/s.css">',
        cid_base=CID_BASE,
    )
    body = _body(result.document).lower()
    for needle in (
        "script",
        "alert",
        "onclick",
        "iframe",
        "object",
        "embed",
        "<form",
        "<input",
        "javascript",
        "refresh",
        "<base",
        "<link",
        "https://x",
    ):
        assert needle not in body, needle
    assert "text" in body


def test_remote_images_and_css_urls_are_blocked_and_counted() -> None:
    markup = (
        "<style>@import url(https://x/a.css); .a { background: url('https://x/b.png') }"
        " .b { background: \\75 rl(https://x/c.png) }"
        " .c { background: image-set('https://x/d.png' 1x) }"
        "</style>"
        '<img src="https://x/e.png" alt="pic"><img src="//x/f.png">'
        '<p style="background-image: url(http://x/g.png)">styled</p>'
        '<table background="https://x/h.png"><tr><td background="http://x/i.png">c</td></tr></table>'
    )
    result = sanitize_html(markup, cid_base=CID_BASE)
    assert "x/" not in _body(result.document)
    # The protocol-relative one is dropped by nh3 as a relative URL before it is counted.
    assert result.remote_blocked >= 7
    assert 'alt="pic"' in result.document


def test_remote_content_allowed_when_asked() -> None:
    result = sanitize_html('<img src="https://x/e.png">', cid_base=CID_BASE, allow_remote=True)
    assert 'src="https://x/e.png"' in result.document
    assert result.remote_blocked == 0
    assert "img-src mailpart: data: https: http:" in result.document


def test_cid_and_data_images_are_kept() -> None:
    result = sanitize_html(
        '<img src="cid:logo@example.org"><img src="CID:<a b>">'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        '<img src="data:text/html;base64,PHNjcmlwdD4=">'
        '<div style="background: url(cid:bg@x)">x</div>',
        cid_base=CID_BASE,
    )
    body = _body(result.document)
    assert 'src="mailpart:tok/cid/logo@example.org"' in body
    assert 'src="mailpart:tok/cid/a%20b"' in body
    assert "data:image/png;base64,iVBORw0KGgo=" in body
    assert "data:text/html" not in body
    assert "url('mailpart:tok/cid/bg@x')" in body
    assert result.remote_blocked == 0


def test_links_keep_real_targets_only_for_safe_schemes() -> None:
    body = _body(
        sanitize_html(
            '<a href="https://example.org/real">shown</a><a href="mailto:a@b">m</a>'
            '<a href="file:///etc/passwd">f</a><a href="data:text/html,x">d</a>'
            '<a href="/rel">r</a>',
            cid_base=CID_BASE,
        ).document
    )
    assert re.findall(r'href="([^"]*)"', body) == ["https://example.org/real", "mailto:a@b"]


def test_style_element_cannot_be_closed_from_inside() -> None:
    body = _body(
        sanitize_html(
            "<style>p { color: red } \\3c/style\\3e<script>alert(1)</script></style><p>x</p>",
            cid_base=CID_BASE,
        ).document
    )
    assert "<script" not in body
    assert body.count("</style>") == body.count("<style>")


def test_document_carries_a_strict_content_security_policy() -> None:
    document = sanitize_html("<p>x</p>", cid_base=CID_BASE).document
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', document)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1)
    assert "script-src 'none'" in policy.group(1)
    assert "img-src mailpart: data:;" in policy.group(1)


@pytest.mark.parametrize(
    "layout",
    [
        "<table><tr><td bgcolor=#eee width=600>cell</td></tr></table>",
        '<font color="red" face="Arial">font</font>',
        '<div class="hero" style="color: #333; padding: 8px">hero</div>',
    ],
)
def test_newsletter_layout_survives(layout: str) -> None:
    body = _body(sanitize_html(layout, cid_base=CID_BASE).document)
    assert re.search(r'bgcolor|color="red"|class="hero"', body)


@pytest.mark.parametrize(
    "markup",
    [
        # nh3 keeps the global attributes on <style>: the element must be scrubbed anyway.
        "<style class=x>p{background:url(http://evil/a.png)}</style>",
        '<style id="a" title="b>c">p{background:url(http://evil/a.png)}</style>',
        # Escapes of letters that are not hex digits: "\r" is the letter r in CSS.
        "<style>p{background:u\\rl(http://evil/b.png)}</style>",
        "<style>@\\import 'http://evil/c.css';</style>",
        "<style>@\\69 mport url(http://evil/c.css);</style>",
        # A comment made of escapes, hiding nothing from us.
        "<style>p{background:\\2f\\2a x \\2a\\2f url(http://evil/e.png)}</style>",
        '<p style="background:u\\rl(http://evil/f.png)">x</p>',
        '<p style="background:\\55 \\52 \\4c (http://evil/g.png)">x</p>',
        '<p style="background:u\\\nrl(http://evil/h.png)">x</p>',
        # Left open at the end of the text: CSS closes the string and the url() there.
        '<p style="background:url(&quot;http://evil/i.png">x</p>',
        '<p style="background:url(http://evil/j.png">x</p>',
    ],
)
def test_css_tricks_cannot_load_remote_content(markup: str) -> None:
    result = sanitize_html(markup, cid_base=CID_BASE)
    body = _body(result.document)
    assert "evil" not in body
    assert "\\" not in body.replace("\\3c ", "")
    assert result.remote_blocked >= 1, "the remote-content bar must offer to load it"


def test_an_escaped_backslash_leaves_no_escape_for_the_view() -> None:
    body = _body(
        sanitize_html(
            "<style>p{background:\\\\75 rl(http://x/d.png)}</style>", cid_base=CID_BASE
        ).document
    )
    assert "\\" not in body
    assert "url(" not in body


def test_css_escapes_are_decoded_as_css_does() -> None:
    body = _body(
        sanitize_html(
            "<style>.a::before { content: '\\41 \\42\\00004 3\\0 \\110000 \\d800 z' }</style>",
            cid_base=CID_BASE,
        ).document
    )
    # Hex escapes end after six digits or one space; zero, surrogates and values past
    # U+10FFFF become U+FFFD (CSS Syntax 3, 4.3.7).
    assert "content: 'AB\x043\ufffd\ufffd\ufffdz'" in body


def test_remote_import_allowed_is_still_not_counted_as_blocked() -> None:
    result = sanitize_html(
        "<style>@import 'http://x/c.css'; p { color: red }</style>",
        cid_base=CID_BASE,
        allow_remote=True,
    )
    assert "http://x/c.css" not in _body(result.document)
    assert result.remote_blocked == 0


@pytest.mark.parametrize(
    ("text", "href", "deceptive"),
    [
        ("https://bank.example/login", "https://evil.example/login", True),
        ("www.bank.example", "https://evil.example/", True),
        ("bank.example/help", "http://evil.example/help", True),
        ("HTTPS://Bank.Example/", "https://bank.example/other", False),  # same host
        ("www.bank.example/a", "https://bank.example/b", False),
        ("https://bank.example/", "mailto:x@evil.example", False),  # not a web link
        ("Sign in here", "https://evil.example/", False),  # text is no address
        ("https://bank.example/&lt;x&gt;", "https://evil.example/?a=1&amp;b=2", True),
    ],
)
def test_links_whose_text_is_another_address_are_recorded(
    text: str, href: str, deceptive: bool
) -> None:
    result = sanitize_html(f'<p><a href="{href}">{text}</a></p>', cid_base=CID_BASE)
    if deceptive:
        [(key, shown)] = result.deceptive_links.items()
        assert key == link_key(html.unescape(href))
        assert shown == html.unescape(text)
    else:
        assert result.deceptive_links == {}


def test_the_view_finds_a_clicked_link_by_its_key() -> None:
    # What Chromium hands back on a click is normalised: a slash added, the host lower-cased.
    assert link_key("https://Evil.Example") == link_key("https://evil.example/")
    assert link_key("https://evil.example/login?x=1") == link_key("https://evil.example/login")


def test_link_text_loses_bidi_controls_and_invisible_characters() -> None:
    markup = (
        '<a href="https://x.example/">invoice\u202efdp.exe</a>'
        '<a href="https://y.example/">pay\u200bpal <b>\u2066acc\u2069ount</b></a>'
        '<a href="https://z.example/"><bdo dir="rtl">gnp.exe</bdo></a>'
        '<p style="direction: rtl; unicode-bidi: bidi-override">gnp.exe</p>'
        "<p>Body text keeps its own: \u05e9\u05dc\u05d5\u05dd \u202bembedded\u202c</p>"
    )
    body = _body(sanitize_html(markup, cid_base=CID_BASE).document)
    assert "invoicefdp.exe" in body and "paypal <b>account</b>" in body
    assert "<bdo" not in body and "gnp.exe</a>" in body
    assert "bidi-override" not in body and "unicode-bidi: embed" in body
    assert "\u202bembedded\u202c" in body
