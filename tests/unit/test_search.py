"""Full-text search in the store: what is found, in which languages, kept current by every write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest

from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.core.query import parse_query
from mailclient.mime.search_text import indexed_text
from mailclient.store import db, schema, search
from mailclient.store import mail as mail_store
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.pending import ChangeKind
from mailclient.store.tokens import index_text
from tests.support.old_stores import add_old_messages


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def folders(store: MailStore, account: str = "work") -> dict[str, int]:
    listed = store.sync_folder_list(
        account,
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
            RemoteFolder("Sent", "/", SpecialUse.SENT),
        ],
    )
    return {f.name: f.id for f in listed}


def day(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone().timestamp())


def msg(uid: int, subject: str, sender: str = "Bob <bob@example.org>", **kw: object) -> NewMessage:
    flags = kw.pop("flags", ())
    return NewMessage(
        uid=uid,
        flags=frozenset(flags),  # type: ignore[arg-type]
        subject=subject,
        sender=sender,
        date=kw.pop("date", 1_700_000_000 + uid * 60),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def subjects(store: MailStore, text: str, **kw: object) -> list[str]:
    ids = store.search(parse_query(text), **kw)  # type: ignore[arg-type]
    return [s.subject for s in store.summaries(ids)]


@pytest.fixture
def mail(store: MailStore) -> dict[str, int]:
    ids = folders(store)
    store.add_messages(
        ids["INBOX"],
        [
            msg(1, "Quarterly invoices", recipients="Alice <alice@example.org>"),
            msg(2, "Grüße aus München", sender="Jürgen Groß <jg@example.de>", flags=[SEEN]),
            msg(3, "Ελλάδα και Москва", cc="Carol <carol@example.org>", flags=[FLAGGED]),
            msg(4, "東京都の会議について", has_attachments=True, flags=[SEEN, "\\Answered"]),
            msg(5, "annual report draft", date=day("2024-03-09T23:30")),
        ],
    )
    store.add_messages(
        ids["Archive"], [msg(1, "annual report final", date=day("2024-03-10T00:30"))]
    )
    return ids


def test_a_first_fill_is_indexed_when_it_ends_also_after_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail_store, "DEFER_INDEXES_FROM", 2)
    path = tmp_path / "mail.sqlite3"
    with MailStore.open(path) as crashed:
        ids = folders(crashed)
        assert crashed.defer_sort_indexes(3)  # the narrow lookup index goes too
        crashed.add_messages(ids["INBOX"], [msg(3, "annual report final")])
        crashed.add_messages(ids["Sent"], [msg(1, "annual report draft")])
        assert subjects(crashed, "report") == []  # a search meanwhile: no error, no hits yet
    with MailStore.open(path) as reopened:
        reopened.restore_sort_indexes()  # every sync starts with it
        assert subjects(reopened, "report") == ["annual report final", "annual report draft"]
        assert subjects(reopened, "report -final") == ["annual report draft"]


def test_words_match_all_text_newest_first(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, "report") == ["annual report final", "annual report draft"]
    assert subjects(store, "alice") == ["Quarterly invoices"]
    assert subjects(store, "bob report draft") == ["annual report draft"]
    assert subjects(store, "nothing-like-this") == []
    assert subjects(store, "draft !!! --") == ["annual report draft"]


def test_words_match_word_starts_and_phrases_whole_words(
    store: MailStore, mail: dict[str, int]
) -> None:
    assert subjects(store, "invoice") == ["Quarterly invoices"]
    assert subjects(store, '"invoice"') == []
    assert subjects(store, '"annual report"') == ["annual report final", "annual report draft"]
    assert subjects(store, '"report annual"') == []


def test_fields_look_only_at_their_part(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, "from:alice") == []
    assert subjects(store, "to:alice") == ["Quarterly invoices"]
    assert subjects(store, "to:carol") == ["Ελλάδα και Москва"]
    assert subjects(store, "cc:carol") == ["Ελλάδα και Москва"]
    assert subjects(store, "from:jg@example.de") == ["Grüße aus München"]
    assert subjects(store, "subject:bob") == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("grusse", "Grüße aus München"),
        ("GRÜSSE", "Grüße aus München"),
        ("munchen", "Grüße aus München"),
        ("from:gross", "Grüße aus München"),
        ("from:jurgen", "Grüße aus München"),
        ("ελλαδα", "Ελλάδα και Москва"),
        ("ΕΛΛΆΔΑ", "Ελλάδα και Москва"),
        ("москва", "Ελλάδα και Москва"),
        ("東京", "東京都の会議について"),
        ("会議", "東京都の会議について"),
        ('"東京都"', "東京都の会議について"),
        ("京", "東京都の会議について"),
    ],
)
def test_non_ascii_text_is_found(
    store: MailStore, mail: dict[str, int], text: str, found: str
) -> None:
    assert subjects(store, text) == [found]


def test_cjk_pairs_do_not_match_across_words(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, '"京会"') == []


def test_flags_attachments_dates_folders_accounts(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, "is:flagged") == ["Ελλάδα και Москва"]
    assert subjects(store, "is:answered") == ["東京都の会議について"]
    assert subjects(store, "has:attachment") == ["東京都の会議について"]
    assert len(subjects(store, "is:unread")) == 4
    assert subjects(store, "is:read") == ["東京都の会議について", "Grüße aus München"]
    # Dates are days of the local calendar; after: includes its day, before: does not.
    assert subjects(store, "report after:2024-03-10") == ["annual report final"]
    assert subjects(store, "report before:2024-03-10") == ["annual report draft"]
    assert subjects(store, "report after:2024-03-09 before:2024-03-11") == [
        "annual report final",
        "annual report draft",
    ]
    assert subjects(store, "report folder:archive") == ["annual report final"]
    assert subjects(store, "report -folder:INBOX") == ["annual report final"]
    assert subjects(store, "report account:home") == []
    assert len(subjects(store, "account:work")) == 6


def test_negated_terms(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, "report -final") == ["annual report draft"]
    assert subjects(store, 'report -"report final"') == ["annual report draft"]
    assert len(subjects(store, "-report")) == 4
    assert len(subjects(store, "-report -invoices")) == 3
    assert subjects(store, "-is:unread -has:attachment") == ["Grüße aus München"]


def test_scope_limit_and_hidden_messages(store: MailStore, mail: dict[str, int]) -> None:
    assert subjects(store, "report", folder_ids=[mail["INBOX"]]) == ["annual report draft"]
    assert subjects(store, "report", folder_ids=[]) == []
    assert subjects(store, "report", limit=1) == ["annual report final"]
    [archived] = store.search(parse_query("final"))
    store.record_change(ChangeKind.EXPUNGE, [archived])
    assert subjects(store, "report") == ["annual report draft"]


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE messages; --",
        '"report" OR "invoices"',
        "report OR invoices",
        "NEAR(annual report)",
        "report NOT final",
        "subject:* ^annual {sender}:bob",
        'a"b"',
        '"x"" OR ""y"',
        "-- /* */ %_ \\",
        "rowid:1 message_text:report",
    ],
)
def test_sql_and_fts_syntax_is_never_interpreted(
    store: MailStore, mail: dict[str, int], text: str
) -> None:
    # Each query is a search for the words typed: no error, no message without them,
    # and the tables are all still there.
    found = subjects(store, text)
    assert found == []
    assert len(subjects(store, "")) == 6


def test_an_operator_word_is_searched_as_a_word(store: MailStore, mail: dict[str, int]) -> None:
    [inbox] = [mail["INBOX"]]
    store.add_messages(inbox, [msg(9, "cats AND dogs OR NOT birds")])
    assert subjects(store, "AND OR NOT") == ["cats AND dogs OR NOT birds"]
    assert subjects(store, '"dogs OR NOT"') == ["cats AND dogs OR NOT birds"]


def test_header_changes_moves_deletes_and_account_removal_keep_the_index_current(
    store: MailStore, mail: dict[str, int]
) -> None:
    inbox, archive = mail["INBOX"], mail["Archive"]
    store.add_messages(inbox, [msg(1, "Quarterly statements")])  # the server's header changed
    assert subjects(store, "invoices") == []
    assert subjects(store, "statements") == ["Quarterly statements"]

    [moving] = store.search(parse_query("statements"))
    [change] = store.record_change(ChangeKind.MOVE, [moving], target_folder_id=archive)
    store.finish_pending(change.id, {moving: 77})
    assert store.search(parse_query("statements folder:Archive")) == [moving]
    assert store.search(parse_query("statements folder:INBOX")) == []

    store.remove_messages([moving])
    assert subjects(store, "statements") == []
    store.apply_changes(inbox, vanished=[(2, 2)])
    assert subjects(store, "grusse") == []

    other = folders(store, "home")
    store.add_messages(other["INBOX"], [msg(1, "annual report at home")])
    store.forget_account("work")
    assert subjects(store, "report") == ["annual report at home"]
    assert indexed_messages(store.path) == {store.search(parse_query("home"))[0]}


def test_bodies_are_indexed_from_the_queue_newest_first(
    store: MailStore, mail: dict[str, int]
) -> None:
    [first] = store.search(parse_query("invoices"))
    [second] = store.search(parse_query("final"))
    store.save_body(first, plain_message("The flamingo pays.\n> quoted platypus\n"))
    store.save_body(second, html_message("<p>A <b>narwhal</b> &amp; friends</p>"))
    assert store.queued_bodies() == 2
    assert subjects(store, "flamingo") == []
    assert store.index_queued_bodies(indexed_text, limit=1) == 1
    assert subjects(store, "narwhal") == ["annual report final"]  # the newer message first
    assert store.index_queued_bodies(indexed_text) == 1
    assert store.queued_bodies() == 0
    assert subjects(store, "flamingo") == ["Quarterly invoices"]
    assert subjects(store, "body:platypus") == ["Quarterly invoices"]
    assert subjects(store, "platypus") == ["Quarterly invoices"]
    assert subjects(store, "subject:flamingo") == []
    # A body saved again (refetched) is queued again and indexed once more.
    store.save_body(first, plain_message("Now a pelican."))
    store.index_queued_bodies(indexed_text)
    assert subjects(store, "pelican") == ["Quarterly invoices"]
    assert subjects(store, "flamingo") == []


def test_a_deleted_message_leaves_the_queue(store: MailStore, mail: dict[str, int]) -> None:
    [first] = store.search(parse_query("invoices"))
    store.save_body(first, plain_message("gone"))
    store.remove_messages([first])
    assert store.queued_bodies() == 0
    assert store.index_queued_bodies(indexed_text) == 0


def test_server_hits_replace_the_text_terms(store: MailStore, mail: dict[str, int]) -> None:
    inbox, archive = mail["INBOX"], mail["Archive"]
    # The server found uids 3 and 5 in INBOX, and 1 in Archive: only other terms apply here.
    hits = {inbox: [3, 5], archive: [1]}
    assert subjects(store, "walrus", server_hits=hits) == [
        "annual report final",
        "annual report draft",
        "Ελλάδα και Москва",
    ]
    assert subjects(store, "walrus is:flagged", server_hits=hits) == ["Ελλάδα και Москва"]
    assert subjects(store, "walrus", server_hits={}) == []
    assert store.folders_not_all_local([inbox, archive]) == [inbox, archive]
    [final] = store.search(parse_query("final"))
    store.save_body(final, plain_message("x"))
    assert store.folders_not_all_local([inbox, archive]) == [inbox]


def test_migration_indexes_an_existing_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        # The store as the version before the index wrote it.
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        patched.setattr(MailStore, "_folder_changes_waiting", lambda store, account: [])
        with MailStore.open(path) as old:
            inbox = folders(old)["INBOX"]
            add_old_messages(old, inbox, [msg(1, "Grüße vom Walross"), msg(2, "other")])
            [walrus] = old.message_ids(inbox)[1:]
            old.save_body(walrus, plain_message("the kelp forest"))
    with MailStore.open(path) as upgraded:
        assert subjects(upgraded, "grusse walross") == ["Grüße vom Walross"]
        assert upgraded.queued_bodies() == 1
        upgraded.index_queued_bodies(indexed_text)
        assert subjects(upgraded, "kelp") == ["Grüße vom Walross"]
        # Messages stored after the upgrade are indexed as they come, the old ones once.
        upgraded.add_messages(folders(upgraded)["INBOX"], [msg(3, "new walross")])
        assert subjects(upgraded, "walross") == ["new walross", "Grüße vom Walross"]


def rebuilt_entries(path: Path) -> list[tuple[str, int, str, int]]:
    """The index's entries as FTS5 makes them anew from what it indexes."""
    with closing(db.connect(path)) as fresh:
        fresh.execute("INSERT INTO message_text (message_text) VALUES ('rebuild')")
    return index_entries(path)


