"""Store connections: WAL, migrations in order, refusal of a newer schema."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from mailclient.core.models import SpecialUse
from mailclient.store import db, schema
from mailclient.store.db import StoreBug, StoreError
from mailclient.store.mail import MailStore, RemoteFolder, SortKey


def test_migrations_run_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y TEXT); INSERT INTO a VALUES (1);"],
    )
    path = tmp_path / "s.sqlite3"
    first = db.connect(path)
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first.execute("PRAGMA user_version").fetchone()[0] == 2
    second = db.connect(path)
    assert second.execute("SELECT count(*) FROM a").fetchone()[0] == 1


def test_failed_migration_leaves_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);"])
    path = tmp_path / "s.sqlite3"
    db.connect(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);", "CREATE TABLE c (z); BAD;"])
    with pytest.raises(StoreBug, match="syntax error"):  # a mistake of ours
        db.connect(path)
    assert "Traceback" in caplog.text and 'near "BAD"' in caplog.text
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "c" not in tables


def test_newer_schema_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);", "CREATE TABLE b (x);"])
    path = tmp_path / "s.sqlite3"
    db.connect(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);"])
    with pytest.raises(StoreError, match="newer mailclient"):
        db.connect(path)


@pytest.mark.parametrize(
    ("sort", "index"),
    [(SortKey.SENDER, "messages_by_sender"), (SortKey.SUBJECT, "messages_by_subject")],
)
@pytest.mark.parametrize("descending", [True, False])
def test_sorted_message_lists_read_an_index_not_a_sort(
    tmp_path: Path, sort: SortKey, index: str, descending: bool
) -> None:
    store = MailStore.open(tmp_path / "mail.sqlite3")
    [inbox] = store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.message_ids(inbox.id, sort, descending)
    store._db.set_trace_callback(None)
    [query] = [s for s in statements if s.startswith("SELECT id FROM messages")]
    plan = [row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {query}")]
    store.close()
    assert any(index in step for step in plan), plan
    # Ties (same sender, same date) may be ordered apart; the whole list never is.
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan


def test_sort_indexes_come_with_an_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mail.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
        db.connect(path).close()
    upgraded = db.connect(path)
    names = {r[0] for r in upgraded.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert {"messages_by_sender", "messages_by_subject"} <= names
    upgraded.close()


def test_an_upgrade_drops_the_quick_filter_copy_and_keeps_the_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "mail.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:12])
        old = db.connect(path)
        old.execute("INSERT INTO folders (account, name) VALUES ('work', 'INBOX')")
        old.execute(
            "INSERT INTO messages (folder_id, uid, sender, subject, search) "
            "VALUES (1, 7, 'Jörg', 'Grüße', 'jörg\ngrüße')"
        )
        old.close()
    upgraded = MailStore.open(path)
    columns = {row[1] for row in upgraded._db.execute("PRAGMA table_info(messages)")}
    [summary] = upgraded.summaries(upgraded.message_ids(1))
    upgraded.close()
    assert "search" not in columns
    assert (summary.uid, summary.sender, summary.subject) == (7, "Jörg", "Grüße")


def test_opening_a_new_store_while_another_opener_holds_its_lock_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Switching a new file to WAL while another connection holds its write lock (as one
    does while it makes the same switch) is refused by SQLite at once, without waiting."""
    path = tmp_path / "new.sqlite3"
    path.touch()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    switched = threading.Event()
    past_switch = threading.Event()
    connect = sqlite3.connect

    def traced_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)

        def trace(statement: str) -> None:
            if switched.is_set():
                past_switch.set()
            elif "journal_mode" in statement:
                switched.set()

        connection.set_trace_callback(trace)
        return connection

    monkeypatch.setattr(db.sqlite3, "connect", traced_connect)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            db.connect(path).close()
        except BaseException as error:
            errors.append(error)
        finally:
            past_switch.set()

    opener = threading.Thread(target=open_it)
    opener.start()
    past_switch.wait()
    other.execute("ROLLBACK")
    other.close()
    opener.join()
    assert errors == []
    with connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert check.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)


def test_threads_opening_a_new_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    """A step that may run twice (CREATE ... IF NOT EXISTS) must not set the version back
    while another connection is already past it: the next step would then run twice."""
    errors: list[BaseException] = []

    def open_it(path: Path) -> None:
        try:
            db.connect(path).close()
        except BaseException as error:
            errors.append(error)

    for trial in range(4):
        path = tmp_path / f"store{trial}.sqlite3"
        threads = [threading.Thread(target=open_it, args=(path,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert errors == []
