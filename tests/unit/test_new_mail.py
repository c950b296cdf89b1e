"""Which messages count as new mail: arrived in a synced inbox since the last look, unread."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core.models import SEEN, SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.new_mail import NewMailTracker
from mailclient.store.pending import ChangeKind


def _message(uid: int, subject: str = "", seen: bool = False) -> NewMessage:
    return NewMessage(
        uid=uid,
        flags=frozenset({SEEN} if seen else ()),
        date=1_700_000_000 + uid,
        internal_date=1_700_000_000 + uid,
        sender="Bob <bob@example.org>",
        subject=subject or f"Message {uid}",
    )


class Account:
    """One account's folders in the store, synced the way the engine does it."""

    def __init__(self, store: MailStore, name: str) -> None:
        self.store = store
        store.sync_folder_list(
            name,
            [
                RemoteFolder("INBOX", "/", SpecialUse.INBOX),
                RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
            ],
        )
        inbox = store.folder_by_name(name, "INBOX")
        archive = store.folder_by_name(name, "Archive")
        assert inbox is not None and archive is not None
        self.inbox, self.archive = inbox.id, archive.id
        self.uidnext = {self.inbox: 1, self.archive: 1}

    def first_sync(self, folder: int, count: int, uidvalidity: int = 1) -> None:
        self.store.reset_folder(folder, uidvalidity)
        self.arrive(folder, count)

    def arrive(self, folder: int, count: int, seen: bool = False, subject: str = "") -> None:
        """``count`` messages fetched by an (incremental) sync, which then completes."""
        first = self.uidnext[folder]
        self.store.add_messages(
            folder, [_message(uid, subject, seen) for uid in range(first, first + count)]
        )
        self.uidnext[folder] = first + count
        self.store.apply_changes(folder, uidnext=self.uidnext[folder])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def test_what_was_stored_before_start_is_not_new(store: MailStore) -> None:
    work = Account(store, "work")
    work.first_sync(work.inbox, 30)
    tracker = NewMailTracker(store)
    assert tracker.check(store).count == 0
    work.arrive(work.inbox, 1, subject="Lunch?")
    new = tracker.check(store)
    assert new.count == 1
    assert [m.subject for m in new.newest] == ["Lunch?"]
    assert new.newest[0].account == "work"
    # Told once: the next look finds nothing more.
    assert tracker.check(store).count == 0


def test_first_sync_of_an_inbox_is_not_new_mail(store: MailStore) -> None:
    tracker = NewMailTracker(store)
    work = Account(store, "work")  # an account added while the window runs
    work.first_sync(work.inbox, 500)
    assert tracker.check(store).count == 0
    work.arrive(work.inbox, 2)
    assert tracker.check(store).count == 2


def test_a_first_sync_seen_half_way_is_still_not_new(store: MailStore) -> None:
    tracker = NewMailTracker(store)
    work = Account(store, "work")
    store.reset_folder(work.inbox, 1)
    store.add_messages(work.inbox, [_message(uid) for uid in range(100, 200)])
    assert tracker.check(store).count == 0  # a look in the middle of the first sync
    store.add_messages(work.inbox, [_message(uid) for uid in range(1, 100)])
    store.apply_changes(work.inbox, uidnext=200)
    assert tracker.check(store).count == 0
    store.add_messages(work.inbox, [_message(200)])
    assert tracker.check(store).count == 1


def test_only_unread_messages_in_inboxes_count(store: MailStore) -> None:
    work = Account(store, "work")
    work.first_sync(work.inbox, 3)
    work.first_sync(work.archive, 3)
    tracker = NewMailTracker(store)
    work.arrive(work.inbox, 2, seen=True)  # read on the phone already
    work.arrive(work.archive, 4)  # a server-side filter
    assert tracker.check(store).count == 0


def test_a_message_moved_into_the_inbox_is_not_new(store: MailStore) -> None:
    work = Account(store, "work")
    work.first_sync(work.inbox, 3)
    work.first_sync(work.archive, 3)
    tracker = NewMailTracker(store)
    archived = store.message_ids(work.archive)[0]
    [move] = store.record_change(ChangeKind.MOVE, [archived], target_folder_id=work.inbox)
    store.finish_pending(move.id, {archived: 10})  # the server moved it to UID 10
    assert store.summary(archived) is not None
    assert tracker.check(store).count == 0


def test_a_new_uidvalidity_brings_no_flood(store: MailStore) -> None:
    work = Account(store, "work")
    work.first_sync(work.inbox, 20)
    tracker = NewMailTracker(store)
    work.uidnext[work.inbox] = 1
    work.first_sync(work.inbox, 25, uidvalidity=2)
    assert tracker.check(store).count == 0
    work.arrive(work.inbox, 1)
    assert tracker.check(store).count == 1


def test_many_at_once_are_counted_and_the_newest_listed(store: MailStore) -> None:
    work, home = Account(store, "work"), Account(store, "home")
    work.first_sync(work.inbox, 1)
    home.first_sync(home.inbox, 1)
    tracker = NewMailTracker(store, newest_shown=3)
    work.arrive(work.inbox, 4)
    home.arrive(home.inbox, 3)
    new = tracker.check(store)
    assert new.count == 7
    assert len(new.newest) == 3
    dates = [m.date for m in new.newest]
    assert dates == sorted(dates, reverse=True)


def test_read_before_the_look_is_not_announced(store: MailStore) -> None:
    work = Account(store, "work")
    work.first_sync(work.inbox, 1)
    tracker = NewMailTracker(store)
    work.arrive(work.inbox, 2)
    first = store.message_ids(work.inbox)[0]
    store.record_change(ChangeKind.FLAGS, [first], add={SEEN})
    assert tracker.check(store).count == 1
