"""Local drafts: atomic saves, attachments in memory and by path, listing, deleting."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.store import drafts as store_drafts
from mailclient.store.drafts import DraftStoreError, LocalDrafts


def draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "account": "work",
        "sender": "Ann <ann@example.org>",
        "to": "bob@example.org, carol@",
        "subject": "Plans ☕",
        "body": "first line\n\nsecond",
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    drafts = LocalDrafts(tmp_path / "drafts")
    original = draft(
        cc="dave@example.org",
        bcc="eve@example.org",
        html="<p>first line</p>",
        in_reply_to="<m1@example.org>",
        references=("<m0@example.org>", "<m1@example.org>"),
        kind=DraftKind.REPLY_ALL,
        original="<m1@example.org>",
        replaces="<d1@example.org>",
    )
    drafts.save(original)
    loaded = drafts.load(original.key)
    assert loaded.draft == original
    assert loaded.upload_error == ""
    assert (tmp_path / "drafts").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "drafts" / f"{original.key}.json").stat().st_mode & 0o777 == 0o600


def test_attachments_in_memory_get_files_of_their_own(tmp_path: Path) -> None:
    drafts = LocalDrafts(tmp_path)
    outside = tmp_path / "elsewhere" / "notes.txt"
    outside.parent.mkdir()
    outside.write_text("notes")
    first = draft(
        attachments=(
            Attachment(filename="report.pdf", data=b"%PDF", content_type="application/pdf"),
            Attachment(path=outside),
        )
    )
    drafts.save(first)
    loaded = drafts.load(first.key).draft
    report, notes = loaded.attachments
    assert report.filename == "report.pdf"
    assert report.content_type == "application/pdf"
    assert report.path is not None and report.path.read_bytes() == b"%PDF"
    assert notes.path == outside and notes.filename == "notes.txt"

    # Saved again as loaded: the part is kept, not copied; dropped, it is removed.
    drafts.save(loaded)
    assert drafts.load(first.key).draft.attachments == loaded.attachments
    drafts.save(loaded.__class__(**{**loaded.__dict__, "attachments": (notes,)}))
    assert not report.path.exists()


def test_keys_newest_first_and_delete(tmp_path: Path) -> None:
    drafts = LocalDrafts(tmp_path)
    assert drafts.saved_keys() == []
    older, newer = draft(subject="older"), draft(subject="newer")
    drafts.save(older, upload_error="The server was away.")
    drafts.save(newer)
    os.utime(tmp_path / f"{older.key}.json", (1, 1))
    assert drafts.saved_keys() == [newer.key, older.key]
    assert [s.draft.subject for s in drafts.all()] == ["newer", "older"]
    assert drafts.load(older.key).upload_error == "The server was away."
    drafts.delete(older.key)
    drafts.delete(older.key)  # twice is harmless
    assert drafts.saved_keys() == [newer.key]


def test_damaged_files_are_skipped_in_listings(tmp_path: Path) -> None:
    drafts = LocalDrafts(tmp_path)
    good = draft()
    drafts.save(good)
    (tmp_path / ("0" * 32 + ".json")).write_text("{not json")
    assert [s.draft.key for s in drafts.all()] == [good.key]
    with pytest.raises(DraftStoreError):
        drafts.load("0" * 32)


def test_keys_cannot_name_other_files(tmp_path: Path) -> None:
    with pytest.raises(DraftStoreError):
        LocalDrafts(tmp_path).load("../config")


def test_a_failed_write_keeps_the_previous_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafts = LocalDrafts(tmp_path)
    first = draft(body="kept")
    drafts.save(first)

    def disk_full(path: Path, data: bytes, mode: int = 0o600) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store_drafts, "write_atomic", disk_full)
    with pytest.raises(DraftStoreError, match="No space left on device"):
        drafts.save(draft(key=first.key, body="lost"))
    assert drafts.load(first.key).draft.body == "kept"
