"""ImapSession on a scripted connection: what a header sync keeps of odd FETCH answers."""

from __future__ import annotations

import io

import imapclient.exceptions
import pytest

from mailclient.accounts.model import Account, Security
from mailclient.core.errors import ProtocolError
from mailclient.core.models import FLAGGED, SEEN
from mailclient.imap.client import ImapSession, MailboxStatus, translate_error
from mailclient.imap.headers import summarize_batch
from mailclient.imap.wire import CommandFailed, FetchResponse, ResponseReader, response_code


class ScriptedConnection:
    """imaplib's side of the connection as ImapSession uses it: canned server bytes."""

    def __init__(self, server_says: bytes) -> None:
        self.file = io.BytesIO(server_says)
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


class ScriptedClient:
    """The few parts of an IMAPClient that ImapSession touches."""

    def __init__(self, server_says: bytes) -> None:
        self._imap = ScriptedConnection(server_says)

    def capabilities(self) -> tuple[bytes, ...]:
        return (b"IMAP4rev1",)


ACCOUNT = Account(
    name="test",
    email="carol@example.org",
    imap_host="imap.example.org",
    imap_port=993,
    imap_security=Security.SSL,
    smtp_host="smtp.example.org",
    smtp_port=465,
)
HEADER = b"Subject: Fine\r\nFrom: Bob <bob@example.org>\r\n\r\n"
FIELDS = b"BODY[HEADER.FIELDS (SUBJECT FROM)]"
DATE = b'INTERNALDATE "01-Mar-2024 12:00:00 +0000"'
# A broken message whose header section Dovecot cannot give (NIL), a normal one, and an
# unsolicited flag update of another message slipped in before the tagged OK.
ANSWER = (
    b"* 1 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE 120 " + DATE + b" " + FIELDS + b" NIL)\r\n"
    b"* 2 FETCH (UID 8 FLAGS () RFC822.SIZE 80 " + DATE + b" " + FIELDS + b" {%d}\r\n%s)\r\n"
    b"* 5 FETCH (UID 11 FLAGS (\\Flagged) MODSEQ (40))\r\n"
    b"MC1 OK Fetch completed.\r\n"
) % (len(HEADER), HEADER)


def test_the_reader_keeps_uid_flags_and_size_of_a_nil_header_section() -> None:
    stream = io.BytesIO(ANSWER)
    reader = ResponseReader(stream.readline, stream.read, lambda _: None)
    first = next(iter(reader.run(b"UID FETCH 7:8 (...)")))
    assert first == FetchResponse(
        seq=1, uid=7, flags=frozenset({SEEN}), size=120, internal_date=1709294400
    )


def test_a_message_without_readable_headers_is_stored_all_the_same() -> None:
    client = ScriptedClient(ANSWER)
    session = ImapSession(ACCOUNT, client)
    [batch] = list(session.fetch_summaries([[7, 8]]))
    records = summarize_batch(batch.messages)
    assert [(r.uid, r.flags, r.size, r.subject) for r in records] == [
        (7, {SEEN}, 120, ""),
        (8, frozenset(), 80, "Fine"),
    ]
    assert records[0].internal_date == 1709294400
    assert FLAGGED not in {f for r in records for f in r.flags}  # UID 11 was no answer
    assert client._imap.sent[0].startswith(b"MC1 UID FETCH 7:8 (UID FLAGS RFC822.SIZE")


def test_a_batch_the_server_refuses_in_part_keeps_what_came_and_names_what_did_not() -> None:
    """Gmail answers NO when some messages of a FETCH cannot be read (RFC 2180 §4.1.3 lets
    a server do the same for expunged ones); the others came and the next batch goes on."""
    client = ScriptedClient(
        b"* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 1 " + DATE + b" " + FIELDS + b" NIL)\r\n"
        b"* VANISHED 9\r\n"
        b"MC1 NO Some messages could not be FETCHed (Failure)\r\n"
        b"* 4 FETCH (UID 12 FLAGS () RFC822.SIZE 2 " + DATE + b" " + FIELDS + b" NIL)\r\n"
        b"MC2 OK Success\r\n"
    )
    session = ImapSession(ACCOUNT, client)
    first, second = list(session.fetch_summaries([[7, 8, 9], [12]]))
    assert [m.uid for m in first.messages] == [7]
    assert first.absent() == [8, 9] and first.vanished == [(9, 9)]
    assert first.refused is not None and "could not be FETCHed" in first.refused
    assert ([m.uid for m in second.messages], second.absent(), second.refused) == ([12], [], None)
    assert session.alive


def test_a_structure_that_did_not_come_is_named() -> None:
    """A UID answered without a structure, or in a batch the server refused, is there with
    None: the sync asks for it once more, then keeps the Content-Type's guess."""
    structure = b'BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 2 1)'
    client = ScriptedClient(
        b"* 1 FETCH (UID 7 " + structure + b")\r\n"
        b"MC1 OK Fetch completed.\r\n"
        b"* 4 FETCH (UID 12 " + structure + b")\r\n"
        b"MC2 NO Some messages could not be FETCHed (Failure)\r\n"
    )
    session = ImapSession(ACCOUNT, client)
    first, second = list(session.fetch_structures([[7, 8], [12, 13]]))
    assert first[7] is not None and first[8] is None and list(first) == [7, 8]
    assert second[12] is not None and second[13] is None and list(second) == [12, 13]
    assert session.alive