def test_the_index_holds_what_the_messages_hold_after_every_kind_of_write(
    store: MailStore, mail: dict[str, int]
) -> None:
    # The index keeps no copy of the text: each message must leave it before its text
    # changes, or the words it had stay behind.
    inbox, archive = mail["INBOX"], mail["Archive"]
    [invoices] = store.search(parse_query("invoices"))
    [final] = store.search(parse_query("final"))
    [greek] = store.search(parse_query("ελλαδα"))
    store.save_body(invoices, plain_message("The flamingo pays.\n> quoted platypus\n"))
    store.save_body(final, html_message("<p>A <b>narwhal</b> in Köln</p>"))
    store.save_body(greek, plain_message("Καλημέρα"))
    store.index_queued_bodies(indexed_text)
    store.save_body(invoices, plain_message("Now a pelican."))  # fetched again
    store.index_queued_bodies(indexed_text)
    store.add_messages(  # the server's headers changed
        inbox,
        [
            msg(1, "Quarterly statements", recipients="Alice <alice@example.org>"),
            msg(3, "Ελλάδα", sender="Σοφία <sofia@example.gr>"),
        ],
    )
    [change] = store.record_change(ChangeKind.MOVE, [invoices], target_folder_id=archive)
    store.finish_pending(change.id, {invoices: 77})
    store.remove_messages([final])
    store.apply_changes(inbox, vanished=[(2, 2)])

    entries = index_entries(store.path)
    assert entries == rebuilt_entries(store.path)
    words = {word for word, _, _, _ in entries}
    assert {"pelican", "statements", "σοφια", "καλημερα"} <= words
    assert not {"flamingo", "narwhal", "invoices", "grusse", "москва"} & words
    assert subjects(store, "pelican folder:Archive") == ["Quarterly statements"]
    assert subjects(store, "from:sofia καλημερα") == ["Ελλάδα"]


