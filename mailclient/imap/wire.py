"""A fast reader for the IMAP responses the sync engine streams (RFC 3501 §7, RFC 7162).

imapclient parses every response with a general tokenizer; at ~4k messages per second that
parser, not the server (~35k per second), bounds a header sync. The sync asks for a fixed
set of FETCH items, so this module reads them in one pass: one ``readline`` per line and
one ``read`` per literal (both buffered in C), then a regular expression over each line.

It knows the data items UID, FLAGS, RFC822.SIZE, INTERNALDATE, MODSEQ, BODY[...] and
BODY[...]<n> (as literal, quoted string or NIL). Other untagged responses (EXISTS,
EXPUNGE, VANISHED, SEARCH, ESEARCH, OK [...]) are handed over as their raw line.
Nothing here imports imapclient: the connection gives us its ``readline``, ``read`` and
``send``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from mailclient.core.errors import ProtocolError

# A SEARCH without ESEARCH lists every UID on one line: ~7 bytes each. Longer is hostile.
MAX_LINE = 64 * 1024 * 1024
# One literal (a header block or a whole message) may be big, but not unbounded.
MAX_LITERAL = 512 * 1024 * 1024

_LITERAL_AT_END = re.compile(rb"\{(\d+)\+?\}\r\n\Z")
_FETCH_START = re.compile(rb"\* (\d+) FETCH \(")
# One data item: its name, then a value that is a number/atom, a parenthesised list
# without nesting (FLAGS, MODSEQ), a quoted string, NIL, or the {n} of a literal.
_ITEM = re.compile(
    rb" ?([A-Za-z0-9.]+(?:\[[^\]]*\](?:<\d+>)?)?) "
    rb"(\([^()]*\)|\"(?:[^\"\\]|\\.)*\"|\{\d+\+?\}\r\n|[^ ()\r\n]+)"
)
# What the sync's header FETCH looks like from Dovecot and most servers: items in the order
# asked for. Matching it whole is three times quicker than item by item.
_SUMMARY_FETCH = re.compile(
    rb"UID (\d+) FLAGS \(([^()]*)\) RFC822\.SIZE (\d+) INTERNALDATE (\"[^\"]*\") "
    rb"BODY\[HEADER\.FIELDS \([^()]*\)\] \{\d+\}\r\n\Z"
)
_QUOTED_ESCAPE = re.compile(rb"\\(.)")
_MONTH_NAMES = b"JanFebMarAprMayJunJulAugSepOctNovDec"
_MONTHS = {_MONTH_NAMES[i : i + 3]: i // 3 + 1 for i in range(0, 36, 3)}
_INTERNALDATE = re.compile(
    rb"\"? ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\"?"
)


class CommandFailed(ProtocolError):
    """The server answered NO or BAD to a command."""

    def __init__(self, command: str, status: str, text: str) -> None:
        super().__init__(f"The IMAP server refused {command}: {status} {text}".strip() + ".")
        self.status = status
        self.text = text


# A parsed IMAP value: a string (quoted, literal or atom), NIL, or a parenthesised list.
Value = bytes | None | list["Value"]

_TOKEN = re.compile(rb'(\()|(\))|"((?:[^"\\]|\\.)*)"|(\{\d+\+?\}\r\n$)|([^\s()"]+)')


def parse_values(texts: list[bytes], literals: list[bytes], offset: int = 0) -> list[Value]:
    """Parse IMAP values (RFC 3501 §9: lists, strings, literals, NIL) in one response.

    ``texts`` and ``literals`` alternate as the reader framed them. Parsing stops at the
    ``)`` that closes the list the values are in, or at the end.
    """
    stack: list[list[Value]] = [[]]
    top = stack[0]
    for index, text in enumerate(texts):
        # findall runs the tokenizer in C; only building the lists is left to Python.
        for opened, closed, quoted, literal, atom in _TOKEN.findall(
            text, offset if index == 0 else 0
        ):
            if opened:
                inner: list[Value] = []
                top.append(inner)
                stack.append(inner)
                top = inner
            elif closed:
                if len(stack) == 1:
                    return top
                stack.pop()
                top = stack[-1]
            elif atom:
                top.append(None if atom.upper() == b"NIL" else atom)
            elif literal:
                top.append(literals[index])
            else:
                top.append(_QUOTED_ESCAPE.sub(rb"\1", quoted) if b"\\" in quoted else quoted)
    return stack[0]


@dataclass(slots=True)
class FetchResponse:
    """One ``* n FETCH (...)`` response, with the items this module knows."""

    seq: int
    uid: int | None = None
    flags: frozenset[str] | None = None
    size: int | None = None
    internal_date: int | None = None  # seconds since the epoch
    modseq: int | None = None
    header: bytes | None = None  # BODY[HEADER...] (any header section)
    body: bytes | None = None  # BODY[] or BODY[TEXT] and partial ranges of them
    bodystructure: list[Value] | None = None  # RFC 3501 §7.4.2, as nested lists


@dataclass(frozen=True, slots=True)
class Untagged:
    """Any other untagged response: ``kind`` is e.g. b"EXISTS", b"VANISHED", b"ESEARCH"."""

    kind: bytes
    line: bytes  # without "* " and without the CRLF; literals are left out


Response = FetchResponse | Untagged


def uid_set(uids: Iterable[int]) -> bytes:
    """``[1, 2, 3, 7]`` -> ``b"1:3,7"``: the shortest sequence set (RFC 3501 §9)."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("an IMAP sequence set needs at least one number")
    parts = []
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid != previous + 1:
            parts.append(b"%d" % start if start == previous else b"%d:%d" % (start, previous))
            start = uid
        previous = uid
    parts.append(b"%d" % start if start == previous else b"%d:%d" % (start, previous))
    return b",".join(parts)


