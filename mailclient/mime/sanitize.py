"""Making received HTML safe to display: nh3 (ammonia) cleaning, CSS scrubbing, a strict CSP.

The result is one of several independent layers (the view also runs without JavaScript and
blocks every network request), so each layer on its own stops scripts and remote loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

import nh3

_TAGS = (set(nh3.ALLOWED_TAGS) | {"style", "font", "big", "tfoot", "u", "s"}) - {"area", "map"}
# Removed together with their content; everything else unknown is unwrapped (text kept).
_CLEAN_CONTENT_TAGS = {
    "script",
    "noscript",
    "title",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "textarea",
    "select",
    "button",
}
_COMMON_ATTRIBUTES = {"style", "class", "id", "dir", "lang", "title", "align", "valign"}
_ATTRIBUTES: dict[str, set[str]] = {
    "*": _COMMON_ATTRIBUTES,
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border", "hspace", "vspace"},
    "table": {"width", "height", "border", "cellpadding", "cellspacing", "bgcolor", "background"},
    "td": {"width", "height", "colspan", "rowspan", "nowrap", "bgcolor", "background"},
    "th": {"width", "height", "colspan", "rowspan", "nowrap", "bgcolor", "background", "scope"},
    "tr": {"bgcolor", "height"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value"},
    "hr": {"width", "size", "noshade", "color"},
    "div": {"bgcolor"},
    "blockquote": {"type"},
}
_LINK_SCHEMES = ("http:", "https:", "mailto:")
_REMOTE_SCHEMES = ("http:", "https:", "//")
_DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpe?g|webp|bmp);base64,[A-Za-z0-9+/=\s]*$", re.I)

_CSS_COMMENT = re.compile(r"/\*.*?(\*/|$)", re.S)
_CSS_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})[ \t\n]?")
_CSS_IMPORT = re.compile(r"@import[^;]*(;|$)", re.I)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""", re.I)
_CSS_IMAGE_SET = re.compile(r"(-webkit-)?image-set\([^)]*\)", re.I)
_STYLE_ELEMENT = re.compile(r"(<style>)(.*?)(</style>)", re.S | re.I)

BASE_CSS = """
html { color-scheme: light; }
body { margin: 12px 16px; font-family: sans-serif; font-size: 14px; line-height: 1.4;
       color: #1d1d1d; background: #ffffff; overflow-wrap: break-word; }
img { max-width: 100%; height: auto; }
pre { white-space: pre-wrap; }
blockquote { margin: 0 0 0 4px; padding-left: 10px; border-left: 3px solid #8fb3d9; color: #444; }
"""


@dataclass(frozen=True)
class SafeHtml:
    """A complete HTML document ready for the locked-down view."""

    document: str
    remote_blocked: int  # remote references removed; 0 when remote content was allowed


def sanitize_html(markup: str, *, cid_base: str, allow_remote: bool = False) -> SafeHtml:
    """Clean ``markup`` (a received HTML body) into a standalone safe document.

    ``cid:`` references become ``cid_base`` + the quoted Content-ID, so that the view can
    serve them from the message itself. Remote images and CSS ``url()``s are removed (and
    counted) unless ``allow_remote``. Scripts, frames, forms, event handlers, ``<base>``,
    ``<meta>`` and ``<link>`` never survive.
    """
    scheme = cid_base.split(":", 1)[0].lower()
    blocked = 0

    def rewrite_url(value: str) -> str | None:
        nonlocal blocked
        url = value.strip()
        lowered = url.lower()
        if lowered.startswith("cid:"):
            return cid_base + quote(url[4:].strip().strip("<>"), safe="@._-")
        if _DATA_IMAGE.match(url):
            return url
        if lowered.startswith(_REMOTE_SCHEMES):
            if allow_remote:
                return url
            blocked += 1
        return None

    def scrub_css(css: str) -> str:
        nonlocal blocked
        css = _CSS_COMMENT.sub("", css)
        css = _CSS_HEX_ESCAPE.sub(_decode_css_escape, css)
        css = _CSS_IMPORT.sub("", css)

        def replace_url(match: re.Match[str]) -> str:
            target = next(g for g in match.groups() if g is not None)
            rewritten = rewrite_url(target)
            if not rewritten:
                return "none"
            return "url('" + re.sub(r"['\"()\\\s]", _percent_encode, rewritten) + "')"

        css = _CSS_URL.sub(replace_url, css)
        if not allow_remote:
            css, count = _CSS_IMAGE_SET.subn("none", css)
            blocked += count
        # The text goes back into a <style> element: it must not be able to close it.
        return css.replace("<", "\\3c ")

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            return scrub_css(value)
        if attribute in ("src", "background"):
            return rewrite_url(value)
        if attribute == "href":
            return value if value.strip().lower().startswith(_LINK_SCHEMES) else None
        return value

    cleaned = nh3.clean(
        markup,
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=filter_attribute,
        url_schemes={"http", "https", "mailto", "cid", "data", scheme},
        url_relative="deny",
        link_rel=None,
        strip_comments=True,
    )
    cleaned = _STYLE_ELEMENT.sub(lambda m: m.group(1) + scrub_css(m.group(2)) + m.group(3), cleaned)
    return SafeHtml(_document(cleaned, scheme, allow_remote), blocked)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode("utf-8"))


def _decode_css_escape(match: re.Match[str]) -> str:
    # Decoding lets the url()/@import patterns see through "\75 rl(" tricks; only letters,
    # digits and a few punctuation marks are decoded, so no quote or "<" can be made up.
    code = int(match.group(1), 16)
    char = chr(code) if 0 < code < 0x110000 else ""
    if char.isascii() and (char.isalnum() or char in "-_(@:/."):
        return char
    return match.group(0)


def _document(body: str, scheme: str, allow_remote: bool) -> str:
    remote = " https: http:" if allow_remote else ""
    policy = (
        "default-src 'none'; "
        f"img-src {scheme}: data:{remote}; "
        f"font-src {scheme}: data:{remote}; "
        "style-src 'unsafe-inline'; "
        "script-src 'none'; object-src 'none'; frame-src 'none'; "
        "form-action 'none'; base-uri 'none'"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="referrer" content="no-referrer">'
        f"<style>{BASE_CSS}</style></head>\n<body>{body}</body></html>\n"
    )