def test_a_body_indexed_before_its_headers_is_found_with_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A message opened during a first fill: its body is indexed before its headers are,
    # as are the changes of others.
    monkeypatch.setattr(mail_store, "DEFER_INDEXES_FROM", 2)
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        inbox = folders(store)["INBOX"]
        assert store.defer_sort_indexes(2)
        store.add_messages(inbox, [msg(1, "annual report"), msg(2, "other"), msg(3, "gone")])
        [opened] = store.message_ids(inbox)[2:]
        store.save_body(opened, plain_message("the kelp forest"))
        assert store.index_queued_bodies(indexed_text) == 1
        store.add_messages(inbox, [msg(2, "other, changed")])
        store.add_messages(inbox, [msg(2, "other, renamed")])
        store.apply_changes(inbox, vanished=[(3, 3)])
        assert subjects(store, "kelp") == []
        store.restore_sort_indexes()
        assert subjects(store, "kelp") == ["annual report"]
        assert subjects(store, "annual kelp") == ["annual report"]
        assert subjects(store, "renamed") == ["other, renamed"]
        assert subjects(store, "changed") == []
    assert index_entries(tmp_path / "mail.sqlite3") == rebuilt_entries(tmp_path / "mail.sqlite3")


def test_the_index_of_a_store_before_version_15_keeps_its_bodies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        # The store as version 14 wrote it: the index held a copy of its text.
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:14])
        with MailStore.open(path) as old:
            inbox = folders(old)["INBOX"]
            add_old_messages(
                old, inbox, [msg(1, "Grüße vom Walross"), msg(2, "other"), msg(3, "x")]
            )
            old._db.execute(
                "INSERT INTO message_text (rowid, sender, recipients, cc, subject) "
                "SELECT id, mail_index_text(sender), mail_index_text(recipients), "
                "mail_index_text(cc), mail_index_text(subject) FROM messages WHERE uid < 3"
            )
            old._db.execute("UPDATE search_state SET indexed_up_to = 2")
            walrus = old.message_ids(inbox)[-1]
            old._db.execute(
                "UPDATE message_text SET body = 'the kelp forest', quoted = 'sea otters', "
                "filenames = 'map.pdf' WHERE rowid = ?",
                (walrus,),
            )
    with MailStore.open(path) as upgraded:
        assert upgraded.queued_bodies() == 0
        assert subjects(upgraded, "grusse walross kelp") == ["Grüße vom Walross"]
        assert subjects(upgraded, "body:otters filename:map") == ["Grüße vom Walross"]
        assert subjects(upgraded, "other") == ["other"]
        assert subjects(upgraded, "x") == []  # not indexed yet: the next batch takes it in
        upgraded.add_messages(inbox, [msg(4, "new walross")])
        assert subjects(upgraded, "walross") == ["new walross", "Grüße vom Walross"]
        assert subjects(upgraded, "subject:x") == ["x"]
    assert index_entries(path) == rebuilt_entries(path)


