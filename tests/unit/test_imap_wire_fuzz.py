"""Property-based tests of the FETCH reader: generated responses of every shape RFC 3501
and RFC 9051 allow, fed through the reader in random chunkings, and mangled ones.

Runs the same 200 examples per property on every run (the "ci" profile: derandomized, so
that a run fails only on what changed, never on an example drawn for the first time); set
WIRE_FUZZ_EXAMPLES to search further with new random examples, e.g.
WIRE_FUZZ_EXAMPLES=20000 pytest tests/unit/test_imap_wire_fuzz.py. What such a search
finds goes into the tests as an @example.
"""

from __future__ import annotations

import calendar
import contextlib
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mailclient.core.errors import ProtocolError
from mailclient.imap.wire import (
    FetchResponse,
    MalformedResponse,
    Untagged,
    Value,
)
from tests.support.chunked import read_all

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    parent=settings.get_profile("ci"),
    max_examples=int(os.environ.get("WIRE_FUZZ_EXAMPLES", "0") or 0) or 200,
    derandomize=False,
)
FUZZ = settings.get_profile("deep" if os.environ.get("WIRE_FUZZ_EXAMPLES") else "ci")
# --- the grammar, as strategies --------------------------------------------------------

ATOM_CHARS = "".join(
    chr(c) for c in range(0x21, 0x7F) if chr(c) not in '(){ %*"\\]'
)  # RFC 3501 ATOM-CHAR
atoms = st.text(ATOM_CHARS, min_size=1, max_size=12).map(str.encode)
flags = st.one_of(
    st.sampled_from([b"\\Seen", b"\\Answered", b"\\Flagged", b"\\Deleted", b"\\Draft"]),
    st.sampled_from([b"\\Recent", b"\\*"]),
    atoms.filter(lambda a: a.upper() != b"NIL"),
)
# Quoted strings: any byte but CR, LF and NUL (RFC 9051 allows UTF-8 too).
quotable = (
    st.binary(max_size=30)
    .map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
    .map(lambda b: b.replace(b"\x00", b""))
)
literal_data = st.one_of(
    st.binary(max_size=60),
    st.sampled_from([b")\r\n", b"* 1 FETCH (UID 9)\r\n", b"MC1 OK done\r\n", b"{3}\r\n", b""]),
)
LITERAL_FORMS = (b"{%d}", b"{%d+}", b"{%d-}", b"~{%d}")


@functools.cache
def _choices(options: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(options)


@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=low, max_value=high)


def pick(how: st.DrawFn, *options: Any) -> Any:
    """One of ``options`` (strategies built once: building them costs more than drawing)."""
    return how(_choices(options))


def number(how: st.DrawFn, low: int, high: int) -> int:
    return how(_integers(low, high))


