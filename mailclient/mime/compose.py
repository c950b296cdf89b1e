"""Building the final bytes of an outgoing message with the stdlib ``email`` package.

RFC 5322 headers, MIME (RFC 2045-2049), encoded words for non-ASCII text (RFC 2047),
non-ASCII attachment names (RFC 2231), and UTF-8 addresses (RFC 6532) when a local part
needs them. Everything a person typed into a header is checked first: a CR or LF there
would let a subject or a name smuggle in headers of its own, so it is refused. Text typed
in the compose window goes out as format=flowed (RFC 3676); drafts for the Drafts folder
are built here too, more leniently (build_draft).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy as email_policy
from email.errors import HeaderParseError, NonASCIILocalPartDefect
from email.header import Header
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import format_datetime, localtime, make_msgid
from typing import cast

from mailclient.core.errors import InvalidInput
from mailclient.core.files import read_regular_file
from mailclient.core.outgoing import Attachment, BuiltMessage, OutgoingMessage
from mailclient.mime.flowed import encode_flowed
from mailclient.mime.recipients import RecipientItem, split_recipients

# A guard for memory (the whole message is built, then kept in the outbox), not the
# server's limit, which is mostly far lower and checked where it is known.
MAX_ATTACHMENT_SIZE = 100_000_000

# Bodies are encoded to 7 bits (quoted-printable or base64) so that any server can carry
# them; only UTF-8 headers, when an address needs them, make a message 8-bit.
# Header lines that come from a source (those of a message forwarded as an attachment) are
# kept as they are: refolding them would break the signatures they carry.
_ASCII_POLICY = email_policy.SMTP.clone(cte_type="7bit", refold_source="none")
_UTF8_POLICY = email_policy.SMTPUTF8.clone(cte_type="7bit", refold_source="none")

# Everything below space but TAB, DEL, the C1 controls (NEL, U+0085, is a line break to
# Python's email package and to str.splitlines), and the Unicode line and paragraph
# separators: any of them would break a header line or refuse to be folded into one.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_LOCAL_PART = re.compile(r"^[^\s\x00-\x1f\x7f()<>\[\]\\,;:@\"]+$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MSG_ID = re.compile(r"^<[^<>\s@]+@[^<>\s@]+>$")
RFC822 = "message/rfc822"
# Compressed files: mimetypes reports the content's type and the compression apart.
_COMPRESSED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


@dataclass(frozen=True)
class Mailbox:
    """One checked address: its display name, local part and (ASCII) domain."""

    name: str
    local: str
    domain: str

    @property
    def addr(self) -> str:
        return f"{self.local}@{self.domain}"

    @property
    def needs_smtputf8(self) -> bool:
        return not self.local.isascii()


def check_header_value(field: str, value: str) -> str:
    """Return ``value`` unchanged, or refuse it when it holds a line break or control."""
    if _CONTROL.search(value):
        raise InvalidInput(
            field, "must not contain line breaks or control characters (header injection)"
        )
    return value


def parse_addresses(field: str, text: str) -> list[Mailbox]:
    """Parse a recipient list as a person types it, refusing it at its first bad item."""
    check_header_value(field, text)
    return [mailbox for item in split_recipients(text) for mailbox in _parse_item(field, item)]


def check_recipients(field: str, text: str) -> list[RecipientItem]:
    """Each item of a typed recipient list with why it is not an address ("" if it is)."""
    check_header_value(field, text)
    items = []
    for item in split_recipients(text):
        try:
            _parse_item(field, item)
        except InvalidInput as error:
            items.append(RecipientItem(item, error.reason))
        else:
            items.append(RecipientItem(item))
    return items


def _parse_item(field: str, item: str) -> list[Mailbox]:
    refusal = InvalidInput(field, f"{item!r} is not an address like ann@example.org")
    try:
        # Any address-list header parses alike; the registry builds an AddressHeader.
        header = HeaderRegistry()("To", item)
    except (HeaderParseError, IndexError, ValueError):
        raise refusal from None
    addresses = cast(AddressHeader, header).addresses
    # A UTF-8 local part is allowed (RFC 6531): it only makes the message need SMTPUTF8.
    defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    is_group = any(group.display_name is not None for group in cast(AddressHeader, header).groups)
    if defects or not (addresses or is_group):
        raise refusal
    return [_mailbox(field, a) for a in addresses]


def _mailbox(field: str, address: Address) -> Mailbox:
    local, domain = address.username, address.domain
    if not local or not _LOCAL_PART.match(local) or not domain:
        raise InvalidInput(field, f"{address.addr_spec!r} is not an address like ann@example.org")
    return Mailbox(address.display_name, local, _ascii_domain(field, domain))


def _ascii_domain(field: str, domain: str) -> str:
    if domain.startswith("[") and domain.endswith("]"):
        return domain
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(field, f"{domain!r} is not a valid domain") from None
    if len(ascii_domain) > 253 or not all(_LABEL.match(x) for x in ascii_domain.split(".")):
        raise InvalidInput(field, f"{domain!r} is not a valid domain")
    return ascii_domain


def _parse_list(field: str, entries: tuple[str, ...]) -> list[Mailbox]:
    return [m for entry in entries for m in parse_addresses(field, entry)]


def _check_msg_id(field: str, value: str) -> str:
    value = check_header_value(field, value).strip()
    if not _MSG_ID.match(value):
        raise InvalidInput(field, f"{value!r} is not a message id like <id@example.org>")
    return value


def _header_address(mailbox: Mailbox) -> Address:
    # username/domain given apart: Address does not re-parse them, so a UTF-8 local part
    # survives (the UTF-8 policy then writes it raw, as RFC 6532 asks).
    return Address(mailbox.name, mailbox.local, mailbox.domain)


def build_message(draft: OutgoingMessage, *, date: datetime | None = None) -> BuiltMessage:
    """Check ``draft`` and build its final bytes; this is where its Message-ID is fixed.

    Reads attachment files given by path, so call it off the GUI thread. Raises
    InvalidInput naming the field at fault.
    """
    senders = parse_addresses("From", draft.sender)
    if len(senders) != 1:
        raise InvalidInput("From", "exactly one sender address is needed")
    sender = senders[0]
    to = _parse_list("To", draft.to)
    cc = _parse_list("Cc", draft.cc)
    bcc = _parse_list("Bcc", draft.bcc)
    if not (to or cc or bcc):
        raise InvalidInput("To", "at least one recipient is needed")
    subject = check_header_value("Subject", draft.subject)
    in_reply_to = _check_msg_id("In-Reply-To", draft.in_reply_to) if draft.in_reply_to else ""
    references = [_check_msg_id("References", r) for r in draft.references]
    attachments = [_load(a) for a in draft.attachments]

    everyone = [sender, *to, *cc, *bcc]
    smtputf8 = any(m.needs_smtputf8 for m in everyone)
    message = EmailMessage(policy=_UTF8_POLICY if smtputf8 else _ASCII_POLICY)
    message["From"] = _header_address(sender)
    if to:
        message["To"] = [_header_address(m) for m in to]
    if cc:
        message["Cc"] = [_header_address(m) for m in cc]
    message["Subject"] = subject
    message["Date"] = format_datetime(date or localtime())
    message_id = make_msgid(domain=sender.domain.strip("[]"))
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    _set_body(message, draft, attachments)

    recipients: list[str] = []
    seen: set[str] = set()
    for mailbox in [*to, *cc, *bcc]:
        if mailbox.addr.lower() not in seen:
            seen.add(mailbox.addr.lower())
            recipients.append(mailbox.addr)
    sent_headers = b""
    if bcc:
        # Only for the Sent folder's copy: the bytes sent to the server never carry it.
        message["Bcc"] = [_header_address(m) for m in bcc]
        sent_headers = message.policy.fold_binary("Bcc", message["Bcc"])
        del message["Bcc"]
    return BuiltMessage(
        raw=message.as_bytes(),
        message_id=message_id,
        envelope_from=sender.addr,
        recipients=tuple(recipients),
        subject=subject,
        smtputf8=smtputf8,
        sent_headers=sent_headers,
    )


def _set_body(
    message: EmailMessage, draft: OutgoingMessage, attachments: list[tuple[str, str, bytes]]
) -> None:
    if draft.flowed:
        message.set_content(
            _text(encode_flowed(_text(draft.body).removesuffix("\n"))),
            subtype="plain",
            charset="utf-8",
            params={"format": "flowed"},
        )
    else:
        message.set_content(_text(draft.body), subtype="plain", charset="utf-8")
    if draft.html is not None:
        message.add_alternative(_text(draft.html), subtype="html", charset="utf-8")
    for filename, content_type, data in attachments:
        if content_type == RFC822:
            _attach_message(message, filename, data)
            continue
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # add_alternative/add_attachment repeat MIME-Version in every part; it belongs only at
    # the top (RFC 2045 §4), and in a forwarded message, which is left as it is.
    for part in _own_parts(message):
        del part["MIME-Version"]


def _own_parts(message: MIMEPart) -> Iterator[MIMEPart]:
    """The parts below ``message``, not descending into attached messages."""
    for part in message.iter_parts():
        yield part
        if part.get_content_maintype() == "multipart":
            yield from _own_parts(part)


def _attach_message(message: EmailMessage, filename: str, raw: bytes) -> None:
    """Attach a whole (7-bit) message as message/rfc822, its header lines kept as they are."""
    inner = BytesParser(policy=email_policy.compat32).parsebytes(raw)
    message.add_attachment(inner, filename=filename)
    *_, part = message.iter_parts()
    part.replace_header("Content-Transfer-Encoding", "7bit")


def build_draft(
    draft: OutgoingMessage,
    *,
    headers: Sequence[tuple[str, str]] = (),
    date: datetime | None = None,
) -> bytes:
    """The bytes of an unfinished message, for the Drafts folder.

    Only the sender must be valid: recipients may be missing or half typed (what does not
    parse is kept as typed), Bcc is kept (a draft is its writer's own), and ``headers``
    add fields of our own. Reads attachment files, so call it off the GUI thread.
    """
    senders = parse_addresses("From", draft.sender)
    if len(senders) != 1:
        raise InvalidInput("From", "exactly one sender address is needed")
    fields: list[tuple[str, list[Mailbox] | str]] = []
    for name, entries in (("To", draft.to), ("Cc", draft.cc), ("Bcc", draft.bcc)):
        text = ", ".join(e.strip() for e in entries if e.strip())
        if not text:
            continue
        try:
            fields.append((name, parse_addresses(name, text)))
        except InvalidInput:
            fields.append((name, check_header_value(name, text)))
    everyone = [senders[0], *(m for _, v in fields if isinstance(v, list) for m in v)]
    smtputf8 = any(m.needs_smtputf8 for m in everyone)
    message = EmailMessage(policy=_UTF8_POLICY if smtputf8 else _ASCII_POLICY)
    message["From"] = _header_address(senders[0])
    for name, value in fields:
        if isinstance(value, list):
            message[name] = [_header_address(m) for m in value]
        else:
            # Half-typed text does not parse as addresses; keep it, encoded if need be.
            message.set_raw(name, value if value.isascii() else Header(value, "utf-8").encode())
    message["Subject"] = check_header_value("Subject", draft.subject)
    message["Date"] = format_datetime(date or localtime())
    message["Message-ID"] = make_msgid(domain=senders[0].domain.strip("[]"))
    if draft.in_reply_to:
        message["In-Reply-To"] = _check_msg_id("In-Reply-To", draft.in_reply_to)
    if draft.references:
        message["References"] = " ".join(_check_msg_id("References", r) for r in draft.references)
    for name, value in headers:
        message[name] = check_header_value(name, value)
    _set_body(message, draft, [_load(a) for a in draft.attachments])
    return message.as_bytes()


def _text(value: str) -> str:
    """One line ending convention (the generator writes CRLF) and a final newline."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def _load(attachment: Attachment) -> tuple[str, str, bytes]:
    filename = attachment.filename or (attachment.path.name if attachment.path else "")
    # A name is for display only; directories in it would mean nothing to the recipient.
    filename = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if not filename:
        raise InvalidInput("attachment", "an attachment needs a file name")
    check_header_value("attachment name", filename)
    if attachment.data is not None:
        data = attachment.data
    elif attachment.path is not None:
        try:
            data = read_regular_file(attachment.path, MAX_ATTACHMENT_SIZE, "attachment")
        except OSError as error:
            raise InvalidInput(
                "attachment", f"cannot read {attachment.path}: {error.strerror}"
            ) from error
    else:
        raise InvalidInput("attachment", f"{filename!r} has neither data nor a path")
    content_type = (attachment.content_type or guess_content_type(filename)).lower()
    if not re.match(r"^[\w.+-]+/[\w.+-]+$", content_type) or content_type.startswith("multipart/"):
        raise InvalidInput("attachment type", f"{content_type!r} is not a MIME type")
    if content_type.startswith("message/") and (content_type != RFC822 or not data.isascii()):
        # message/* may not be base64-encoded (RFC 2046 §5.2.1): a forwarded message with
        # 8-bit bytes would need 8BITMIME on every hop, so it goes as opaque data instead.
        content_type = "application/octet-stream"
    return filename, content_type, data


def guess_content_type(filename: str) -> str:
    """The MIME type for a file name; ``application/octet-stream`` when unknown."""
    content_type, encoding = mimetypes.guess_type(filename, strict=False)
    if encoding:
        return _COMPRESSED_TYPES.get(encoding, "application/octet-stream")
    if content_type is None or content_type.startswith("message/"):
        # message/* may not be base64-encoded (RFC 2046 §5.2.1), and base64 is what keeps
        # an attachment's bytes intact: send such files as opaque data.
        return "application/octet-stream"
    return content_type
