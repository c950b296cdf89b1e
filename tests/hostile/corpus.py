"""Hostile and odd mail, generated: each message one way received mail broke a client.

The messages are built here rather than stored, so that a 30 MB message costs nothing in
the repository and each one says how it is made. ``build()`` gives them by name;
``python -m tests.hostile.corpus DIR`` writes them to DIR as .eml files (to open them
in the application by hand, or to feed them to a server).
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable
from pathlib import Path

FROM = "Mallory <mallory@example.net>"
TO = "Alice <alice@example.org>"
DATE = "Fri, 07 Jun 2024 10:20:30 +0200"

# A folded subject as in CPython's email test corpus ("bug demonstration 12345..."): 148
# characters once unfolded, 130 of them digits without a space.
REAL_LONG_SUBJECT = "bug demonstration\r\n\t" + "".join(
    "123456789" + str(group % 10) for group in range(1, 14)
)


def _message(headers: list[tuple[str, str]], rest: bytes, *, date: bool = True) -> bytes:
    """A message from header (name, value) pairs, then ``rest``: more header lines (the
    part's own Content-Type, say), a blank line and the body; CRLF line ends."""
    fields = [("From", FROM), ("To", TO), *([("Date", DATE)] if date else [])]
    names = {name.lower() for name, _ in headers}
    lines = [f"{name}: {value}" for name, value in fields if name.lower() not in names]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("MIME-Version: 1.0")
    head = "\r\n".join(lines).encode("utf-8", "surrogateescape")
    return head + b"\r\n" + rest


def _plain(text: str, charset: str = "utf-8") -> bytes:
    return (
        f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode("utf-8", "surrogateescape")
        + text.encode("utf-8")
        + b"\r\n"
    )


def long_subject() -> bytes:
    return _message([("Subject", "A" * 20_000)], _plain("The subject has no space."))


def real_long_subject() -> bytes:
    return _message([("Subject", REAL_LONG_SUBJECT)], _plain("A subject from a real message."))


def deep_multipart(depth: int = 500) -> bytes:
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="level%d"\r\n\r\n--level%d\r\n'
        b"Content-Type: text/plain\r\n\r\nText at level %d.\r\n--level%d\r\n" % (i, i, i, i)
        for i in range(depth)
    )
    leaf = b"Content-Type: text/plain\r\n\r\nThe innermost text.\r\n"
    tail = b"".join(b"\r\n--level%d--\r\n" % i for i in reversed(range(depth)))
    return _message([("Subject", f"Multipart {depth} deep")], head + leaf + tail)


def deep_attached_messages(depth: int = 300) -> bytes:
    inner = _message([("Subject", "The innermost message")], _plain("Hello from the bottom."))
    for level in range(depth):
        inner = _message(
            [("Subject", f"Attached message, level {level}"), ("Content-Type", "message/rfc822")],
            b"\r\n" + inner,
        )
    return inner


def undefined_charset() -> bytes:
    return _message(
        [
            ("Subject", "=?undefined?Q?Gr=C3=BC=C3=9Fe?= and =?utf-8?Q?caf=C3=A9?="),
            ("Cc", "=?undefined?B?Qm9i?= <bob@example.org>"),
        ],
        _plain("Grüße in a charset named undefined.", charset="undefined"),
    )


def charset_with_nul() -> bytes:
    return _message(
        [("Subject", "=?utf-8\x00?Q?NUL_in_the_label?= stays readable")],
        _plain("The body's charset label has a NUL.", charset='"utf-8\x00"'),
    )


def many_recipients(count: int = 10_000) -> bytes:
    to = ", ".join(f'"Recipient {n}" <to{n}@example.org>' for n in range(count))
    cc = ", ".join(f"cc{n}@example.org" for n in range(count))
    return _message(
        [("Subject", f"{count:,} To and {count:,} Cc"), ("To", to), ("Cc", cc)],
        _plain("Everyone is here."),
    )


