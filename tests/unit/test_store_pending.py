"""Local changes waiting for the server: kept across connections, claimed one at a time,
laid over what a sync reports, finished or undone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.store import schema
from mailclient.store.db import StoreUnavailable
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.pending import CLAIM_SECONDS, ChangeKind, PendingFolderChange


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore.open(tmp_path / "mail.sqlite3")
    yield s
    s.close()


def msg(uid: int, *flags: str) -> NewMessage:
    return NewMessage(uid=uid, flags=frozenset(flags), subject=f"message {uid}")


def setup_folders(store: MailStore) -> dict[str, int]:
    listed = store.sync_folder_list(
        "work",
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
        ],
    )
    ids = {f.name: f.id for f in listed}
    for folder_id in ids.values():
        store.reset_folder(folder_id, uidvalidity=7)
    store.add_messages(ids["INBOX"], [msg(1), msg(2, SEEN), msg(3)])
    return ids


def by_uid(store: MailStore, folder_id: int) -> dict[int, int]:
    return {s.uid: s.id for s in store.summaries(store.message_ids(folder_id))}


def flags(store: MailStore, folder_id: int) -> dict[int, frozenset[str]]:
    return {s.uid: s.flags for s in store.summaries(store.message_ids(folder_id))}


def test_changes_are_kept_in_order_across_connections(store: MailStore) -> None:
    ids = setup_folders(store)
    uids = by_uid(store, ids["INBOX"])
    store.record_change(ChangeKind.FLAGS, [uids[1], uids[3]], add={SEEN})
    store.record_change(ChangeKind.MOVE, [uids[2]], target_folder_id=ids["Archive"])
    assert store.folder(ids["INBOX"]).unread == 0

    with MailStore.open(store.path) as later:
        first, second = later.pending_changes("work")
    assert (first.kind, first.folder_id, first.uidvalidity) == (ChangeKind.FLAGS, ids["INBOX"], 7)
    assert (first.uids, first.add, first.remove) == ([1, 3], {SEEN}, frozenset())
    assert [m.previous_flags for m in first.messages] == [frozenset(), frozenset()]
    assert (second.kind, second.uids, second.target_folder_id) == (
        ChangeKind.MOVE,
        [2],
        ids["Archive"],
    )
    assert store.message_ids(ids["INBOX"]) == [uids[3], uids[1]]


def test_a_sync_does_not_undo_a_waiting_flag_change(store: MailStore) -> None:
    ids = setup_folders(store)
    uids = by_uid(store, ids["INBOX"])
    [read] = store.record_change(ChangeKind.FLAGS, [uids[1]], add={SEEN})
    store.record_change(ChangeKind.FLAGS, [uids[2]], remove={SEEN})
    # What the server still says, not having heard of either change.
    server = {1: frozenset(), 2: frozenset({SEEN}), 3: frozenset({FLAGGED})}
    store.apply_changes(ids["INBOX"], server)
    assert flags(store, ids["INBOX"]) == {1: {SEEN}, 2: frozenset(), 3: {FLAGGED}}
    store.add_messages(ids["INBOX"], [msg(1)])  # a second engine fetching it again
    assert flags(store, ids["INBOX"])[1] == {SEEN}

    store.finish_pending(read.id)  # the server has it now; what it says counts again
    store.apply_changes(ids["INBOX"], {1: frozenset({SEEN, FLAGGED})})
    assert flags(store, ids["INBOX"])[1] == {SEEN, FLAGGED}


def test_one_change_of_an_account_is_claimed_at_a_time(store: MailStore) -> None:
    ids = setup_folders(store)
    uids = by_uid(store, ids["INBOX"])
    store.record_change(ChangeKind.FLAGS, [uids[1]], add={SEEN})
    store.record_change(ChangeKind.FLAGS, [uids[3]], add={FLAGGED})
    other = MailStore.open(store.path)
    try:
        first = store.claim_pending("work", now=1000.0)
        assert first is not None and first.uids == [1]
        assert other.claim_pending("work", now=1001.0) is None  # the first is being sent
        store.release_pending(first.id)
        again = other.claim_pending("work", now=1002.0)
        assert again is not None and again.id == first.id
        # A sender that died lets go after a while.
        late = store.claim_pending("work", now=1002.0 + CLAIM_SECONDS + 1)
        assert late is not None and late.id == first.id
        store.finish_pending(late.id)
        assert other.claim_pending("work", ids["Archive"], now=1003.0 + CLAIM_SECONDS) is None
        last = other.claim_pending("work", ids["INBOX"], now=1003.0 + CLAIM_SECONDS)
        assert last is not None and last.uids == [3]
    finally:
        other.close()


def test_a_renumbered_folder_leaves_its_changes_without_messages(store: MailStore) -> None:
    ids = setup_folders(store)
    uids = by_uid(store, ids["INBOX"])
    store.record_change(ChangeKind.EXPUNGE, [uids[1]])
    store.reset_folder(ids["INBOX"], uidvalidity=8)
    store.add_messages(ids["INBOX"], [msg(1)])  # the same UID, another message
    [change] = store.pending_changes("work")
    assert (change.uidvalidity, change.messages) == (7, ())
    assert store.message_ids(ids["INBOX"]) != []  # the new UID 1 is not hidden


def test_a_move_whose_target_went_is_kept_for_undoing(store: MailStore) -> None:
    ids = setup_folders(store)
    uids = by_uid(store, ids["INBOX"])
    store.record_change(ChangeKind.MOVE, [uids[1]], target_folder_id=ids["Archive"])
    store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    [change] = store.pending_changes("work")
    assert change.target_folder_id is None and change.uids == [1]
    store.revert_pending(change.id)
    assert sorted(by_uid(store, ids["INBOX"])) == [1, 2, 3]
    assert store.pending_changes() == []


def test_migration_3_shows_rows_hidden_by_an_older_version(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for number, step in enumerate(schema.MIGRATIONS[:2], 1):
        db.executescript(f"BEGIN;\n{step}\n;PRAGMA user_version = {number};COMMIT;")
    db.execute("INSERT INTO folders (id, account, name) VALUES (1, 'work', 'INBOX')")
    db.execute("INSERT INTO messages (folder_id, uid, hidden) VALUES (1, 1, 1)")
    db.close()
    with MailStore.open(path) as store:
        assert len(store.message_ids(1)) == 1
        assert store.folder(1).total == 1


def test_a_folder_list_read_before_a_folder_change_was_sent_does_not_undo_it(
    store: MailStore,
) -> None:
    from mailclient.imap import changes

    ids = setup_folders(store)
    store.add_folder("work", "Projects", "/")
    store.add_folder("work", "Projects/Plans", "/")
    projects = store.folder_by_name("work", "Projects")
    assert projects is not None
    changes.rename_folder(store, projects.id, "Done")
    changes.delete_folder(store, ids["Archive"])
    changes.create_folder(store, "work", "New")
    server = [
        RemoteFolder("INBOX", "/", SpecialUse.INBOX),
        RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
        RemoteFolder("Projects", "/"),
        RemoteFolder("Projects/Plans", "/"),
    ]
    names = {f.name for f in store.sync_folder_list("work", server)}
    assert names == {"INBOX", "Done", "Done/Plans", "New"}  # Archive stays hidden
    assert store.folder_by_name("work", "Done").id == projects.id  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["create", "rename", "delete"])
def test_no_folder_list_is_written_between_a_folder_change_and_its_record(
    tmp_path: Path, kind: str
) -> None:
    """The change is made in the folders table and kept for the server in one transaction:
    a folder list written between the two (a sync's, read before) would drop the created
    or renamed folder, or show the deleted one, as nothing waited for the server yet."""
    from mailclient.imap import changes

    path = tmp_path / "mail.sqlite3"
    store = MailStore.open(path)
    ids = setup_folders(store)
    server = [
        RemoteFolder("INBOX", "/", SpecialUse.INBOX),
        RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
    ]
    sync = MailStore.open(path)
    sync._db.execute("PRAGMA busy_timeout = 0")
    real_record = store.record_folder_change
    locked_out: list[bool] = []

    def record_after_a_list(*args: Any, **kwargs: Any) -> PendingFolderChange:
        try:
            sync.sync_folder_list("work", server)
        except StoreUnavailable:
            locked_out.append(True)  # it waits for the change to be recorded
        return real_record(*args, **kwargs)

    store.record_folder_change = record_after_a_list  # type: ignore[method-assign]
    if kind == "create":
        changes.create_folder(store, "work", "New")
    elif kind == "rename":
        changes.rename_folder(store, ids["Archive"], "Old")
    else:
        changes.delete_folder(store, ids["Archive"])
    assert locked_out == [True]
    sync._db.execute("PRAGMA busy_timeout = 30000")
    names = {f.name for f in sync.sync_folder_list("work", server) or []}
    assert names == {"create": {"INBOX", "Archive", "New"}, "rename": {"INBOX", "Old"}}.get(
        kind, {"INBOX"}
    )
    assert len(store.pending_folder_changes("work")) == 1
    sync.close()
    store.close()
