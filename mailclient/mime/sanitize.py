"""Making received HTML safe to display: nh3 (ammonia) cleaning, CSS scrubbing, a strict CSP.

The result is one of several independent layers (the view also runs without JavaScript and
blocks every network request), so each layer on its own stops scripts and remote loads.

Link text loses its bidi controls and invisible characters (and bidi overrides in CSS and
<bdo> are gone), and a link whose text is a web address on another host than where it
leads is recorded, so that the view asks before opening it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import nh3

from mailclient.mime.decode import without_invisible

# <bdo dir="rtl"> shows "exe.png" for "gnp.exe": its text is kept, in its own order.
_TAGS = (set(nh3.ALLOWED_TAGS) | {"style", "font", "big", "tfoot", "u", "s"}) - {
    "area",
    "map",
    "bdo",
}
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
# CSS Syntax 3, 4.3.7: up to six hex digits and one optional whitespace, or any other code
# point; a backslash before a newline (a line continuation in strings) or at the end.
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})(?:\r\n|[ \t\n\r\f])?|(\r\n|.)|$)", re.S)
_CSS_IMPORT = re.compile(r"@import([^;]*)(;|$)", re.I)
_CSS_IMPORT_TARGET = re.compile(r"""^\s*(?:url\(\s*)?["']?([^"')\s]*)""", re.I)
# The end of the text closes an open string and url() as ")" does (CSS Syntax 3, 4.3.5).
_CSS_URL = re.compile(
    r"""url\(\s*(?:"([^"]*)(?:"|$)|'([^']*)(?:'|$)|([^)"'\s]*))\s*(?:\)|$)""", re.I
)
_CSS_IMAGE_SET = re.compile(r"(-webkit-)?image-set\([^)]*\)", re.I)
# Attributes on <style> are dropped by filter_attribute; matching them anyway keeps a
# <style> that nh3 might one day let through with one from escaping the CSS scrubbing.
_STYLE_ELEMENT = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
# CSS that reverses the order of letters, as U+202E does.
_CSS_BIDI_OVERRIDE = re.compile(r"\b(bidi|isolate)-override\b", re.I)
# Links in nh3's output: attributes always double-quoted, no nested links (HTML forbids).
_LINK = re.compile(r'(<a\b[^>]*?\bhref="([^"]*)"[^>]*>)(.*?)(</a>)', re.S)
_TAG = re.compile(r"<[^>]*>")
# Text that reads as a web address: a scheme or "www.", or a host name with a dot.
_LOOKS_LIKE_URL = re.compile(
    r"^(?:(?:https?|ftp)://|www\.)\S+$|^(?:[\w-]+\.)+[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$", re.I
)

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
    # link_key(target) -> the link's text, for links whose text is another web address
    deceptive_links: dict[str, str] = field(default_factory=dict)


def link_key(url: str) -> str:
    """A link target as both this module and a view's click see it (scheme, host, path)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return url.strip()
    return f"{parts.scheme.lower()}://{host}{parts.path or '/'}"


def _host(url: str) -> str:
    text = url if "://" in url else f"http://{url}"
    try:
        host = (urlsplit(text).hostname or "").rstrip(".")
    except ValueError:
        return ""
    return host.removeprefix("www.")


def is_deceptive(text: str, target: str) -> bool:
    """Whether link ``text`` reads as a web address on another host than ``target``'s."""
    text = text.strip()
    if not _LOOKS_LIKE_URL.match(text) or not target.lower().startswith(("http:", "https:")):
        return False
    return _host(text) != _host(target)


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
        # Decoded, the text has no backslash left: what the view parses is what was
        # checked here. Comments go before (they are not decoded) and after (escapes can
        # spell one).
        css = _CSS_COMMENT.sub("", css)
        css = _CSS_ESCAPE.sub(_decode_css_escape, css)
        css = _CSS_COMMENT.sub("", css)

        def drop_import(match: re.Match[str]) -> str:
            nonlocal blocked
            # Never loaded, allowed or not (the policy has no remote style-src); counted
            # when blocked so that the bar offers what the sender wanted.
            target = _CSS_IMPORT_TARGET.match(match.group(1))
            if not allow_remote and target and target.group(1).lower().startswith(_REMOTE_SCHEMES):
                blocked += 1
            return ""

        css = _CSS_IMPORT.sub(drop_import, css)

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
        css = _CSS_BIDI_OVERRIDE.sub(
            lambda m: "isolate" if m.group(1) == "isolate" else "embed", css
        )
        # The text goes back into a <style> element: it must not be able to close it.
        return css.replace("<", "\\3c ")

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if tag == "style":
            return None
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
    deceptive: dict[str, str] = {}

    def check_link(match: re.Match[str]) -> str:
        start, href, content, end = match.groups()
        content = without_invisible(content)
        target = html.unescape(href)
        text = html.unescape(_TAG.sub("", content)).strip()
        if is_deceptive(text, target):
            deceptive[link_key(target)] = text
        return start + content + end

    cleaned = _LINK.sub(check_link, cleaned)
    return SafeHtml(_document(cleaned, scheme, allow_remote), blocked, deceptive)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode("utf-8"))


def _decode_css_escape(match: re.Match[str]) -> str:
    """The code point a CSS escape stands for; nothing for a line continuation.

    A decoded backslash is dropped too: left in, it would start an escape for the view.
    """
    hex_digits, other = match.group(1), match.group(2)
    if hex_digits is not None:
        code = int(hex_digits, 16)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            return "\ufffd"
        char = chr(code)
    elif other is None:
        return "\ufffd"  # a backslash at the very end
    else:
        char = other
    return "" if char in ("\\", "\n", "\r", "\r\n", "\f") else char


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
