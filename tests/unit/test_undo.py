"""Undo in the store (mailclient.imap.changes.undo): a change the server has not seen is
simply taken back; one it confirmed becomes a move back; one being sent is waited for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.imap import changes
from mailclient.imap.changes import FlagEdit, MovedMessage, StillSending
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.pending import ChangeKind


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore.open(tmp_path / "mail.sqlite3")
    listed = s.sync_folder_list(
        "work",
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
        ],
    )
    for folder in listed:
        s.reset_folder(folder.id, uidvalidity=7)
    inbox = s.folder_by_name("work", "INBOX")
    assert inbox is not None
    s.add_messages(
        inbox.id,
        [
            NewMessage(uid=uid, flags=frozenset({SEEN}), subject=f"m{uid}", message_id=f"<{uid}@x>")
            for uid in (1, 2, 3)
        ],
    )
    yield s
    s.close()


def _ids(store: MailStore, name: str) -> list[int]:
    folder = store.folder_by_name("work", name)
    assert folder is not None
    return sorted(store.message_ids(folder.id))


def _folder(store: MailStore, name: str) -> int:
    folder = store.folder_by_name("work", name)
    assert folder is not None
    return folder.id


def _moved(store: MailStore, ids: list[int]) -> list[MovedMessage]:
    return [MovedMessage(s.id, s.folder_id, s.message_id) for s in store.summaries(ids)]


def test_a_move_the_server_has_not_seen_is_taken_back_here(store: MailStore) -> None:
    inbox, archive = _folder(store, "INBOX"), _folder(store, "Archive")
    first, second, third = _ids(store, "INBOX")
    moved = _moved(store, [first, second])
    changes.move_messages(store, [first, second], archive)
    assert _ids(store, "INBOX") == [third]
    assert changes.undo(store, moved, archive) == []
    assert _ids(store, "INBOX") == [first, second, third]
    assert store.pending_changes() == []  # nothing for the server to do
    assert inbox != archive


def test_a_confirmed_move_is_moved_back_with_the_new_uids(store: MailStore) -> None:
    archive = _folder(store, "Archive")
    first, _, _ = _ids(store, "INBOX")
    moved = _moved(store, [first])
    [change] = changes.move_messages(store, [first], archive)
    claimed = store.claim_pending("work")
    assert claimed is not None and claimed.id == change.id
    store.finish_pending(change.id, {first: 40})  # the server's COPYUID: UID 40 in Archive
    assert _ids(store, "Archive") == [first]
    [back] = changes.undo(store, moved, archive)
    assert (back.kind, back.folder_id, back.uids, back.target_folder_id) == (
        ChangeKind.MOVE,
        archive,
        [40],
        _folder(store, "INBOX"),
    )
    assert _ids(store, "Archive") == []


def test_without_copyuid_the_message_is_found_by_message_id(store: MailStore) -> None:
    archive = _folder(store, "Archive")
    first, _, _ = _ids(store, "INBOX")
    moved = _moved(store, [first])
    [change] = changes.move_messages(store, [first], archive)
    store.claim_pending("work")
    store.finish_pending(change.id)  # no COPYUID: the row went; a sync fetched it anew
    store.add_messages(
        archive, [NewMessage(uid=9, flags=frozenset(), subject="m1", message_id="<1@x>")]
    )
    [again] = _ids(store, "Archive")
    [back] = changes.undo(store, moved, archive)
    assert back.uids == [9] and [m.id for m in back.messages] == [again]


def test_flags_are_set_back(store: MailStore) -> None:
    first, second, _ = _ids(store, "INBOX")
    changes.set_flags(store, [first, second], add={FLAGGED}, remove={SEEN})
    changes.undo(
        store,
        flags=[
            FlagEdit((first, second), frozenset(), frozenset({FLAGGED})),
            FlagEdit((first, second), frozenset({SEEN}), frozenset()),
        ],
    )
    assert {s.flags for s in store.summaries([first, second])} == {frozenset({SEEN})}


def test_a_move_being_sent_is_waited_for(store: MailStore) -> None:
    archive = _folder(store, "Archive")
    first, _, _ = _ids(store, "INBOX")
    moved = _moved(store, [first])
    changes.move_messages(store, [first], archive)
    assert store.claim_pending("work") is not None  # a lane is sending it now
    with pytest.raises(StillSending):
        changes.undo(store, moved, archive, wait_seconds=0.2)
    assert first not in _ids(store, "INBOX")  # nothing was taken back half-way
