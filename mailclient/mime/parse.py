"""Parsing a received message for display: headers, the body to show, attachments, cid parts.

Pure functions on the raw RFC 5322 bytes. Part ids are IMAP-style section numbers ("1",
"2.1"), so an attachment found here can be extracted again later with attachment_data().

The MIME tree is split here, without recursion, rather than by the standard library's
parser, whose parsing, walking and serializing recurse once per level: a message nested a
few hundred levels deep raised RecursionError. Multiparts deeper than MAX_DEPTH, and parts
after the MAX_PARTS-th, are not opened; the parsed message says how many were cut.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import email.utils
import html
import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any, AnyStr

from mailclient.core.models import showable_date
from mailclient.mime import decode

MAX_DEPTH = 30  # nested multiparts opened; real mail rarely goes past 5
MAX_PARTS = 1000  # parts listed; more only make the window slow

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"[!-9;-~]+[ \t]*:")  # a field name (RFC 5322 §2.2), a colon
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


@dataclass(frozen=True)
class AttachmentInfo:
    """One attachment as the reading pane lists it."""

    part_id: str
    filename: str  # as the sender named it (decoded); never used as a path without sanitizing
    content_type: str
    size: int  # decoded size in bytes
    content_id: str = ""


@dataclass(frozen=True)
class InlinePart:
    """A part that HTML refers to by ``cid:`` (usually an image)."""

    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """Everything the reading pane shows of one message."""

    subject: str = ""
    sender: str = ""
    to: str = ""
    cc: str = ""
    reply_to: str = ""
    date: datetime | None = None
    plain: str | None = None  # the text/plain body (format=flowed already unwrapped)
    html: str | None = None  # the text/html body, unsanitized: sanitize before display
    attachments: tuple[AttachmentInfo, ...] = ()
    inline_parts: Mapping[str, InlinePart] = field(default_factory=dict)  # by Content-ID
    too_deep: int = 0  # multiparts nested deeper than MAX_DEPTH, not opened
    too_many: int = 0  # parts after the MAX_PARTS-th, left out


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` for display. Never raises on malformed input: shows what it can."""
    tree = _Tree(raw)
    message = tree.root
    collector = _Collector()
    collector.visit(message, "1" if not message.is_multipart() else "")
    html_text = collector.html
    attachments = [
        a
        for a in collector.attachments
        if not (a.content_id and html_text and _refers_to_cid(html_text, a.content_id))
    ]
    return ParsedMessage(
        subject=header_text(message, "Subject"),
        sender=header_text(message, "From"),
        to=header_text(message, "To"),
        cc=header_text(message, "Cc"),
        reply_to=header_text(message, "Reply-To"),
        date=_header_date(message),
        plain=collector.plain,
        html=html_text,
        attachments=tuple(attachments),
        inline_parts=collector.inline_parts,
        too_deep=tree.too_deep,
        too_many=tree.too_many,
    )


def attachment_data(raw: bytes, part_id: str) -> bytes:
    """The decoded content of the part ``part_id`` of ``raw``; KeyError when there is none."""
    part = _find_part(_Tree(raw).root, part_id)
    if part is None:
        raise KeyError(part_id)
    return _part_bytes(part)


class _Part(EmailMessage):
    """A part as the standard library's parser makes it, and where its body lies in the
    raw message: leaves keep their body as their payload, multiparts a list of parts."""

    source: bytes = b""  # the whole raw message (shared, not copied)
    body_span: tuple[int, int] = (0, 0)
    _fetched: dict[str, Any] | None = None

    def get(self, name: str, failobj: Any = None) -> Any:
        """A header, parsed once: the standard library parses it again on every call, and
        a part's Content-Type is asked for about eight times (two thirds of the time it
        took to index a body)."""
        if self._fetched is None:
            self._fetched = {}
        key = name.lower()
        if key not in self._fetched:
            self._fetched[key] = super().get(name)
        value = self._fetched[key]
        return failobj if value is None else value

    def __setitem__(self, name: str, value: Any) -> None:
        self._fetched = None
        super().__setitem__(name, value)

    def __delitem__(self, name: str) -> None:
        self._fetched = None
        super().__delitem__(name)

    def body_bytes(self) -> bytes:
        """The body as received, still in its transfer encoding."""
        start, end = self.body_span
        return self.source[start:end]