def huge_html(size: int = 30_000_000) -> bytes:
    """About ``size`` bytes of HTML: tables nested eight deep, repeated, then 2,000 deep."""
    block = (
        "<table border=1 cellpadding=2><tr><td>" * 8
        + "Cell text that goes on for a while, with <b>bold</b> and <i>italic</i> words."
        + "</td><td>second</td></tr></table>" * 8
        + "\n"
    )
    deep = "<table><tr><td>" * 2000 + "bottom" + "</td></tr></table>" * 2000
    html = "<html><body><p>Top of a very long message.</p>" + deep
    html += block * ((size - len(html)) // len(block)) + "<p>The end.</p></body></html>"
    body = base64.encodebytes(html.encode("ascii")).replace(b"\n", b"\r\n")
    return _message(
        [("Subject", "30 MB of nested tables")],
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + body,
    )


def _attachment(name: str, content_type: str, data: bytes) -> bytes:
    encoded_name = "=?utf-8?B?" + base64.b64encode(name.encode()).decode() + "?="
    return (
        f'Content-Type: {content_type}; name="{encoded_name}"\r\n'
        f'Content-Disposition: attachment; filename="{encoded_name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(data).replace(b"\n", b"\r\n")


def _mixed(subject: str, parts: list[bytes], headers: list[tuple[str, str]] | None = None) -> bytes:
    body = b'Content-Type: multipart/mixed; boundary="part"\r\n\r\n'
    body += b"".join(b"--part\r\n" + part + b"\r\n" for part in parts) + b"--part--\r\n"
    return _message([("Subject", subject), *(headers or [])], body)


def bidi_and_invisible() -> bytes:
    html = (
        "<p>Your invoice: <a href='https://evil.example/x.exe'>invoice\u202efdp.exe</a></p>"
        "<p><a href='https://example.org/'>pay\u200bpal \u2066account\u2069</a></p>"
    )
    return _mixed(
        "Invoice \u202egnp.exe and pay\u200bpal\u2060",
        [
            b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html.encode(),
            _attachment("photo\u202egnp.exe", "application/octet-stream", b"MZ not really"),
        ],
        [("From", "=?utf-8?Q?P=E2=80=8Ba=E2=81=A6y=E2=80=AEPal?= <service@evil.example>")],
    )


def dangerous_names() -> bytes:
    names = [
        "report\u2024pdf",
        "-rf",
        "~",
        "start.desktop",
        "pay\u200bment\u200d.pdf",
        "..\\..\\autostart\\run.desktop",
    ]
    return _mixed(
        "Attachments with names that mean something else",
        [_plain("See the attachments.")]
        + [_attachment(name, "application/octet-stream", b"data") for name in names],
    )


def executable() -> bytes:
    return _mixed(
        "Please run the updater",
        [_plain("Run it."), _attachment("updater.exe", "application/x-msdownload", b"MZ\x90\x00")],
    )


def deceptive_link() -> bytes:
    html = (
        "<p>Sign in at <a href='https://evil.example/login'>https://bank.example/login</a>"
        " or <a href='https://bank.example/help'>our help pages</a>.</p>"
    )
    return _message(
        [("Subject", "Your bank account"), ("Content-Type", "text/html; charset=utf-8")],
        b"\r\n" + html.encode(),
    )


def no_date() -> bytes:
    return _message([("Subject", "A message without a Date")], _plain("When?"), date=False)


MESSAGES: dict[str, Callable[[], bytes]] = {
    "long-subject": long_subject,
    "real-long-subject": real_long_subject,
    "multipart-500-deep": deep_multipart,
    "rfc822-300-deep": deep_attached_messages,
    "charset-undefined": undefined_charset,
    "charset-nul": charset_with_nul,
    "10000-to-10000-cc": many_recipients,
    "html-30mb-nested-tables": huge_html,
    "bidi-and-zero-width": bidi_and_invisible,
    "dangerous-attachment-names": dangerous_names,
    "executable-attachment": executable,
    "deceptive-link": deceptive_link,
    "no-date": no_date,
}
LARGEST = "html-30mb-nested-tables"


def build(names: list[str] | None = None) -> dict[str, bytes]:
    """The corpus (or the messages ``names``) by name."""
    return {name: MESSAGES[name]() for name in names or MESSAGES}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.hostile.corpus DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in build().items():
        (folder / f"{name}.eml").write_bytes(raw)
        print(f"{name}.eml  {len(raw):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
