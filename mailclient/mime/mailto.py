"""Reading ``mailto:`` URLs (RFC 6068) into the fields of a new message.

Only the fields a person sees in the compose window are taken: To, Cc, Bcc, Subject, the
body and In-Reply-To. Every other header a link names is ignored, as RFC 6068 §7 advises:
a web page must not be able to set headers the person cannot see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from mailclient.core.errors import InvalidInput

_SCHEME = "mailto:"
_MSG_ID = re.compile(r"^<[^<>\s]+>$")


@dataclass(frozen=True)
class MailtoFields:
    """What a mailto: URL asks for; address fields are comma-separated lists."""

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    in_reply_to: str = ""


def _decode(text: str) -> str:
    # RFC 6068 §2: percent-encoded UTF-8; a '+' is a plus sign, not a space (unlike forms).
    return unquote(text, encoding="utf-8", errors="replace")


def _single_line(text: str) -> str:
    """Header values from a link: line breaks would smuggle in headers, so they become spaces."""
    return re.sub(r"[\r\n]+", " ", text).strip()


def _join(*parts: str) -> str:
    return ", ".join(p.strip() for p in parts if p.strip())


def parse_mailto(url: str) -> MailtoFields:
    """The fields of ``url``; InvalidInput when it is not a mailto: URL.

    ``to`` may appear in the path and as a header field; all are kept (§2). Repeated
    ``cc``/``bcc`` join, a repeated subject or body keeps the first. Line breaks in the
    body (encoded as %0D%0A) are kept; in headers they become spaces.
    """
    text = url.strip()
    if not text.lower().startswith(_SCHEME):
        raise InvalidInput("link", f"{url!r} is not a mailto: link")
    rest = text[len(_SCHEME) :]
    # Some programs write mailto://addr; the slashes mean nothing here.
    rest = rest.removeprefix("//")
    path, _, query = rest.partition("?")
    query = query.split("#", 1)[0]
    to = [_decode(path)]
    cc: list[str] = []
    bcc: list[str] = []
    subject: str | None = None
    body: str | None = None
    in_reply_to = ""
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        name = _decode(name).strip().lower()
        value = _decode(value)
        if name == "to":
            to.append(value)
        elif name == "cc":
            cc.append(value)
        elif name == "bcc":
            bcc.append(value)
        elif name == "subject" and subject is None:
            subject = value
        elif name == "body" and body is None:
            body = value
        elif name == "in-reply-to" and not in_reply_to:
            candidate = _single_line(value)
            if _MSG_ID.match(candidate):
                in_reply_to = candidate
    return MailtoFields(
        to=_single_line(_join(*to)),
        cc=_single_line(_join(*cc)),
        bcc=_single_line(_join(*bcc)),
        subject=_single_line(subject or ""),
        body=(body or "").replace("\r\n", "\n").replace("\r", "\n"),
        in_reply_to=in_reply_to,
    )
