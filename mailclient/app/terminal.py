"""Text for a terminal: what came from a server or a message is shown, never obeyed.

Subjects, names, folder names and server replies can hold escape sequences (OSC 52 writes
the clipboard, others retitle the window or move the cursor). The stored text has none
since headers are decoded without controls (mailclient.mime.decode), but older stores
and server replies may; everything the command line prints from outside goes through
here.
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, and C1 controls (0x9B is an 8-bit CSI).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What json.dumps(ensure_ascii=False) leaves as it is: DEL and the C1 controls.
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters written as escapes (``\\x1b``) a terminal shows."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def printable_json(text: str) -> str:
    """A JSON document with the controls json.dumps lets through escaped (``\\u009b``)."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
