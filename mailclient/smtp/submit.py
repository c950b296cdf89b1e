"""One mail transaction on an open submission connection (RFC 5321 §3.3), step by step.

The steps are spelled out instead of calling ``smtplib.SMTP.sendmail`` for two reasons:
every recipient's reply is kept in the server's own words, and the outbox learns the
exact moment the end of the data goes out, the only moment after which a crash or a lost
connection leaves it unknown whether the server took the message.

Replies are classified as RFC 5321 §4.2.1 says: 4xx transient (try again later), 5xx
permanent (the user must change something).
"""

from __future__ import annotations

import contextlib
import re
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailclient.accounts.model import Account
from mailclient.core.errors import NetworkError
from mailclient.core.outgoing import Refusal
from mailclient.smtp.client import max_message_size, translate_error

_SERVICE_CLOSING = 421  # the server is closing the connection (RFC 5321 §3.8)


class MessageRefused(NetworkError):
    """The server refused the message as a whole, or every one of its recipients.

    ``transient`` says whether trying again later may help (4xx); ``refused`` holds the
    per-recipient refusals when that is why.
    """

    def __init__(self, message: str, *, transient: bool, refused: Sequence[Refusal] = ()) -> None:
        super().__init__(message)
        self.transient = transient
        self.refused = tuple(refused)


class ConnectionLost(NetworkError):
    """The connection broke during the transaction; ``maybe_sent`` when after the data."""

    def __init__(self, message: str, *, maybe_sent: bool) -> None:
        super().__init__(message)
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class Delivery:
    """The server took the message for ``accepted``; ``refused`` it would not take."""

    accepted: tuple[str, ...]
    refused: tuple[Refusal, ...] = ()


def reply_text(reply: bytes | str) -> str:
    """A server reply as one line of text, its lines joined."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _reset(smtp: smtplib.SMTP) -> None:
    # Leaves the connection ready for the next message; if even that fails, the next
    # command finds the connection broken and reports it.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.rset()


_END_OF_DATA = b".\r\n"


def _dot_stuffed(raw: bytes) -> bytes:
    """The data with CRLF line ends and leading dots doubled (§4.5.2), without the final
    dot: the caller sends that on its own."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