def test_only_header_values_that_are_not_ascii_are_prepared_in_python(
    store: MailStore,
) -> None:
    values = [
        "",
        "Bob <bob@example.org>",
        "plain ASCII, then é",
        "a\x00b",
        "a\x00é",
        "Grüße",
        "東京都",
        "mail 📬 here",
    ]
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(uid, value) for uid, value in enumerate(values, 1)])
    prepared: list[str] = []

    def counted(value: str) -> str | None:
        prepared.append(value)
        return search._index_value(value)

    store._db.create_function("mail_index_text", 1, counted, deterministic=True)
    rows = store._db.execute("SELECT subject FROM message_text_source ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [index_text(v) for v in values]
    assert sorted(prepared) == sorted(v for v in values if not v.isascii() or "\x00" in v)


def test_every_connection_can_write_indexed_rows(tmp_path: Path) -> None:
    # The triggers call a function each connection registers (mailclient.store.db).
    path = tmp_path / "mail.sqlite3"
    with MailStore.open(path) as first:
        first.add_messages(folders(first)["INBOX"], [msg(1, "Strasse")])
    second = db.connect(path)
    second.execute("UPDATE messages SET subject = 'Straße 2'")
    second.close()
    with MailStore.open(path) as third:
        assert subjects(third, "strasse") == ["Straße 2"]


def index_entries(path: Path) -> list[tuple[str, int, str, int]]:
    """Every entry of the index (word, message id, column, position), read from the index
    itself: the index keeps no text, so the view it reads from cannot tell."""
    with closing(sqlite3.connect(path)) as raw:
        raw.execute(
            "CREATE VIRTUAL TABLE temp.entries USING fts5vocab(main, message_text, instance)"
        )
        return sorted(raw.execute("SELECT term, doc, col, offset FROM temp.entries"))


def indexed_messages(path: Path) -> set[int]:
    return {doc for _, doc, _, _ in index_entries(path)}


def plain_message(text: str) -> bytes:
    return (
        "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.replace("\n", "\r\n")
    ).encode()


def html_message(markup: str) -> bytes:
    return (
        "From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + markup
    ).encode()


@pytest.mark.parametrize(
    "text",
    [
        "report",
        "annual rep",
        '"report final"',
        "report -draft",
        "is:unread",
        "report has:attachment",
        "!!!",
        "from:bob after:2024-03-10",
    ],
)
def test_matching_holds_every_match_of_the_folders(
    store: MailStore, mail: dict[str, int], text: str
) -> None:
    inbox = [mail["INBOX"]]
    listed = set(store.message_ids(inbox))
    found = set(store.search(parse_query(text), inbox))
    assert store.matching(inbox, text) & listed == found