@dataclass
class Wire:
    """A value being written: its text pieces and literals, as the server sends them."""

    parts: list[bytes] = field(default_factory=list)

    def write(self, text: bytes) -> None:
        self.parts.append(text)

    def literal(self, data: bytes, form: bytes) -> None:
        self.parts.append(form % len(data) + b"\r\n" + data)

    def value(self, value: Value, how: st.DrawFn, atoms: bool = True) -> None:
        """Write ``value`` as NIL, a quoted string or a literal (or an atom), or a list."""
        if value is None:
            self.write(pick(how, b"NIL", b"nil", b"Nil"))
        elif isinstance(value, list):
            self.write(b"(")
            for position, inner in enumerate(value):
                if position:
                    self.write(b" ")
                self.value(inner, how)
            self.write(b")")
        else:
            self.string(value, how, atoms)

    def string(self, value: bytes, how: st.DrawFn, atoms: bool) -> None:
        atom_ok = (
            atoms
            and value.upper() not in (b"", b"NIL")
            and all(chr(c) in ATOM_CHARS for c in value)
        )
        quote_ok = b"\r" not in value and b"\n" not in value and b"\x00" not in value
        choices = ["literal"] + (["quoted"] if quote_ok else []) + (["atom"] if atom_ok else [])
        how_written = pick(how, *choices)
        if how_written == "atom":
            self.write(value)
        elif how_written == "quoted":
            self.write(b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"')
        else:
            self.literal(value, pick(how, *LITERAL_FORMS))

    def bytes(self) -> bytes:
        return b"".join(self.parts)


LEAVES: st.SearchStrategy[Value] = st.one_of(st.none(), quotable, atoms, literal_data)
ANY_VALUE = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


def cased(name: bytes, how: st.DrawFn) -> bytes:
    """The item name in upper, lower or mixed case (names are case-insensitive)."""
    style = pick(how, "upper", "lower", "mixed")
    if style == "upper":
        return name.upper()
    if style == "lower":
        return name.lower()
    return bytes(c ^ 0x20 if chr(c).isalpha() and i % 2 else c for i, c in enumerate(name))


dates = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
zones = st.integers(min_value=-12 * 60, max_value=14 * 60)
MONTHS = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
HEADER_NAMES = [b"DATE", b"FROM", b"SUBJECT", b"MESSAGE-ID", b"X-Odd]Name"]
HEADER_NAME_LISTS = st.lists(st.sampled_from(HEADER_NAMES), min_size=1, max_size=3)
FLAG_LISTS = st.lists(flags, max_size=5)
NSTRINGS = st.one_of(st.none(), literal_data, quotable)
STRUCTURES = st.lists(ANY_VALUE, min_size=1, max_size=5)


@dataclass
class Expected:
    """What the reader must make of one generated FETCH response."""

    uid: int | None = None
    flags: frozenset[str] | None = None
    size: int | None = None
    internal_date: int | None = None
    modseq: int | None = None
    header: bytes | None = None
    body: bytes | None = None
    bodystructure: list[Value] | None = None

    def matches(self, response: FetchResponse) -> bool:
        return (
            response.uid,
            response.flags,
            response.size,
            response.internal_date,
            response.modseq,
            response.header,
            response.body,
            response.bodystructure,
        ) == (
            self.uid,
            self.flags,
            self.size,
            self.internal_date,
            self.modseq,
            self.header,
            self.body,
            self.bodystructure,
        )


def fetch_item(kind: str, wire: Wire, expected: Expected, how: st.DrawFn) -> None:
    """Write one data item of ``kind`` (name SP value) and note what it means."""
    if kind == "uid":
        uid = number(how, 1, 2**32 - 1)
        wire.write(cased(b"UID", how) + b" %d" % uid)
        expected.uid = uid
    elif kind == "flags":
        chosen = how(FLAG_LISTS)
        wire.write(cased(b"FLAGS", how) + b" (" + b" ".join(chosen) + b")")
        expected.flags = frozenset(f.decode() for f in chosen) - {"\\Recent"}
    elif kind == "size":
        size = number(how, 0, 2**40)
        wire.write(cased(b"RFC822.SIZE", how) + b" %d" % size)
        expected.size = size
    elif kind == "internaldate":
        when, offset = how(dates), how(zones)
        sign = b"+" if offset >= 0 else b"-"
        day = b"%2d" % when.day if pick(how, True, False) else b"%02d" % when.day
        text = b'"%s-%s-%d %02d:%02d:%02d %s%02d%02d"' % (
            day,
            MONTHS[when.month - 1],
            when.year,
            when.hour,
            when.minute,
            when.second,
            sign,
            abs(offset) // 60,
            abs(offset) % 60,
        )
        wire.write(cased(b"INTERNALDATE", how) + b" " + text)
        local = when.replace(tzinfo=timezone(timedelta(minutes=offset)))
        expected.internal_date = calendar.timegm(local.utctimetuple())
    elif kind == "modseq":
        modseq = number(how, 1, 2**63 - 1)
        wire.write(cased(b"MODSEQ", how) + b" (%d)" % modseq)
        expected.modseq = modseq
    elif kind in ("header", "body"):
        if kind == "header":
            names = how(HEADER_NAME_LISTS)
            listed = b" ".join(b'"%s"' % n if b"]" in n else n for n in names)
            section = pick(how, b"HEADER.FIELDS (%s)" % listed, b"HEADER")
        else:
            section = pick(how, b"", b"TEXT", b"1.2")
        origin = pick(how, b"", b"<0>", b"<1024>")
        content = how(NSTRINGS)
        wire.write(cased(b"BODY", how) + b"[" + cased(section, how) + b"]" + origin + b" ")
        wire.value(content, how, atoms=False)  # BODY[] is an nstring (RFC 3501 §9)
        if kind == "header":
            expected.header = content
        else:
            expected.body = content
    elif kind == "bodystructure":
        structure = how(STRUCTURES)
        wire.write(cased(b"BODYSTRUCTURE", how) + b" ")
        wire.value(structure, how)
        expected.bodystructure = structure
    else:  # an item the sync does not use, with a value of any shape
        name = how(
            st.sampled_from(
                [b"X-GM-MSGID", b"X-GM-LABELS", b"ENVELOPE", b"BINARY[1]", b"X-FUTURE.ITEM"]
            )
        )
        wire.write(name + b" ")
        wire.value(how(ANY_VALUE), how)


KINDS = [
    "uid",
    "flags",
    "size",
    "internaldate",
    "modseq",
    "header",
    "body",
    "bodystructure",
    "other",
    "other",
]


def untagged(how: st.DrawFn) -> tuple[bytes, bytes]:
    """An untagged response a server may slip between FETCHes, and its kind."""
    n = number(how, 0, 10**6)
    return how(
        st.sampled_from(
            [
                (b"* %d EXISTS\r\n" % n, b"EXISTS"),
                (b"* %d expunge\r\n" % n, b"EXPUNGE"),
                (b"* %d RECENT\r\n" % n, b"RECENT"),
                (b"* VANISHED %d:%d\r\n" % (n, n + 3), b"VANISHED"),
                (b"* VANISHED (EARLIER) %d\r\n" % n, b"VANISHED"),
                (b"* FLAGS (\\Seen \\Draft $Junk)\r\n", b"FLAGS"),
                (b"* OK [ALERT] The server goes down at %d\r\n" % n, b"OK"),
                (b"* OK [HIGHESTMODSEQ %d] changed\r\n" % n, b"OK"),
                (b"* NO [OVERQUOTA] nearly full\r\n", b"NO"),
                (b"* BYE in a moment\r\n", b"BYE"),
                (b"* X-FUTURE {5}\r\n)\r\n* \r\n", b"X-FUTURE"),
            ]
        )
    )


KIND_ORDERS = st.permutations(KINDS)


@st.composite
def conversations(draw: st.DrawFn) -> tuple[bytes, list[Expected | bytes]]:
    """Whole answers to one FETCH: responses, untagged in between, the tagged OK."""
    how = draw
    wire = Wire()
    expected: list[Expected | bytes] = []
    for _ in range(number(how, 0, 4)):
        if number(how, 0, 3) == 0:
            text, kind = untagged(how)
            wire.write(text)
            expected.append(kind)
            continue
        kinds = draw(KIND_ORDERS)[: number(how, 0, len(KINDS))]
        seq = number(how, 1, 10**6)
        one = Expected()
        wire.write(b"* %d %s (" % (seq, cased(b"FETCH", how)))
        for position, kind in enumerate(kinds):
            if position:
                wire.write(b" ")
            fetch_item(kind, wire, one, how)
        wire.write(b")\r\n")
        expected.append(one)
    wire.write(pick(how, b"MC1 OK done\r\n", b"MC1 ok Fetch completed.\r\n"))
    return wire.bytes(), expected


# Segment sizes as a socket may deliver them, byte by byte included (the whole answers of
# tests/unit/imap_responses are also read split at every byte).
chunkings = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=8)


