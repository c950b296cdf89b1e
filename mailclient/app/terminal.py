"""Text for a terminal: what came from a server or a message is shown, never obeyed.

Subjects, names, folder names and server replies can hold escape sequences (OSC 52 writes
the clipboard, others retitle the window or move the cursor). The stored text has none
since headers are decoded without controls (mailclient.mime.decode), but older stores
and server replies may; everything the command line prints from outside goes through
here.
"""

from __future__ import annotations

import re

from mailclient.core.errors import (
    AuthenticationFailed,
    MailclientError,
    SignInExpired,
    password_command,
)

# C0 controls but tab and line feed, DEL, and C1 controls (0x9B is an 8-bit CSI); the
# line and paragraph separators; bidi embeddings, overrides and isolates, which
# make "\u202egnp.exe" show as "exe.png"; characters that show nothing (zero-width space,
# word joiner, BOM, soft hyphen, Hangul fillers).
_INVISIBLE = (
    "\u2028\u2029\u200b\u202a-\u202e\u2060-\u2069\ufeff\u00ad\u034f\u180e\u115f\u1160\u3164\uffa0"
)
_UNSAFE = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_INVISIBLE}]")
# What json.dumps(ensure_ascii=False) leaves as it is: DEL, the C1 controls, the rest.
_UNSAFE_IN_JSON = re.compile(f"[\\x7f-\\x9f{_INVISIBLE}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control, bidi and invisible characters written as escapes (``\\x1b``,
    ``\\u202e``) that a terminal shows."""
    return _UNSAFE.sub(_escape, text)


def printable_json(text: str) -> str:
    """A JSON document with the characters json.dumps lets through escaped (``\\u009b``)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def refusal_advice(account: str, error: MailclientError) -> str:
    """``error`` as the CLI prints it: a refused password comes with the command to fix it."""
    if isinstance(error, AuthenticationFailed) and not isinstance(error, SignInExpired):
        return f"{error} Enter the current password with: {password_command(account)}"
    return str(error)
