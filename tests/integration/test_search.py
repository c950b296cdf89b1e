"""Search against the rig's Dovecot: bodies in every encoding found locally, the server
searched for what is not stored here, moves and deletes followed, and the command line."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.query import parse_query
from mailclient.imap.bodies import BodyProgress, KeepPolicy, download_bodies
from mailclient.imap.search import search_account
from mailclient.imap.sync import AccountSync
from mailclient.store.mail import MailStore
from mailclient.store.pending import ChangeKind
from tests.integration.imap_helpers import account
from tests.integration.test_mail_cli import Run, add_account, cli  # noqa: F401
from tests.rig import MailServers

USER = "carol"
HEAD = (
    "From: Dora Sender <dora@example.org>\r\nTo: carol@example.org\r\n"
    "Date: Fri, 01 Mar 2024 12:{minute:02d}:00 +0000\r\nSubject: {subject}\r\n"
    "Message-ID: <{subject}@example.org>\r\nMIME-Version: 1.0\r\n"
)


pytestmark = pytest.mark.mail_users(USER)


def mail(subject: str, minute: int, rest: str | bytes) -> bytes:
    head = HEAD.format(subject=subject, minute=minute).encode()
    return head + (rest.encode() if isinstance(rest, str) else rest)


# Each message hides one unique word (and some non-ASCII ones) in its own encoding.
MESSAGES = {
    "plain": mail(
        "plain", 1, "Content-Type: text/plain; charset=utf-8\r\n\r\nA zebrafinch sings.\r\n"
    ),
    "html": mail(
        "html",
        2,
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        "<html><head><style>p {color: red}</style></head>"
        "<body><p>Meet the <b>okapi</b>&nbsp;today</p></body></html>\r\n",
    ),
    "quoted-printable": mail(
        "quoted-printable",
        3,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable"
        "\r\n\r\nCaf=C3=A9 with a quok=\r\nka inside.\r\n",
    ),
    "base64": mail(
        "base64",
        4,
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(b"The pangolin rolls up.\n").decode().replace("\n", "\r\n"),
    ),
    "latin-1": mail(
        "latin-1",
        5,
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "Grüße vom Kakapo.\r\n".encode("latin-1"),
    ),
    "koi8-r": mail(
        "koi8-r",
        6,
        b"Content-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "Привет, тапир!\r\n".encode("koi8-r"),
    ),
    "iso-2022-jp": mail(
        "iso-2022-jp",
        7,
        b"Content-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: 7bit"
        b"\r\n\r\n" + "東京の会議について\r\n".encode("iso-2022-jp"),
    ),
    "attachment": mail(
        "attachment",
        8,
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nSee the plan.\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="capybara-plan.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n",
    ),
}
# A search, and the message it must find (by subject).
FINDS = [
    ("zebrafinch", "plain"),
    ("okapi", "html"),
    ("quokka", "quoted-printable"),
    ("pangolin", "base64"),
    ("kakapo", "latin-1"),
    ("grüße", "latin-1"),
    ("тапир", "koi8-r"),
    ("会議", "iso-2022-jp"),
    ("filename:capybara", "attachment"),
]


@pytest.fixture
def servers(servers: MailServers) -> MailServers:
    """The shared servers, with this module's mail in place."""
    for raw in MESSAGES.values():
        servers.append(USER, "INBOX", raw)
    return servers


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


@pytest.fixture
def engine(servers: MailServers, store: MailStore) -> Iterator[AccountSync]:
    sync = AccountSync(account(servers, USER), FixedPassword(servers.user(USER).password), store)
    yield sync
    sync.close()


def subjects(store: MailStore, text: str, **kw: object) -> list[str]:
    ids = store.search(parse_query(text), **kw)  # type: ignore[arg-type]
    return [s.subject for s in store.summaries(ids)]


def download_all(engine: AccountSync) -> None:
    assert download_bodies(engine, KeepPolicy(days=None)) > 0


def test_words_in_every_encoding_are_found_locally(engine: AccountSync, store: MailStore) -> None:
    engine.sync(["INBOX"])
    assert subjects(store, "zebrafinch") == []  # headers only so far
    download_all(engine)
    for text, subject in FINDS:
        assert subjects(store, text) == [subject], text
    assert subjects(store, "color") == []  # the style sheet is not text


def test_the_server_finds_what_is_not_stored_here(engine: AccountSync, store: MailStore) -> None:
    engine.sync(["INBOX"])
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    assert store.folders_not_all_local([inbox.id]) == [inbox.id]
    for text, subject in [*FINDS[:-1], ("is:unread pangolin", "base64"), ("-okapi okapi", "")]:
        query = parse_query(text)
        hits = search_account(engine, [inbox], query)
        found = [s.subject for s in store.summaries(store.search(query, server_hits=hits))]
        assert found == ([subject] if subject else []), text