def check(got: Sequence[FetchResponse | Untagged], expected: Sequence[Expected | bytes]) -> None:
    assert len(got) == len(expected), (got, expected)
    for response, wanted in zip(got, expected, strict=True):
        if isinstance(wanted, Expected):
            assert isinstance(response, FetchResponse), response
            assert wanted.matches(response), (response, wanted)
        else:
            assert isinstance(response, Untagged) and response.kind == wanted, response


# --- the properties --------------------------------------------------------------------


@FUZZ
@given(conversations(), chunkings)
def test_every_allowed_response_is_read_in_any_chunking(
    conversation: tuple[bytes, list[Expected | bytes]], sizes: list[int]
) -> None:
    data, expected = conversation
    check(read_all(data, sizes), expected)


@FUZZ
@given(conversations(), st.data())
def test_a_cut_answer_is_a_closed_connection_never_a_hang(
    conversation: tuple[bytes, list[Expected | bytes]], data: st.DataObject
) -> None:
    answer, _ = conversation
    cut = data.draw(st.integers(min_value=0, max_value=len(answer) - 1))
    try:
        read_all(answer[:cut], data.draw(chunkings))
    except (ConnectionResetError, MalformedResponse):
        return
    raise AssertionError("a cut answer was read as if whole")


GARBAGE = st.sampled_from(
    [b"(", b")", b'"', b"\\", b"{", b"}", b"{99}\r\n", b"~", b"\r\n", b"\x00", b" ", b"[", b"]"]
)
JUNK = st.one_of(GARBAGE, st.binary(min_size=1, max_size=4))


