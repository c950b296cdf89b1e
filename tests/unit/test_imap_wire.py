"""The fast IMAP response reader: framing, literals, FETCH items, errors, sequence sets."""

from __future__ import annotations

import io

import pytest

from mailclient.core.errors import ProtocolError
from mailclient.imap.wire import (
    CommandFailed,
    FetchResponse,
    MalformedResponse,
    ResponseReader,
    Untagged,
    parse_internaldate,
    parse_uid_set,
    read_value,
    uid_set,
)


def reader(server_says: bytes) -> tuple[ResponseReader, list[bytes]]:
    sent: list[bytes] = []
    stream = io.BytesIO(server_says)
    return ResponseReader(stream.readline, stream.read, sent.append), sent


HEADER = b"Subject: hi\r\nFrom: a@b\r\n\r\n"


def test_summary_fetch_with_literal_and_the_fast_layout() -> None:
    r, sent = reader(
        b"* 3 FETCH (UID 17 FLAGS (\\Seen $Junk \\Recent) RFC822.SIZE 1234 INTERNALDATE "
        b'"17-Jul-1996 02:44:25 -0700" BODY[HEADER.FIELDS (SUBJECT FROM)] {%d}\r\n%s)\r\n'
        b"MC1 OK done\r\n" % (len(HEADER), HEADER)
    )
    [response] = list(r.run(b"UID FETCH 17 (...)"))
    assert sent == [b"MC1 UID FETCH 17 (...)\r\n"]
    assert response == FetchResponse(
        seq=3,
        uid=17,
        flags=frozenset({"\\Seen", "$Junk"}),
        size=1234,
        internal_date=837596665,
        header=HEADER,
    )


def test_items_in_any_order_quoted_nil_modseq_and_body() -> None:
    body = b"From: x\r\n\r\nline\r\n) not the end\r\n"
    r, _ = reader(
        b'* 1 FETCH (FLAGS () MODSEQ (12345) UID 9 BODY[HEADER] "Subject: q\\"x\\"")\r\n'
        b"* 2 FETCH (UID 10 BODY[HEADER.FIELDS (SUBJECT)] NIL RFC822.SIZE 5)\r\n"
        b"* 3 FETCH (UID 11 BODY[] {%d}\r\n%s FLAGS (\\Answered))\r\n"
        b"MC1 OK done\r\n" % (len(body), body)
    )
    first, second, third = list(r.run(b"X"))
    assert isinstance(first, FetchResponse) and isinstance(second, FetchResponse)
    assert (first.uid, first.flags, first.modseq, first.header) == (
        9,
        frozenset(),
        12345,
        b'Subject: q"x"',
    )
    assert (second.uid, second.header, second.size) == (10, None, 5)
    assert isinstance(third, FetchResponse)
    assert (third.uid, third.body, third.flags) == (11, body, frozenset({"\\Answered"}))


def test_other_untagged_responses_come_as_lines() -> None:
    r, _ = reader(
        b'* 5 EXISTS\r\n* VANISHED (EARLIER) 1:3,7\r\n* ESEARCH (TAG "MC1") UID ALL 1:9\r\n'
        b"* OK [HIGHESTMODSEQ 99] ok\r\nMC1 OK [READ-WRITE] done\r\n"
    )
    responses = list(r.run(b"X"))
    assert [x.kind for x in responses if isinstance(x, Untagged)] == [
        b"EXISTS",
        b"VANISHED",
        b"ESEARCH",
        b"OK",
    ]
    assert responses[1] == Untagged(b"VANISHED", b"VANISHED (EARLIER) 1:3,7")
    assert r.completion == b"[READ-WRITE] done"


