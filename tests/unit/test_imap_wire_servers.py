"""The FETCH reader on answers in the shapes real servers send (tests/unit/imap_responses).

Each file is one server's answer to the sync's header FETCH, written from the servers'
documented behaviour: the order of the items, extra items (Gmail's X-GM-*), how the
section is echoed (upper case, lower case, quoted names), where MODSEQ goes, and the
untagged responses they slip in between (EXPUNGE, EXISTS, VANISHED, [ALERT], FLAGS).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mailclient.imap.headers import summarize
from mailclient.imap.wire import FetchResponse, ResponseReader, Untagged
from tests.support.chunked import read_all

RESPONSES = Path(__file__).parent / "imap_responses"
SEEN, FLAGGED = "\\Seen", "\\Flagged"
NOON = 1709294400  # 01-Mar-2024 12:00:00 +0000
AT_1105 = NOON - 55 * 60
AT_1710 = NOON + 5 * 3600 + 10 * 60
SUBJECT_1, SUBJECT_2, SUBJECT_3 = "First", "Grüße", ") tricky * 5 FETCH (UID 9)"

# Per server, in order: (uid, flags, size, internal date, modseq, subject) for each FETCH,
# or the kind of an untagged response. A subject of None: no header section came.
Message = tuple[int | None, set[str], int | None, int | None, int | None, str | None]
EXPECTED: dict[str, list[Message | bytes]] = {
    "dovecot": [
        (101, {SEEN}, 1200, NOON, None, SUBJECT_1),
        b"EXPUNGE",
        b"EXISTS",
        (102, {SEEN, "$Forwarded"}, 2300, AT_1105, 4711, SUBJECT_2),
        b"VANISHED",
        (105, set(), 300, AT_1710, None, None),
    ],
    "gmail": [
        (2301, {SEEN}, 1200, NOON, 9311077, SUBJECT_1),
        b"OK",
        (2302, {FLAGGED, SEEN}, 2300, AT_1105, 9311078, SUBJECT_2),
        (2305, set(), 300, AT_1710, 9311080, SUBJECT_3),
    ],
    "exchange": [
        (45, {SEEN}, 1200, NOON, None, SUBJECT_1),
        (46, {SEEN, FLAGGED}, 2300, AT_1105, None, SUBJECT_2),
        (None, {SEEN}, None, None, None, None),
        (48, set(), 300, AT_1710, None, SUBJECT_3),
    ],
    "cyrus": [
        (7, {SEEN}, 1200, NOON, 1001, SUBJECT_1),
        b"OK",
        (8, {SEEN, FLAGGED}, 2300, AT_1105, 1002, SUBJECT_2),
        (10, set(), 300, AT_1710, 1003, SUBJECT_3),
    ],
    "courier": [
        b"FLAGS",
        (3, {SEEN}, 1200, NOON, None, SUBJECT_1),
        (4, {SEEN, FLAGGED}, 2300, AT_1105, None, SUBJECT_2),
        (6, set(), 300, AT_1710, None, ""),
    ],
    "uw": [
        (1, {SEEN}, 1200, NOON, None, SUBJECT_1),
        (None, {SEEN, "\\Deleted"}, None, None, None, None),
        (2, {SEEN, FLAGGED}, 2300, AT_1105, None, SUBJECT_2),
        b"RECENT",
        (4, set(), 300, AT_1710, None, SUBJECT_3),
    ],
    "zimbra": [
        (257, {SEEN}, 1200, NOON, 8812, SUBJECT_1),
        (258, {SEEN, FLAGGED}, 2300, AT_1105, 8813, SUBJECT_2),
        b"EXISTS",
        (260, set(), 300, AT_1710, 8815, None),
    ],
}


def read(data: bytes) -> list[FetchResponse | Untagged]:
    stream = io.BytesIO(data)
    reader = ResponseReader(stream.readline, stream.read, lambda _: None)
    return list(reader.responses(b"MC1", "FETCH"))


def seen_as(response: FetchResponse | Untagged) -> Message | bytes:
    if isinstance(response, Untagged):
        return response.kind
    subject = None if response.header is None else summarize(response).subject
    flags = set(response.flags or ())
    return (
        response.uid,
        flags,
        response.size,
        response.internal_date,
        response.modseq,
        subject,
    )


@pytest.mark.parametrize("server", sorted(EXPECTED))
def test_each_servers_answer_reads_whole(server: str) -> None:
    data = (RESPONSES / f"{server}.txt").read_bytes()
    assert [seen_as(r) for r in read(data)] == EXPECTED[server]


@pytest.mark.parametrize("server", sorted(EXPECTED))
def test_each_servers_answer_reads_the_same_at_every_split(server: str) -> None:
    """One TCP segment boundary anywhere: what the reader makes of it does not change."""
    data = (RESPONSES / f"{server}.txt").read_bytes()
    whole = [seen_as(r) for r in read(data)]
    for cut in range(1, len(data)):
        assert [seen_as(r) for r in read_all(data, [cut, len(data)])] == whole, cut


def test_the_fixtures_keep_their_crlf() -> None:
    for path in RESPONSES.glob("*.txt"):
        data = path.read_bytes()
        assert b"\r\n" in data and b"MC1 OK" in data, path