class _Tree:
    """The MIME tree of a raw message, split level by level from a queue (no recursion)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.too_deep = 0
        self.too_many = 0
        self.root = self._part(0, len(raw), depth=0)
        count = 1
        queue: deque[tuple[_Part, int]] = deque()
        if self.root.is_multipart():
            queue.append((self.root, 0))
        while queue:
            container, depth = queue.popleft()
            children: list[Message | str] = []
            for start, end in self._split(container):
                if count >= MAX_PARTS:
                    self.too_many += 1
                    continue
                count += 1
                child = self._part(start, end, depth + 1)
                children.append(child)
                if child.is_multipart():
                    queue.append((child, depth + 1))
            container.set_payload(children)

    def _part(self, start: int, end: int, depth: int) -> _Part:
        """The part at raw[start:end]: a multipart with an empty list of parts (the caller
        fills it), or a leaf whose payload is its body, still encoded."""
        body = _body_start(self.raw, start, end)
        part = _parse(self.raw[start:body])
        part.body_span = (body, end)
        if part.get_content_maintype() == "multipart" and part.get_boundary():
            if depth < MAX_DEPTH:
                part.set_payload([])
                return part
            self.too_deep += 1
            # Not opened: kept whole, headers too, to be saved as a message of its own.
            part.body_span = (start, end)
        # A leaf's body is read from the raw message when needed (_part_bytes), never
        # parsed: the standard parser would parse message/* types (recursing into them).
        part.source = self.raw
        return part

    def _split(self, container: _Part) -> Iterator[tuple[int, int]]:
        """Where the parts of a multipart lie (RFC 2046 §5.1.1): between delimiter lines,
        without the line break that belongs to the delimiter; preamble and epilogue left."""
        boundary = str(container.get_boundary()).encode("utf-8", "surrogateescape")
        delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$", re.M)
        start, end = container.body_span
        previous: int | None = None
        for match in delimiter.finditer(self.raw, start, end):
            if previous is not None:
                yield previous, _before_line_break(self.raw, previous, match.start())
            if match.group(1):
                return
            previous = min(match.end() + 1, end)  # after the delimiter's line feed
        if previous is not None and previous < end:
            yield previous, end  # no closing delimiter: the last part runs to the end


_PARSER = BytesParser(_Part, policy=email.policy.default)


def _parse(data: bytes) -> _Part:
    part = _PARSER.parsebytes(data, headersonly=True)
    assert isinstance(part, _Part)
    return part


def _body_start(raw: bytes, start: int, end: int) -> int:
    """Where the body of the part at raw[start:end] begins: after the blank line that ends
    its header, or at the first line that is no header field (a sender that left out the
    blank line, or the header altogether), as the standard parser reads it."""
    position = start
    while position < end:
        line_end = raw.find(b"\n", position, end)
        line_end = end if line_end < 0 else line_end + 1
        line = raw[position:line_end]
        if line in (b"\r\n", b"\n"):
            return line_end
        if not (_HEADER_LINE.match(line) or (position > start and line[:1] in (b" ", b"\t"))):
            return position
        position = line_end
    return end


def _inner_headers(message: bytes) -> Message:
    """The header of an attached message, without parsing its body."""
    found = _BLANK_LINE.search(message)
    return _parse(message[: found.end()] if found else message)


def _before_line_break(raw: bytes, start: int, end: int) -> int:
    if end > start and raw[end - 1 : end] == b"\n":
        end -= 1
        if end > start and raw[end - 1 : end] == b"\r":
            end -= 1
    return end


def unflow(text: str, delsp: bool = False) -> str:
    """Join the soft line breaks of ``format=flowed`` text (RFC 3676 §4)."""
    out: list[str] = []
    paragraph: list[str] = []
    paragraph_depth = -1
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing (§4.4)
        soft = content.endswith(" ") and content != "-- "
        if paragraph and depth != paragraph_depth:
            out.append(
                ">" * paragraph_depth + (" " if paragraph_depth else "") + "".join(paragraph)
            )
            paragraph = []
        paragraph_depth = depth
        if soft:
            paragraph.append(content[:-1] if delsp else content)
            continue
        paragraph.append(content)
        out.append(">" * depth + (" " if depth else "") + "".join(paragraph))
        paragraph = []
    if paragraph:
        out.append(">" * paragraph_depth + (" " if paragraph_depth else "") + "".join(paragraph))
    return "\n".join(out)


def header_text(message: Message, name: str) -> str:
    """A header as one line of decoded text, or "" when missing.

    Read from the raw value with the decoder the message list uses (mailclient.mime.decode),
    so that both show a header alike, and without control characters.
    """
    raw = next((value for key, value in message.raw_items() if key.lower() == name.lower()), None)
    if raw is None:
        return ""
    # The parser keeps 8-bit header bytes as surrogate escapes: this gives them back.
    return decode.header_text(str(raw).encode("utf-8", "surrogateescape"))


def _header_date(message: Message) -> datetime | None:
    text = header_text(message, "Date")
    if not text:
        return None
    try:
        return showable_date(email.utils.parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _refers_to_cid(html_text: str, content_id: str) -> bool:
    return f"cid:{content_id}".lower() in html_text.lower()


def _content_id(part: Message) -> str:
    value = header_text(part, "Content-ID")
    return value.strip().removeprefix("<").removesuffix(">").strip()


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        return str(name)
    # Old mailers put the name on Content-Type only.
    param = part.get_param("name")
    if isinstance(param, tuple):
        return email.utils.collapse_rfc2231_value(param)
    return str(param) if param else ""


def _disposition(part: Message) -> str:
    value = part.get_content_disposition()
    return value.lower() if value else ""


def _part_bytes(part: Message) -> bytes:
    """The content of a leaf, decoded from its transfer encoding."""
    if not isinstance(part, _Part):
        return b""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    kept_whole = part.get_content_maintype() in ("message", "multipart")
    if encoding == "base64" and not kept_whole:
        start, end = part.body_span
        return _from_base64(memoryview(part.source)[start:end])
    body = part.body_bytes()
    if kept_whole:
        return body  # an attached message, or parts nested too deep: exactly as received
    if encoding == "quoted-printable":
        return b"".join(binascii.a2b_qp(piece) for piece in _pieces(body, b"\n"))
    return body


# Big bodies are decoded a megabyte at a time: one call on 40 MB holds the interpreter
# lock for half a second, and the window's thread waits that long for it.
_PIECE = 1 << 20
_NOT_BASE64 = bytes(
    set(range(256)) - set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
)


def _pieces(data: AnyStr, separator: AnyStr) -> Iterator[AnyStr]:
    """``data`` in pieces of about _PIECE bytes, each ending with ``separator``."""
    start = 0
    while start < len(data):
        end = data.find(separator, start + _PIECE)
        end = len(data) if end < 0 else end + len(separator)
        yield data[start:end]
        start = end


def _from_base64(data: memoryview) -> bytes:
    """Base64 as mail has it: line breaks and stray characters ignored, padding optional."""
    out = []
    carry = b""
    for start in range(0, len(data), _PIECE):
        letters = carry + bytes(data[start : start + _PIECE]).translate(None, _NOT_BASE64)
        whole = len(letters) - len(letters) % 4
        out.append(binascii.a2b_base64(letters[:whole]))
        carry = letters[whole:]
    if len(carry) > 1:  # a last group without its padding
        out.append(binascii.a2b_base64(carry + b"=" * (-len(carry) % 4)))
    return b"".join(out)


def _part_text(part: Message) -> str:
    payload = _part_bytes(part)
    charset = part.get_content_charset()
    if charset is None and part.get_content_type() == "text/html":
        found = _META_CHARSET.search(payload[:4096])
        if found:
            charset = found.group(1).decode("ascii", "replace")
    text = decode.decode_text(payload, charset)
    if "\r" in text:
        text = "".join(piece.replace("\r\n", "\n") for piece in _pieces(text, "\n"))
    if (
        part.get_content_type() == "text/plain"
        and str(part.get_param("format", "")).lower() == "flowed"
    ):
        text = unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
    return text


def _children(part: Message) -> list[Message]:
    if not part.is_multipart():
        return []
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _find_part(message: Message, part_id: str) -> Message | None:
    if not message.is_multipart():
        return message if part_id == "1" else None
    part: Message = message
    for number in part_id.split("."):
        children = _children(part)
        try:
            index = int(number) - 1
        except ValueError:
            return None
        if not 0 <= index < len(children):
            return None
        part = children[index]
    return part


def _child_ids(prefix: str, count: int) -> Iterator[str]:
    for index in range(1, count + 1):
        yield f"{prefix}.{index}" if prefix else str(index)


class _Collector:
    """Walks the MIME tree once: the body to show, the attachments, the cid parts."""

    def __init__(self) -> None:
        self.plain: str | None = None
        self.html: str | None = None
        self.attachments: list[AttachmentInfo] = []
        self.inline_parts: dict[str, InlinePart] = {}

    def visit(self, part: Message, part_id: str) -> None:
        content_type = part.get_content_type()
        children = _children(part)
        if part.is_multipart() and content_type != "message/rfc822":
            if content_type == "multipart/alternative":
                self._alternative(children, part_id)
            elif content_type == "multipart/related":
                self._related(children, part_id)
            else:
                self._mixed(children, part_id)
            return
        self._leaf(part, part_id or "1", body_allowed=self.plain is None and self.html is None)

    def _mixed(self, children: list[Message], part_id: str) -> None:
        for child, child_id in zip(children, _child_ids(part_id, len(children)), strict=True):
            self.visit(child, child_id)

    def _alternative(self, children: list[Message], part_id: str) -> None:
        # Alternatives go from plainest to richest (RFC 2046 §5.1.4): keep the first plain
        # text and the last HTML, and list nothing else of them as attachments.
        plain: str | None = None
        rich: str | None = None
        for child, child_id in zip(children, _child_ids(part_id, len(children)), strict=True):
            sub = _Collector()
            sub.visit(child, child_id)
            if sub.plain is not None and plain is None:
                plain = sub.plain
            if sub.html is not None:
                rich = sub.html
                self.inline_parts.update(sub.inline_parts)
                self.attachments.extend(sub.attachments)
        if self.plain is None and self.html is None:
            self.plain, self.html = plain, rich
        else:
            self._append_text(plain, rich)

    def _related(self, children: list[Message], part_id: str) -> None:
        if not children:
            return
        ids = list(_child_ids(part_id, len(children)))
        self.visit(children[0], ids[0])
        for child, child_id in zip(children[1:], ids[1:], strict=True):
            content_id = _content_id(child)
            if content_id and not child.is_multipart():
                self.inline_parts[content_id] = InlinePart(
                    child.get_content_type(), _part_bytes(child)
                )
                # Listed too; parse_message() drops it again when the HTML shows it.
                self._attachment(child, child_id)
            else:
                self.visit(child, child_id)

    def _leaf(self, part: Message, part_id: str, body_allowed: bool) -> None:
        content_type = part.get_content_type()
        disposition = _disposition(part)
        is_text = content_type in ("text/plain", "text/html")
        if is_text and disposition != "attachment":
            if body_allowed:
                text = _part_text(part)
                if content_type == "text/html":
                    self.html = text
                else:
                    self.plain = text
                return
            if not _filename(part):
                # A further inline text part (a footer added by a list, say): show it too.
                text = _part_text(part)
                if content_type == "text/html":
                    self._append_text(None, text)
                else:
                    self._append_text(text, None)
                return
        content_id = _content_id(part)
        if content_id and content_type.startswith("image/"):
            self.inline_parts[content_id] = InlinePart(content_type, _part_bytes(part))
        self._attachment(part, part_id)

    def _append_text(self, plain: str | None, rich: str | None) -> None:
        addition = plain if plain is not None else _html_to_rough_text(rich or "")
        if self.plain is not None:
            self.plain = f"{self.plain}\n\n{addition}"
        if self.html is not None:
            if rich is not None:
                self.html = f"{self.html}\n<hr>\n{rich}"
            else:
                self.html = f"{self.html}\n<hr>\n<pre>{html.escape(addition)}</pre>"

    def _attachment(self, part: Message, part_id: str) -> None:
        content_type = part.get_content_type()
        name = _filename(part)
        if not name and content_type == "message/rfc822":
            subject = header_text(_inner_headers(_part_bytes(part)), "Subject")
            name = f"{subject or 'message'}.eml"
        elif not name and content_type.startswith("multipart/"):
            name = "Parts nested too deeply.eml"
        self.attachments.append(
            AttachmentInfo(
                part_id=part_id,
                filename=name,
                content_type=content_type,
                size=len(_part_bytes(part)),
                content_id=_content_id(part),
            )
        )


def _html_to_rough_text(markup: str) -> str:
    without_tags = re.sub(r"<[^>]*>", " ", markup)
    return " ".join(html.unescape(without_tags).split())