def test_no_and_bad_raise_with_the_servers_text() -> None:
    r, _ = reader(b"MC1 NO [TRYCREATE] no such folder\r\n")
    with pytest.raises(CommandFailed, match="no such folder") as caught:
        list(r.run(b"SELECT x"))
    assert caught.value.status == "NO"
    r, _ = reader(b"MC1 NO [TRYCREATE] Mailbox doesn't exist: Ghost\r\n")
    with pytest.raises(CommandFailed, match=r"refused UID MOVE: NO \[TRYCREATE\]"):
        list(r.run(b'UID MOVE 4 "Ghost"'))


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        (b"MC1 NO [UNAVAILABLE] Try again later", True),
        (b"MC1 NO [inuse] Mailbox is locked", True),
        (b"MC1 NO [SERVERBUG] Internal error occurred", True),
        (b"MC1 NO [LIMIT] Maximum number of mailboxes reached", False),
        (b"MC1 NO Mailbox [Unavailable] does not exist", False),
        (b"MC1 NO [NONEXISTENT] Mailbox doesn't exist: Old", False),
        (b"MC1 NO [NOPERM] Permission denied", False),
        (b"MC1 NO Mailbox doesn't exist", False),
        (b"MC1 BAD Error in IMAP command", False),
    ],
)
def test_only_a_refusal_that_says_not_now_is_worth_asking_again(
    answer: bytes, transient: bool
) -> None:
    r, _ = reader(answer + b"\r\n")
    with pytest.raises(CommandFailed) as caught:
        list(r.run(b"EXAMINE Old"))
    assert caught.value.transient is transient


def test_a_dropped_connection_is_a_connection_error() -> None:
    r, _ = reader(b"* 1 FETCH (UID 1 BODY[] {100}\r\nshort")
    with pytest.raises(ConnectionResetError):
        list(r.run(b"X"))
    r, _ = reader(b"* 1 EXISTS\r\n")
    with pytest.raises(ConnectionResetError):
        list(r.run(b"X"))
    r, _ = reader(b"* 1 EXISTS\r\n* 2 EXI")
    with pytest.raises(ConnectionResetError):
        list(r.run(b"X"))


def test_continuation_request_is_a_protocol_error() -> None:
    r, _ = reader(b"+ go ahead\r\n")
    with pytest.raises(ProtocolError):
        list(r.run(b"X"))


def test_command_lines_cannot_smuggle_a_second_command() -> None:
    r, _ = reader(b"")
    with pytest.raises(ValueError):
        r.send_command(b"NOOP\r\nMC9 DELETE INBOX")


def test_internaldate_in_any_zone() -> None:
    assert parse_internaldate(b'"01-Jan-1970 00:00:00 +0000"') == 0
    assert parse_internaldate(b'" 1-Jan-1970 01:00:00 +0100"') == 0
    assert parse_internaldate(b'"31-Dec-1969 19:00:00 -0500"') == 0
    assert parse_internaldate(b'"29-Feb-2024 12:00:00 +0000"') == 1709208000
    assert parse_internaldate(b'"garbage"') is None


def test_uid_sets_compress_and_parse() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10, 3]) == b"1:3,7,9:10"
    assert uid_set([5]) == b"5"
    assert parse_uid_set(b"1:3,7,10:9") == [(1, 3), (7, 7), (9, 10)]
    with pytest.raises(ValueError):
        uid_set([])


def test_bodystructure_with_nested_lists_and_a_literal() -> None:
    name = b'we"ird.pdf'
    r, _ = reader(
        b'* 1 FETCH (UID 1 BODYSTRUCTURE (("text" "plain" ("charset" "us-ascii") NIL NIL '
        b'"7bit" 467 1 NIL NIL NIL NIL)("application" "pdf" NIL NIL NIL "base64" 12 NIL '
        b'("attachment" ("filename" {%d}\r\n%s)) NIL NIL) "mixed" ("boundary" "b1") NIL NIL '
        b"NIL))\r\nMC1 OK done\r\n" % (len(name), name)
    )
    [response] = list(r.run(b"X"))
    assert isinstance(response, FetchResponse) and response.uid == 1
    text, pdf, subtype = response.bodystructure[:3]  # type: ignore[index]
    assert text[:2] == [b"text", b"plain"] and text[2] == [b"charset", b"us-ascii"]
    assert text[3] is None and subtype == b"mixed"
    assert pdf[8] == [b"attachment", [b"filename", name]]