def submit(
    smtp: smtplib.SMTP,
    account: Account,
    raw: bytes,
    envelope_from: str,
    recipients: Sequence[str],
    *,
    smtputf8: bool = False,
    data_ending: Callable[[], None] = lambda: None,
) -> Delivery:
    """Send one message over ``smtp`` (already secured and logged in).

    ``data_ending`` is called once the message data is written, right before the final
    dot goes out: a connection lost earlier cannot have delivered anything. Raises
    MessageRefused (the connection stays usable) or ConnectionLost / another NetworkError
    (the connection is gone).
    """
    server = account.smtp_host
    after_data = False
    try:
        limit = max_message_size(smtp)
        if limit is not None and len(raw) > limit:
            raise MessageRefused(
                f"The message is {_megabytes(len(raw))}, but the SMTP server {server} "
                f"accepts at most {_megabytes(limit)}. Remove or shrink attachments.",
                transient=False,
            )
        options = [f"SIZE={len(raw)}"] if smtp.has_extn("size") else []
        if smtputf8:
            if not smtp.has_extn("smtputf8"):
                raise MessageRefused(
                    f"The SMTP server {server} does not accept addresses with non-ASCII "
                    "characters (it lacks SMTPUTF8). Use an ASCII address for this recipient.",
                    transient=False,
                )
            options.append("SMTPUTF8")
            if smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")

        mail, rcpts, data = _envelope(smtp, envelope_from, options, recipients, smtputf8)
        for code, reply in [mail, *rcpts, *([data] if data else [])]:
            _check_closing(code, reply, server)
        accepted = [
            r for r, (code, _) in zip(recipients, rcpts, strict=False) if code in (250, 251)
        ]
        refused = [
            Refusal(r, code, reply_text(reply))
            for r, (code, reply) in zip(recipients, rcpts, strict=False)
            if code not in (250, 251)
        ]
        refusal: MessageRefused | None = None
        if mail[0] != 250:
            refusal = MessageRefused(
                f"The SMTP server {server} refused the sender {envelope_from}: "
                f"{mail[0]} {reply_text(mail[1])}",
                transient=400 <= mail[0] < 500,
            )
        elif not accepted:
            refusal = MessageRefused(
                f"The SMTP server {server} refused every recipient: "
                + "; ".join(str(r) for r in refused),
                transient=any(r.transient for r in refused),
                refused=refused,
            )
        elif data is None or data[0] != 354:
            code, reply = data or (0, b"")
            refusal = MessageRefused(
                f"The SMTP server {server} refused to take the message: {code} {reply_text(reply)}",
                transient=400 <= code < 500,
            )
        if refusal is not None:
            if data is not None and data[0] == 354:
                # A pipelining server that said "go ahead" anyway gets an empty message
                # ended at once (RFC 2920 §3.1), and then the transaction is reset.
                smtp.send(_END_OF_DATA)
                smtp.getreply()
            _reset(smtp)
            raise refusal
        smtp.send(_dot_stuffed(raw))
        data_ending()
        after_data = True
        smtp.send(_END_OF_DATA)
        code, reply = smtp.getreply()
        _check_closing(code, reply, server)
        if code != 250:
            raise MessageRefused(
                f"The SMTP server {server} refused the message: {code} {reply_text(reply)}",
                transient=400 <= code < 500,
            )
        return Delivery(tuple(accepted), tuple(refused))
    except (MessageRefused, ConnectionLost):
        raise
    except (smtplib.SMTPServerDisconnected, OSError) as error:
        readable = translate_error(account, error)
        if after_data:
            raise ConnectionLost(
                f"The connection to the SMTP server {server} broke right after the message "
                "was sent, before the server confirmed it: it may have been delivered.",
                maybe_sent=True,
            ) from error
        raise ConnectionLost(str(readable), maybe_sent=False) from error
    except smtplib.SMTPException as error:
        raise translate_error(account, error) from error


Reply = tuple[int, bytes]


def _envelope(
    smtp: smtplib.SMTP,
    envelope_from: str,
    options: Sequence[str],
    recipients: Sequence[str],
    smtputf8: bool,
) -> tuple[Reply, list[Reply], Reply | None]:
    """MAIL, RCPT for each recipient, DATA; the replies (DATA's is None when not sent).

    With PIPELINING (RFC 2920) the commands go out together and the replies are read
    after: one round trip instead of two plus one per recipient. Without it, each reply
    is read before the next command, which stops at the first that makes going on
    pointless.
    """
    if not smtp.has_extn("pipelining"):
        mail = smtp.mail(envelope_from, options)
        if mail[0] != 250:
            return mail, [], None
        rcpts = [smtp.rcpt(recipient) for recipient in recipients]
        if not any(code in (250, 251) for code, _ in rcpts):
            return mail, rcpts, None
        return mail, rcpts, smtp.docmd("DATA")
    option_text = "".join(f" {option}" for option in options)
    commands = [f"MAIL FROM:{smtplib.quoteaddr(envelope_from)}{option_text}\r\n"]
    commands += [f"RCPT TO:{smtplib.quoteaddr(recipient)}\r\n" for recipient in recipients]
    commands.append("DATA\r\n")
    smtp.send("".join(commands).encode("utf-8" if smtputf8 else "ascii"))
    mail = smtp.getreply()
    rcpts = [smtp.getreply() for _ in recipients]
    return mail, rcpts, smtp.getreply()


def _check_closing(code: int, reply: bytes, server: str) -> None:
    if code == _SERVICE_CLOSING:
        raise ConnectionLost(
            f"The SMTP server {server} is closing the connection: {code} {reply_text(reply)}",
            maybe_sent=False,
        )
