"""A fast reader for the IMAP responses the sync engine streams (RFC 3501 §7, RFC 9051 §7).

imapclient parses every response with a general tokenizer; at ~4k messages per second that
parser, not the server (~35k per second), bounds a header sync. This module reads one
``readline`` per line and one ``read`` per literal (both buffered in C), then regular
expressions over each line: one for the whole FETCH the sync asks for in the order most
servers answer, one per data item otherwise.

It reads any FETCH response RFC 3501 and RFC 9051 allow: names in any case, items in any
order, strings quoted (with escapes), as literals (also ``~{n}`` literal8 and the
``{n+}``/``{n-}`` forms of RFC 7888) or NIL, and values nested to any depth. It keeps
UID, FLAGS, RFC822.SIZE, INTERNALDATE, MODSEQ, BODY[...] (and the RFC822 forms of it)
and BODYSTRUCTURE, and skips every other item whole. Other untagged responses (EXISTS,
EXPUNGE, VANISHED, SEARCH, ESEARCH, OK [...], anything) come as their raw line. What no
grammar allows raises MalformedResponse, naming what was wrong and where.
Nothing here imports imapclient: the connection gives us its ``readline``, ``read`` and
``send``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from mailclient.core.errors import ProtocolError

# A SEARCH without ESEARCH lists every UID on one line: ~7 bytes each. Longer is hostile.
MAX_LINE = 64 * 1024 * 1024
# One literal (a header block or a whole message) may be big, but not unbounded.
MAX_LITERAL = 512 * 1024 * 1024
# Deeper lists than this are no structure a server builds (a BODYSTRUCTURE nests one level
# per MIME part); refusing them keeps hostile input from costing memory and time.
MAX_DEPTH = 100

# A literal ends its line: {n}, literal8 ~{n}, and the LITERAL+/- forms {n+} and {n-}.
# Framing needs only the count (the "~" is the value parsers' business), and searching
# just the line's tail keeps long lines cheap. The parsers below take as a literal exactly
# what this takes (up to 12 digits): anything else there is garbage, not a literal.
_LITERAL_AT_END = re.compile(rb"\{(\d{1,12})[+-]?\}\r\n\Z")
_LITERAL_TAIL = 20
_FETCH_START = re.compile(rb"\* (\d+) [Ff][Ee][Tt][Cc][Hh] \(")
# What the sync's header FETCH looks like from Dovecot and most servers: items in the order
# asked for. Matching it whole is three times quicker than item by item.
_SUMMARY_FETCH = re.compile(
    rb"UID (\d+) FLAGS \(([^()]*)\) RFC822\.SIZE (\d+) INTERNALDATE (\"[^\"]*\") "
    rb"BODY\[HEADER\.FIELDS \([^()]*\)\] \{\d+\}\r\n\Z"
)
_QUOTED = rb'"((?:[^"\\\r\n]|\\[^\r\n])*)"'
# An item's name: an atom, then for BODY/BINARY a section (which may hold a list of header
# names, quoted ones too) and a partial origin <n>.
_NAME = (
    rb' ?([^\x00-\x20()"{\[\]%*\\\x7f]+)'
    rb'(\[(?:[^\]"\r\n]|"(?:[^"\\\r\n]|\\[^\r\n])*")*\](?:<\d+>)?)? '
)
# One item whose value needs no nesting: a flat list of atoms and quoted strings (FLAGS,
# MODSEQ, X-GM-LABELS), a quoted string, a literal (always last in its line) or an atom,
# number or NIL.
_ITEM = re.compile(
    _NAME
    + rb'(?:\(([^()"{\r\n]*(?:"(?:[^"\\\r\n]|\\[^\r\n])*"[^()"{\r\n]*)*)\)|'
    + _QUOTED
    + rb'|(~?\{\d{1,12}[+-]?\}\r\n)\Z|([^\x00-\x20()"{\x7f]+))'
)
_NAME_ONLY = re.compile(_NAME)
# The completion of another command (RFC 3501 §7.1: tag SP OK/NO/BAD).
_OTHER_TAGGED = re.compile(rb'[^\x00-\x20(){%*"\\+\x7f]+ (?:OK|NO|BAD)(?: |\r\n)', re.IGNORECASE)
_END = re.compile(rb" *\) *\r\n\Z")
# The tokens of any value, for what _ITEM cannot take: the last group catches anything no
# token can start with, so that garbage is an error, never skipped.
_TOKEN = re.compile(
    rb" ?(?:(\()|(\))|" + _QUOTED + rb'|~?\{\d{1,12}[+-]?\}\r\n\Z()|([^\x00-\x20()"{\x7f]+)|(.))',
    re.DOTALL,
)
_JUNK = {
    b"\r": "a value that is missing or not finished",
    b"\n": "a value that is missing or not finished",
    b'"': "a quoted string without its closing quote",
    b"{": "a literal that is not one",
}
_DIGITS = re.compile(rb"\d+\Z")
# Items kept whose value is a list (FLAGS and MODSEQ in their usual form take a shortcut).
_KEPT = frozenset({b"FLAGS", b"MODSEQ", b"BODYSTRUCTURE"})
_MONTH_NAMES = b"JanFebMarAprMayJunJulAugSepOctNovDec"
_MONTHS = {_MONTH_NAMES[i : i + 3]: i // 3 + 1 for i in range(0, 36, 3)}
_INTERNALDATE = re.compile(
    rb"\"? ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\"?"
)


class CommandFailed(ProtocolError):
    """The server answered NO or BAD to a command.

    Asking again helps only when its response code says "not now" (see says_not_now());
    any other refusal would come again, and the connection is fine. ``message``, when
    given, is what the user reads instead of the default sentence.
    """

    def __init__(self, command: str, status: str, text: str, message: str = "") -> None:
        super().__init__(
            message or f"The IMAP server refused {command}: {status} {text}".strip() + "."
        )
        self.status = status
        self.text = text
        self.transient = says_not_now(text)


# Response codes of a NO or BAD that mean "not now, soon" (RFC 5530 §3): worth asking again.
NOT_NOW = frozenset({"UNAVAILABLE", "INUSE", "SERVERBUG"})
# The code that opens the server's text: ours ("[CODE] text"), or imapclient's message
# around it ("select failed: [CODE] text", "... error: NO [b'[CODE] text']").
_RESPONSE_CODE = re.compile(r"""(?:^|failed: |\[b['"])\[([A-Za-z-]+)""")


def response_code(text: str) -> str | None:
    """The response code (RFC 3501 §7.1) of a refusal's text, upper case, if it has one."""
    found = _RESPONSE_CODE.search(text)
    return found.group(1).upper() if found else None


def says_not_now(text: str) -> bool:
    """Whether a refusal's text carries a response code that means "not now"."""
    return response_code(text) in NOT_NOW


class MalformedResponse(ProtocolError):
    """The server sent a response that no IMAP grammar allows.

    Retrying cannot help (the server would send it again), and the connection is out of
    step: whoever reads on it must drop it.
    """

    transient = False

    def __init__(self, what: str, text: bytes = b"", at: int = 0) -> None:
        near = f" near {text[max(at - 20, 0) : at + 40]!r}" if text else ""
        super().__init__(f"The IMAP server sent a response that cannot be read: {what}{near}.")
        self.what = what


# A parsed IMAP value: a string (quoted, literal or atom), NIL, or a parenthesised list.
Value = bytes | None | list["Value"]


def _unquote(quoted: bytes) -> bytes:
    # Only \\ and \" are escapes (RFC 3501 §9 quoted-specials); a backslash before
    # anything else is kept as it is.
    if b"\\" not in quoted:
        return quoted
    return quoted.replace(b"\\\\", b"\\").replace(b'\\"', b'"')


def read_value(
    texts: list[bytes], literals: list[bytes], index: int, pos: int
) -> tuple[Value, int, int]:
    """Parse one IMAP value (RFC 3501 §9: a list, string, literal or NIL) of a response.

    ``texts`` and ``literals`` alternate as the reader framed them: texts[i] ends with the
    marker of literals[i]. The value starts at ``pos`` of ``texts[index]``; returns it and
    the (index, pos) just after it. Raises MalformedResponse when there is no whole value.
    """
    stack: list[list[Value]] = []
    current: list[Value] | None = None  # the innermost open list
    while index < len(texts):
        text = texts[index]
        for m in _TOKEN.finditer(text, pos):
            # One group per kind of token; which one matched is the cheapest thing to ask.
            kind = m.lastindex
            value: Value
            if kind == 1:  # (
                if len(stack) >= MAX_DEPTH:
                    raise MalformedResponse("lists nested too deep", text, m.start())
                current = []
                stack.append(current)
                continue
            if kind == 2:  # )
                if current is None:
                    raise MalformedResponse("a ')' where a value belongs", text, m.start())
                value = stack.pop()
                current = stack[-1] if stack else None
            elif kind == 3:  # a quoted string
                value = _unquote(m[3])
            elif kind == 4:  # a literal ends the line
                value = literals[index]
                if current is None:
                    return value, index + 1, 0
                current.append(value)
                break
            elif kind == 5:  # an atom, a number or NIL
                atom = m[5]
                value = None if atom.upper() == b"NIL" else atom
            else:
                junk = m[6]
                what = _JUNK.get(junk, f"the character {junk!r}")
                raise MalformedResponse(what, text, m.start())
            if current is None:
                return value, index, m.end()
            current.append(value)
        else:
            break
        index, pos = index + 1, 0
    raise MalformedResponse("a response that ends inside a value")


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
        if not low.isdigit() or not (high or low).isdigit():
            raise MalformedResponse("a UID set that is not one", text)
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
        [tag] = self.send_commands([command])
        return tag

    def send_commands(self, commands: Sequence[bytes]) -> list[bytes]:
        """Send command lines (no literals) in one write, before any answer is read
        (pipelining, RFC 3501 §5.5); returns their tags in order."""
        if any(b"\r" in command or b"\n" in command for command in commands):
            raise ValueError("an IMAP command line cannot contain CR or LF")
        tags = [b"MC%d" % next(self._tags) for _ in commands]
        self._send(b"".join(t + b" " + c + b"\r\n" for t, c in zip(tags, commands, strict=True)))
        return tags

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
                while (m := literal_at_end(line, len(line) - _LITERAL_TAIL)) is not None:
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
            elif _OTHER_TAGGED.match(line) is None:
                # Skipping it could skip a message: a mangled "* n FETCH" line is no
                # stray completion.
                raise MalformedResponse(f"a line that is no IMAP response during {name}", line)
            # A stray completion of another command is not ours: skip it.

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
        kind = (words[1] if words[0].isdigit() and len(words) > 1 else words[0]).upper()
        if kind.startswith(b"FETCH"):
            # Never pass a message on as something else: the sync would not know it.
            raise MalformedResponse("a FETCH response without its list of data items", line)
        return Untagged(kind, line)

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
        response = FetchResponse(seq)
        index, pos, last = 0, offset, len(texts) - 1
        text = texts[0]
        item = _ITEM.match
        value: Value
        while True:
            m = item(text, pos)
            if m is None:
                if index == last and _END.match(text, pos) is not None:
                    return response
                index, pos = self._nested_item(response, texts, literals, index, pos)
                text = texts[index]
                continue
            name, section, flat, quoted, literal, atom = m.groups()
            pos = m.end()
            key = name.upper()
            if literal is not None:
                value = literals[index]
                index += 1
                text, pos = texts[index], 0
            elif atom is not None:
                # The common items inline: a call per item costs a tenth of the time.
                if key == b"UID" and atom.isdigit():
                    response.uid = int(atom)
                    continue
                if key == b"RFC822.SIZE" and atom.isdigit():
                    response.size = int(atom)
                    continue
                value = None if len(atom) == 3 and atom.upper() == b"NIL" else atom
            elif quoted is not None:
                if key == b"INTERNALDATE":
                    response.internal_date = parse_internaldate(quoted)
                    continue
                value = _unquote(quoted)
            elif key == b"FLAGS" and b'"' not in flat:
                response.flags = self._flags(flat)
                continue
            elif key == b"MODSEQ" and _DIGITS.match(flat):
                response.modseq = int(flat)
                continue
            elif key in _KEPT or section is not None:
                value, _, _ = read_value([b"(" + flat + b")\r\n"], [], 0, 0)
            else:
                continue  # a list the sync does not use: skipped unread
            self._keep(response, key, section, value, text)

    def _nested_item(
        self,
        response: FetchResponse,
        texts: list[bytes],
        literals: list[bytes],
        index: int,
        pos: int,
    ) -> tuple[int, int]:
        """One data item whose value _ITEM cannot take (nested lists, literals in lists)."""
        text = texts[index]
        m = _NAME_ONLY.match(text, pos)
        if m is None:
            if text.startswith(b"\r\n", pos) or text.startswith(b" \r\n", pos):
                raise MalformedResponse("a FETCH response without its closing ')'", text, pos)
            raise MalformedResponse("something that is no FETCH data item", text, pos)
        name, section = m.groups()
        value, index, pos = read_value(texts, literals, index, m.end())
        self._keep(response, name.upper(), section, value, texts[index])
        return index, pos

    def _keep(
        self, response: FetchResponse, key: bytes, section: bytes | None, value: Value, text: bytes
    ) -> None:
        """Keep one data item (RFC 3501 §7.4.2) if it is one the sync uses."""
        if section is not None:
            if key != b"BODY":
                return  # BINARY[...] (RFC 3516) and what may come: not asked for
            if value is not None and not isinstance(value, bytes):
                raise MalformedResponse("a list as the value of BODY[]", text)
            if section[1:7].upper() == b"HEADER":
                response.header = value
            else:
                response.body = value
        elif key == b"UID":
            response.uid = _number(value, key, text)
        elif key == b"RFC822.SIZE":
            response.size = None if value is None else _number(value, key, text)
        elif key == b"INTERNALDATE":
            response.internal_date = parse_internaldate(value) if isinstance(value, bytes) else None
        elif key == b"FLAGS":
            if not isinstance(value, list) or not all(isinstance(v, bytes) for v in value):
                raise MalformedResponse("FLAGS that are no list of flags", text)
            response.flags = self._flags(b" ".join(v for v in value if isinstance(v, bytes)))
        elif key == b"MODSEQ":
            if not isinstance(value, list) or len(value) != 1:
                raise MalformedResponse("a MODSEQ that is not one number in parentheses", text)
            response.modseq = _number(value[0], key, text)
        elif key == b"BODYSTRUCTURE":
            if not isinstance(value, list):
                raise MalformedResponse("a BODYSTRUCTURE that is not a list", text)
            response.bodystructure = value
        elif key == b"RFC822.HEADER":
            response.header = _string(value, key, text)
        elif key in (b"RFC822", b"RFC822.TEXT"):
            response.body = _string(value, key, text)


def _number(value: Value, key: bytes, text: bytes) -> int:
    if isinstance(value, bytes) and _DIGITS.match(value):
        return int(value)
    raise MalformedResponse(f"a {key.decode()} that is not a number", text)


def _string(value: Value, key: bytes, text: bytes) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    raise MalformedResponse(f"a list as the value of {key.decode()}", text)
