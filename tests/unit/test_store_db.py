"""Store connections: WAL, migrations in order, refusal of a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mailclient.store import db, schema
from mailclient.store.db import StoreError


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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);"])
    path = tmp_path / "s.sqlite3"
    db.connect(path).close()
    monkeypatch.setattr(schema, "MIGRATIONS", ["CREATE TABLE a (x);", "CREATE TABLE c (z); BAD;"])
    with pytest.raises(StoreError, match="cannot be used"):
        db.connect(path)
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