def test_a_moved_message_is_found_in_its_new_folder(
    servers: MailServers, engine: AccountSync, store: MailStore
) -> None:
    servers.append(USER, "Archive", mail("archived", 9, "Content-Type: text/plain\r\n\r\nx\r\n"))
    engine.sync(["INBOX", "Archive"])
    download_all(engine)
    archive = store.folder_by_name("test", "Archive")
    assert archive is not None
    [moving] = store.search(parse_query("pangolin"))
    store.record_change(ChangeKind.MOVE, [moving], target_folder_id=archive.id)
    assert subjects(store, "pangolin") == []  # hidden while the server is told
    assert engine.send_pending() == []
    engine.sync(["INBOX", "Archive"])
    assert subjects(store, "pangolin folder:Archive") == ["base64"]
    assert subjects(store, "pangolin folder:INBOX") == []

    # Moved by another client: the next sync brings it to Archive, found there by header
    # and, on the server, by body.
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.move(client.search(["SUBJECT", "plain"]), "Archive")
    engine.sync(["INBOX", "Archive"])
    assert subjects(store, "subject:plain") == ["plain"]
    assert subjects(store, "subject:plain folder:Archive") == ["plain"]
    query = parse_query("zebrafinch")
    hits = search_account(engine, [archive], query)
    assert [s.subject for s in store.summaries(store.search(query, server_hits=hits))] == ["plain"]


def test_a_deleted_message_is_gone_from_results(
    servers: MailServers, engine: AccountSync, store: MailStore
) -> None:
    engine.sync(["INBOX"])
    download_all(engine)
    [okapi] = store.search(parse_query("okapi"))
    store.record_change(ChangeKind.EXPUNGE, [okapi])
    engine.send_pending()
    assert subjects(store, "okapi") == []
    with servers.imap(USER) as client:
        client.select_folder("INBOX")
        client.delete_messages(client.search(["SUBJECT", "koi8-r"]))
        client.expunge()
    engine.sync(["INBOX"])
    assert subjects(store, "тапир") == []
    assert subjects(store, "kakapo") == ["latin-1"]


@pytest.mark.slow
def test_search_on_the_command_line(cli: Run, servers: MailServers, tmp_path: Path) -> None:  # noqa: F811
    add_account(cli, servers)
    assert cli("sync", "work").returncode == 0

    # Bodies not stored: the server is searched, and says which hits came from there.
    found = cli("search", "--json", "pangolin")
    assert found.returncode == 0, found.stderr
    [row] = [json.loads(line) for line in found.stdout.splitlines()]
    assert row["account"] == "work" and row["folder"] == "INBOX" and row["found"] == "server"
    assert row["subject"] == "base64" and row["from"] == "Dora Sender <dora@example.org>"
    assert {"uid", "date", "flags"} <= row.keys()
    assert "searching the server" in found.stderr
    local = cli("search", "--local-only", "pangolin")
    assert local.returncode == 1 and local.stdout == ""

    # With the bodies stored, the same search stays here.
    kept = cli("sync", "work", "--bodies", "all")
    assert kept.returncode == 0, kept.stderr
    assert "work: 8 messages stored on this computer" in kept.stdout.splitlines()
    again = cli("search", "--json", "pangolin")
    assert again.returncode == 0
    assert json.loads(again.stdout)["found"] == "local"
    assert "searching the server" not in again.stderr

    text = cli("search", "dora", "--limit", "2")
    lines = text.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("work/INBOX\t") and "attachment" in lines[0]
    assert cli("search", "dora", "--folder", "Archive").returncode == 1
    assert cli("search", "nothing-like-this").returncode == 1

    malformed = cli("search", '"unclosed')
    assert malformed.returncode == 2
    assert "not closed" in malformed.stderr and "Traceback" not in malformed.stderr
    injected = cli("search", "'; DROP TABLE messages; --", "--local-only")
    assert injected.returncode == 1 and injected.stderr == ""
    assert cli("search", "okapi", "--local-only").returncode == 0


def test_bodies_are_kept_newest_first_in_resumable_batches(
    engine: AccountSync, store: MailStore
) -> None:
    engine.sync(["INBOX"])
    reports: list[BodyProgress] = []
    # Other work waits after the first batch: it stops there; the next run goes on.
    first = download_bodies(
        engine,
        KeepPolicy(days=None),
        batch=3,
        should_yield=lambda: bool(reports),
        on_progress=reports.append,
    )
    assert first == 3 and reports == [BodyProgress("test", 3, 5)]
    inbox = store.folder_by_name("test", "INBOX")
    assert inbox is not None
    newest = store.message_ids(inbox.id)
    assert all(store.body(i) is not None for i in newest[:3])
    assert all(store.body(i) is None for i in newest[3:])
    assert subjects(store, "pangolin") == []  # older than the three newest
    assert subjects(store, "capybara") == ["attachment"]  # the newest, indexed at once

    assert download_bodies(engine, KeepPolicy(days=None), batch=3) == 5
    assert subjects(store, "pangolin") == ["base64"]
    # A body stored without being indexed (before an upgrade) is indexed in turn.
    [okapi] = store.search(parse_query("subject:html"))
    store.save_body(okapi, store.body(okapi) or b"")
    assert store.queued_bodies() == 1
    assert download_bodies(engine, KeepPolicy(days=None)) == 0
    assert store.queued_bodies() == 0


def test_keeping_bodies_respects_age_size_and_the_switch(
    engine: AccountSync, store: MailStore
) -> None:
    engine.sync(["INBOX"])
    march_2 = 1_709_380_800  # 2024-03-02 12:00 UTC: the messages are a day old
    assert download_bodies(engine, KeepPolicy(enabled=False)) == 0
    assert download_bodies(engine, KeepPolicy(days=1), now=march_2 + 86_400) == 0
    assert download_bodies(engine, KeepPolicy(days=None, max_size=100)) == 0
    assert download_bodies(engine, KeepPolicy(days=2), now=march_2) == 8
