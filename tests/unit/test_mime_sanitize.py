"""HTML sanitizing: nothing active and nothing remote survives, cid: parts are rewritten."""

from __future__ import annotations

import re

import pytest

from mailclient.mime.sanitize import sanitize_html

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