def test_values_of_any_shape() -> None:
    texts = [b'(a "b c" NIL (d (e)) 12 {3}\r\n', b") rest\r\n"]
    assert read_value(texts, [b"xyz", b""], 0, 0) == (
        [b"a", b"b c", None, [b"d", [b"e"]], b"12", b"xyz"],
        1,
        1,
    )


def test_lower_case_fetch_and_names_are_fetches() -> None:
    r, _ = reader(b"* 4 fetch (uid 12 flags (\\Seen) rfc822.size 7)\r\nMC1 OK done\r\n")
    assert list(r.run(b"X")) == [FetchResponse(4, uid=12, flags=frozenset({"\\Seen"}), size=7)]


def test_unknown_items_are_skipped_whole_whatever_they_hold() -> None:
    label = b"a) UID 99 (b"
    r, _ = reader(
        b'* 1 FETCH (UID 5 X-FUTURE (("UID" 7) (UID 9 {%d}\r\n%s) NIL) '
        b'ENVELOPE ("d" "s" ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL NIL "<i>") '
        b'X-GM-LABELS ("\\\\Important" Work) FLAGS (\\Seen))\r\nMC1 OK done\r\n'
        % (len(label), label)
    )
    assert list(r.run(b"X")) == [FetchResponse(1, uid=5, flags=frozenset({"\\Seen"}))]


def test_every_literal_form_frames_a_literal() -> None:
    header = b"Subject: x\r\n\r\n"
    r, _ = reader(
        b"* 1 FETCH (UID 5 BINARY[1] ~{4}\r\n\x00)\r\n BODY[HEADER] {%d-}\r\n%s FLAGS (\\Seen))\r\n"
        b"* 2 FETCH (UID 6 BODY[HEADER] {%d+}\r\n%s)\r\nMC1 OK done\r\n"
        % (len(header), header, len(header), header)
    )
    first, second = list(r.run(b"X"))
    assert first == FetchResponse(1, uid=5, flags=frozenset({"\\Seen"}), header=header)
    assert second == FetchResponse(2, uid=6, header=header)


def test_a_message_always_comes_as_a_fetch_or_as_an_error() -> None:
    for broken in (
        b"* 1 FETCH(UID 5)\r\n",  # no space: still a FETCH, but not one that can be read
        b"* 1 FETCH (UID 5 FLAGS (\\Seen) stray\r\n",  # an item without a value
        b"* 1 FETCH (UID 5 FLAGS (\\Seen)\r\n",  # the list never closes
        b"* 1 FETCH (UID five)\r\n",
        b"* 1 FETCH (UID 5 BODY[] (not a string))\r\n",
        b'* 1 FETCH (UID 5 BODY[] "unterminated)\r\n',
        b"x 1 FETCH (UID 5)\r\n",  # a mangled line could have been a message
        b"* 1 FETCH (UID 5 BODY[] {1234567890123}\r\n",  # no literal is that big
        b"* 1 FETCH (UID 5 X-ITEM ({1234567890123}\r\n",
    ):
        r, _ = reader(broken + b"MC1 OK done\r\n")
        with pytest.raises(MalformedResponse) as caught:
            list(r.run(b"X"))
        assert "cannot be read" in str(caught.value) and not caught.value.transient


def test_a_completion_of_another_command_is_skipped() -> None:
    r, _ = reader(b"MC0 OK [READ-ONLY] old news\r\n* 3 EXISTS\r\nMC1 OK done\r\n")
    assert list(r.run(b"X")) == [Untagged(b"EXISTS", b"3 EXISTS")]