def parse_uid_set(text: bytes) -> list[tuple[int, int]]:
    """``b"1:3,7"`` -> ``[(1, 3), (7, 7)]`` (inclusive ranges; ``*`` is not accepted)."""
    ranges = []
    for part in text.split(b","):
        low, _, high = part.partition(b":")
        a, b = int(low), int(high or low)
        ranges.append((min(a, b), max(a, b)))
    return ranges


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_internaldate(raw: bytes) -> int | None:
    """``"17-Jul-1996 02:44:25 -0700"`` -> seconds since the epoch (RFC 3501 date-time)."""
    m = _INTERNALDATE.match(raw)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    month = _MONTHS.get(mon.capitalize())
    if month is None:
        return None
    offset = (int(zh) * 60 + int(zm)) * 60
    seconds = days_from_civil(int(year), month, int(day)) * 86400
    seconds += int(hh) * 3600 + int(mm) * 60 + int(ss)
    return seconds - offset if sign == b"+" else seconds + offset


class ResponseReader:
    """Reads the responses to one command, given the connection's line and block readers."""

    def __init__(
        self,
        readline: Callable[[int], bytes],
        read: Callable[[int], bytes],
        send: Callable[[bytes], None],
    ) -> None:
        self._readline = readline
        self._read = read
        self._send = send
        self._tags = itertools.count(1)
        self.completion = b""  # the text of the last tagged OK
        self._flag_sets: dict[bytes, frozenset[str]] = {}

    def send_command(self, command: bytes) -> bytes:
        """Send one command line (no literals); returns its tag."""
        if b"\r" in command or b"\n" in command:
            raise ValueError("an IMAP command line cannot contain CR or LF")
        tag = b"MC%d" % next(self._tags)
        self._send(tag + b" " + command + b"\r\n")
        return tag

    def run(self, command: bytes) -> Iterator[Response]:
        """Send ``command`` and yield its untagged responses until it completed."""
        tag = self.send_command(command)
        words = command.split(b" ", 2)
        # "UID MOVE", not "UID": the error message names the command.
        name = b" ".join(words[:2]) if words[0].upper() == b"UID" else words[0]
        yield from self.responses(tag, name.decode("ascii", "replace"))

    def responses(self, tag: bytes, name: str = "a command") -> Iterator[Response]:
        """Yield the untagged responses up to ``tag``'s completion; raise if it failed."""
        readline, read = self._readline, self._read
        fetch_start = _FETCH_START.match
        literal_at_end = _LITERAL_AT_END.search
        tagged = tag + b" "
        while True:
            line = readline(MAX_LINE)
            if not line.endswith(b"\n"):
                if len(line) < MAX_LINE:
                    raise ConnectionResetError("the IMAP server closed the connection")
                raise ProtocolError("The IMAP server sent a line that is far too long.")
            if line.startswith(b"* "):
                texts = [line]
                literals: list[bytes] = []
                while (m := literal_at_end(line)) is not None:
                    size = int(m.group(1))
                    if size > MAX_LITERAL:
                        raise ProtocolError("The IMAP server sent an impossibly large message.")
                    data = read(size)
                    if len(data) != size:
                        raise ConnectionResetError("the IMAP server closed the connection")
                    literals.append(data)
                    line = readline(MAX_LINE)
                    if not line.endswith(b"\n"):
                        raise ConnectionResetError("the IMAP server closed the connection")
                    texts.append(line)
                start = fetch_start(texts[0])
                if start is not None:
                    yield self._fetch(int(start.group(1)), start.end(), texts, literals)
                else:
                    yield self._untagged(texts)
            elif line.startswith(tagged):
                status, _, text = line[len(tagged) :].rstrip(b"\r\n").partition(b" ")
                self.completion = text
                if status.upper() != b"OK":
                    raise CommandFailed(
                        name, status.decode("ascii", "replace"), text.decode("utf-8", "replace")
                    )
                return
            elif line.startswith(b"+"):
                raise ProtocolError(f"The IMAP server asked for more input during {name}.")
            # Anything else (a stray tagged line of another command) is not ours: skip it.

    def _fetch_nested(
        self, seq: int, offset: int, texts: list[bytes], literals: list[bytes]
    ) -> FetchResponse:
        """The slower, general path for items with nested lists (BODYSTRUCTURE)."""
        values = parse_values(texts, literals, offset)
        response = FetchResponse(seq)
        for name, value in zip(values[::2], values[1::2], strict=False):
            key = name.upper() if isinstance(name, bytes) else b""
            if key == b"UID" and isinstance(value, bytes):
                response.uid = int(value)
            elif key == b"FLAGS" and isinstance(value, list):
                raw = b" ".join(v for v in value if isinstance(v, bytes))
                response.flags = self._flags(raw)
            elif key == b"BODYSTRUCTURE" and isinstance(value, list):
                response.bodystructure = value
        return response

    def _flags(self, raw: bytes) -> frozenset[str]:
        """A FLAGS list (without parentheses) as a set; \\Recent is per session, left out."""
        flags = self._flag_sets.get(raw)
        if flags is None:
            flags = frozenset(raw.decode("utf-8", "replace").split()) - {"\\Recent"}
            if len(self._flag_sets) < 10_000:
                self._flag_sets[raw] = flags
        return flags

    @staticmethod
    def _untagged(texts: list[bytes]) -> Untagged:
        line = b"".join(t.rstrip(b"\r\n") for t in texts)[2:]
        words = line.split(b" ", 2)
        kind = words[1] if words[0].isdigit() and len(words) > 1 else words[0]
        return Untagged(kind.upper(), line)

    def _fetch(
        self, seq: int, offset: int, texts: list[bytes], literals: list[bytes]
    ) -> FetchResponse:
        if len(texts) == 2 and texts[1] == b")\r\n":
            m = _SUMMARY_FETCH.match(texts[0], offset)
            if m is not None:
                uid, flags, size, date = m.groups()
                return FetchResponse(
                    seq,
                    uid=int(uid),
                    flags=self._flags(flags),
                    size=int(size),
                    internal_date=parse_internaldate(date),
                    header=literals[0],
                )
        if b"BODYSTRUCTURE" in texts[0]:
            return self._fetch_nested(seq, offset, texts, literals)
        response = FetchResponse(seq)
        for index, text in enumerate(texts):
            for m in _ITEM.finditer(text, offset):
                name, value = m.groups()
                first = value[:1]
                if first == b"{":
                    data: bytes | None = literals[index]
                elif first == b'"':
                    data = _QUOTED_ESCAPE.sub(rb"\1", value[1:-1])
                else:
                    data = None
                key = name.upper()
                if key == b"UID":
                    response.uid = int(value)
                elif key == b"FLAGS":
                    response.flags = self._flags(value[1:-1])
                elif key == b"RFC822.SIZE":
                    response.size = int(value)
                elif key == b"INTERNALDATE":
                    response.internal_date = parse_internaldate(value)
                elif key == b"MODSEQ":
                    response.modseq = int(value.strip(b"()"))
                elif key.startswith(b"BODY["):
                    section = key[5 : key.index(b"]")]
                    if section.startswith(b"HEADER"):
                        response.header = data
                    else:
                        response.body = data
            offset = 0
        return response