def test_an_answer_without_a_size_is_an_answer_a_flag_update_is_not() -> None:
    client = ScriptedClient(
        b"* 1 FETCH (UID 7 FLAGS () " + DATE + b" " + FIELDS + b" {%d}\r\n%s)\r\n"
        b"* 2 FETCH (UID 8 FLAGS (\\Seen) MODSEQ (9))\r\n"
        b"MC1 OK done\r\n" % (len(HEADER), HEADER)
    )
    [batch] = list(ImapSession(ACCOUNT, client).fetch_summaries([[7, 8]]))
    assert [m.uid for m in batch.messages] == [7]
    assert batch.absent() == [8]


def test_answers_to_the_pipelined_next_fetch_that_come_early_go_to_its_batch() -> None:
    """With two FETCHes in flight a server may answer the second before it completes the
    first (Dovecot does, now and then): those answers belong to the second batch."""
    client = ScriptedClient(
        b"* 1 FETCH (UID 7 FLAGS () RFC822.SIZE 1 " + DATE + b" " + FIELDS + b" NIL)\r\n"
        b"* 2 FETCH (UID 12 FLAGS () RFC822.SIZE 2 " + DATE + b" " + FIELDS + b" NIL)\r\n"
        b"MC1 OK done\r\n"
        b"* 3 FETCH (UID 13 FLAGS () RFC822.SIZE 3 " + DATE + b" " + FIELDS + b" NIL)\r\n"
        b"MC2 OK done\r\n"
    )
    first, second = list(ImapSession(ACCOUNT, client).fetch_summaries([[7], [12, 13]]))
    assert ([m.uid for m in first.messages], first.absent()) == ([7], [])
    assert ([m.uid for m in second.messages], second.absent()) == ([12, 13], [])


def test_pipelined_statuses_go_to_the_folder_each_answer_names() -> None:
    # The answer for "Sent Items" comes before the first command completed (a server may
    # answer pipelined commands in any order), INBOX in lower case; "Gone" was deleted;
    # "Odd" is named by a literal, which is not told apart: left out, asked on its own.
    client = ScriptedClient(
        b'* STATUS "Sent Items" (MESSAGES 2 UIDNEXT 9 UIDVALIDITY 7)\r\n'
        b"* STATUS inbox (MESSAGES 5 UIDNEXT 6 UIDVALIDITY 3)\r\n"
        b"MC1 OK Status completed.\r\n"
        b"MC2 OK Status completed.\r\n"
        b"MC3 NO Mailbox doesn't exist: Gone\r\n"
        b"* STATUS {3}\r\nOdd (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1)\r\n"
        b"MC4 OK Status completed.\r\n"
    )
    session = ImapSession(ACCOUNT, client)
    found = session.statuses(["INBOX", "Sent Items", "Gone", "Odd"])
    assert found == {
        "INBOX": MailboxStatus("INBOX", uidvalidity=3, uidnext=6, exists=5),
        "Sent Items": MailboxStatus("Sent Items", uidvalidity=7, uidnext=9, exists=2),
    }
    items = b" (MESSAGES UIDNEXT UIDVALIDITY)\r\n"
    assert client._imap.sent == [  # one write
        b'MC1 STATUS "INBOX"' + items + b'MC2 STATUS "Sent Items"' + items
        + b'MC3 STATUS "Gone"' + items + b'MC4 STATUS "Odd"' + items
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "transient"),
    [
        ("select failed: [UNAVAILABLE] Try again later", True),
        ("LIST command error: BAD [b'[SERVERBUG] Internal error occurred']", True),
        ("select failed: [NONEXISTENT] Mailbox doesn't exist: Old", False),
        ("select failed: Mailbox doesn't exist: [Unavailable]", False),
        ("SEARCH command error: NO [b'[BADCHARSET] (US-ASCII) Unsupported charset']", False),
        ("APPEND command error: NO [b'Permission denied']", False),
        ("append failed: [TOOBIG] Message too large", False),
        ("append failed: [TRYCREATE] Mailbox doesn't exist: Old (0.001 + 0.000 secs).", False),
        ("append failed: [UNAVAILABLE] Try again later", True),
    ],
)
def test_a_refusal_through_imapclient_is_worth_asking_again_as_one_of_ours(
    text: str, transient: bool
) -> None:
    error = translate_error(ACCOUNT, imapclient.exceptions.IMAPClientError(text))
    # A refusal like those our reader raises: a change it refuses is undone, not retried.
    assert isinstance(error, CommandFailed)
    assert error.transient is transient
    assert error.text == text
    words = text.rstrip(".")
    assert str(error) == f"The IMAP server imap.example.org:993 answered with an error: {words}."


def test_a_limit_through_imapclient_keeps_its_code_so_that_the_change_waits() -> None:
    """changes._refusal lets a change wait on LIMIT (a quota may lift), by the code."""
    text = "append failed: [LIMIT] Too many messages in this folder"
    error = translate_error(ACCOUNT, imapclient.exceptions.IMAPClientError(text))
    assert isinstance(error, CommandFailed) and not error.transient
    assert response_code(error.text) == "LIMIT"


@pytest.mark.parametrize(
    "error",
    [
        imapclient.exceptions.CapabilityError("Server does not support MOVE capability"),
        imapclient.exceptions.LoginError("login failed: [UNAVAILABLE] Try again later"),
        imapclient.exceptions.InvalidCriteriaError("no criteria specified"),
        imapclient.exceptions.ProtocolError("server replied with an unexpected response"),
        imapclient.exceptions.IMAPClientError("Unexpected IDLE response: b'* 1 EXISTS'"),
        imapclient.exceptions.IMAPClientError("command: APPEND => got more than 1000 bytes"),
    ],
)
def test_what_imapclient_finds_itself_is_no_refusal_of_the_server(
    error: imapclient.exceptions.IMAPClientError,
) -> None:
    translated = translate_error(ACCOUNT, error)
    assert isinstance(translated, ProtocolError)
    assert not isinstance(translated, CommandFailed)