@FUZZ
@given(conversations(), st.data())
def test_garbage_fails_with_a_clear_error(
    conversation: tuple[bytes, list[Expected | bytes]], data: st.DataObject
) -> None:
    answer, _ = conversation
    mangled = bytearray(answer)
    for _ in range(number(data.draw, 1, 4)):
        at = number(data.draw, 0, len(mangled))
        action = pick(data.draw, "insert", "delete", "replace")
        junk = data.draw(JUNK)
        if action == "insert":
            mangled[at:at] = junk
        elif action == "delete":
            del mangled[at : at + len(junk)]
        else:
            mangled[at : at + len(junk)] = junk
    try:
        got = read_all(bytes(mangled), data.draw(chunkings))
    except (ProtocolError, ConnectionResetError) as error:
        assert str(error)
        return
    # Still readable: every FETCH that came back is a whole message, nothing half-read.
    assert all(isinstance(r, FetchResponse | Untagged) for r in got)


@FUZZ
@given(st.binary(max_size=200), chunkings)
@example(b"\n+", [1])  # "* \n+": a continuation request in the middle of a FETCH
def test_random_bytes_never_crash_the_reader(noise: bytes, sizes: list[int]) -> None:
    """Garbage ends in a clear error (ProtocolError: MalformedResponse, NO/BAD, an
    unexpected continuation request), or a closed connection: nothing else."""
    for data in (noise, b"* 1 FETCH (" + noise, b"* " + noise + b"\r\nMC1 OK\r\n"):
        with contextlib.suppress(ProtocolError, ConnectionResetError):
            read_all(data, sizes)


def test_every_split_of_a_response_with_all_literal_forms() -> None:
    data = (
        b"* 1 FETCH (UID 5 BINARY[1] ~{4}\r\n\x00\x01)\r BODY[HEADER] {6+}\r\nA: b\r\n"
        b' X-GM-LABELS ({3-}\r\nx y "\\\\Important") FLAGS (\\Seen))\r\n'
        b"* 4 EXPUNGE\r\nMC1 OK done\r\n"
    )
    for cut in range(1, len(data)):
        first, second = read_all(data, [cut, len(data)])
        assert isinstance(first, FetchResponse)
        assert (first.uid, first.header, first.flags) == (5, b"A: b\r\n", frozenset({"\\Seen"}))
        assert second == Untagged(b"EXPUNGE", b"4 EXPUNGE")
