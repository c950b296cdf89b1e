"""The mail cache: folders and counts, ordered and filtered ids, summaries, flags, changes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.store import mail, schema
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, SortKey
from mailclient.store.pending import ChangeKind
from tests.support.old_stores import add_old_messages


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore.open(tmp_path / "mail.sqlite3")
    yield s
    s.close()


def msg(uid: int, subject: str = "", sender: str = "", date: int = 0, **kw: object) -> NewMessage:
    flags = kw.pop("flags", ())
    return NewMessage(
        uid=uid,
        flags=frozenset(flags),
        subject=subject or f"message {uid}",
        sender=sender or f"Sender {uid} <s{uid}@example.org>",
        date=date or 1_700_000_000 + uid * 60,
        internal_date=1_700_000_000 + uid * 60,
        **kw,
    )


def folders(store: MailStore, account: str = "work") -> dict[str, int]:
    listed = store.sync_folder_list(
        account,
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
            RemoteFolder("Trash", "/", SpecialUse.TRASH),
            RemoteFolder("Projects", "/", selectable=False),
            RemoteFolder("Projects/Zoë", "/"),
        ],
    )
    return {f.name: f.id for f in listed}


def test_folder_list_inbox_first_with_special_use(store: MailStore) -> None:
    ids = folders(store)
    listed = store.folders("work")
    assert [f.name for f in listed] == ["INBOX", "Archive", "Projects", "Projects/Zoë", "Trash"]
    assert listed[0].special_use is SpecialUse.INBOX
    assert store.folder_by_use("work", SpecialUse.TRASH).id == ids["Trash"]
    assert [f.name for f in store.selectable_folders("work")] == [
        "INBOX",
        "Archive",
        "Projects/Zoë",
        "Trash",
    ]
    assert listed[3].leaf == "Zoë"


def test_folder_list_sync_removes_folders_the_server_dropped(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["Archive"], [msg(1), msg(2)])
    store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    assert [f.name for f in store.folders("work")] == ["INBOX"]
    assert store.summaries([1, 2]) == []


def test_counts_follow_inserts_flags_hiding_and_deletes(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, flags={SEEN}), msg(2), msg(3)])
    folder = store.folder(inbox)
    assert (folder.total, folder.unread) == (3, 2)
    ids = store.message_ids(inbox)
    store.record_change(ChangeKind.FLAGS, ids[:1], add={SEEN})
    assert store.folder(inbox).unread == 1
    [hiding] = store.record_change(ChangeKind.EXPUNGE, ids[1:2])
    assert (store.folder(inbox).total, store.folder(inbox).unread) == (2, 0)
    store.revert_pending(hiding.id)
    assert (store.folder(inbox).total, store.folder(inbox).unread) == (3, 1)
    store.remove_messages(ids[1:])
    assert (store.folder(inbox).total, store.folder(inbox).unread) == (1, 0)


def test_message_ids_sorted_newest_first_and_by_other_keys(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [
            msg(1, "banana", "Carol <c@x>", date=300, size=10),
            msg(2, "apple", "alice <a@x>", date=100, size=30),
            msg(3, "Cherry", "Bob <b@x>", date=200, size=20),
        ],
    )
    by_uid = {s.uid: s.id for s in store.summaries(store.message_ids(inbox))}

    def uids(ids: list[int]) -> list[int]:
        reverse = {v: k for k, v in by_uid.items()}
        return [reverse[i] for i in ids]

    assert uids(store.message_ids(inbox)) == [1, 3, 2]
    assert uids(store.message_ids(inbox, descending=False)) == [2, 3, 1]
    assert uids(store.message_ids(inbox, SortKey.SENDER, descending=False)) == [2, 3, 1]
    assert uids(store.message_ids(inbox, SortKey.SUBJECT, descending=False)) == [2, 1, 3]
    assert uids(store.message_ids(inbox, SortKey.SIZE)) == [2, 3, 1]
    # The same ids as an array, as the message list keeps them (8 bytes an id).
    for key in SortKey:
        for descending in (True, False):
            listed = store.message_ids(inbox, key, descending)
            assert store.message_id_array([inbox], key, descending).tolist() == listed
            assert store.message_id_array([inbox], key, descending, limit=2).tolist() == listed[:2]
    assert store.message_id_array([]).tolist() == []


def test_message_ids_of_several_folders_interleave_by_date(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["INBOX"], [msg(1, date=100), msg(2, date=300)])
    store.add_messages(ids["Archive"], [msg(1, date=200)])
    merged = store.summaries(store.message_ids([ids["INBOX"], ids["Archive"]]))
    assert [(s.folder_id, s.uid) for s in merged] == [
        (ids["INBOX"], 2),
        (ids["Archive"], 1),
        (ids["INBOX"], 1),
    ]


def test_quick_filter_matches_every_word_in_sender_or_subject_ignoring_case(
    store: MailStore,
) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [
            msg(1, "Quarterly report", "Zoë Ñandú <zoe@example.es>"),
            msg(2, "Lunch", "Bob <bob@example.org>"),
            msg(3, "REPORT draft", "Bob <bob@example.org>"),
        ],
    )

    def uids(text: str) -> set[int]:
        return {s.uid for s in store.summaries(store.message_ids(inbox, quick_filter=text))}

    assert uids("report") == {1, 3}
    assert uids("ZOË") == {1}
    assert uids("bob report") == {3}
    assert uids("nothing") == set()
    assert uids("  ") == {1, 2, 3}


def test_summaries_keep_the_requested_order_and_decode_fields(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [
            msg(
                7,
                "Grüße",
                "Jörg <j@example.de>",
                date=1_700_000_000,
                flags={SEEN, FLAGGED},
                size=1234,
                recipients="a@x",
                cc="b@x",
                message_id="<m7@x>",
                in_reply_to="<m6@x>",
                references="<m5@x> <m6@x>",
                has_attachments=True,
            ),
            msg(8),
        ],
    )
    ids = store.message_ids(inbox)
    assert [s.uid for s in store.summaries(list(reversed(ids)))] == [7, 8]
    s = store.summary(ids[1])
    assert s is not None
    assert (s.account, s.folder_id, s.uid) == ("work", inbox, 7)
    assert s.flags == {SEEN, FLAGGED} and s.seen and s.flagged and not s.answered
    assert s.date == datetime.fromtimestamp(1_700_000_000, UTC)
    assert (s.sender, s.subject, s.to, s.cc) == ("Jörg <j@example.de>", "Grüße", "a@x", "b@x")
    assert (s.message_id, s.in_reply_to, s.references) == ("<m7@x>", "<m6@x>", "<m5@x> <m6@x>")
    assert s.size == 1234 and s.has_attachments
    assert store.summaries([999_999]) == []


def test_date_falls_back_to_the_internal_date(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [NewMessage(uid=1, flags=frozenset(), internal_date=1000)])
    s = store.summaries(store.message_ids(inbox))[0]
    assert s.date == datetime.fromtimestamp(1000, UTC)


def test_a_date_no_time_zone_can_show_is_no_date(store: MailStore) -> None:
    # "Fri, 31 Dec 9999 23:59:59 -1400" is the year 10000 in UTC; 23:59 UTC on the same
    # day is 10000 east of Greenwich. Every view shows dates in local time.
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, date=253_402_351_199), msg(2, date=253_402_300_700)])
    for summary in store.summaries(store.message_ids(inbox)):
        for hours in (-12, 14):
            assert summary.date is None or summary.date.astimezone(timezone(timedelta(hours=hours)))


def test_a_refused_flag_change_is_taken_back_as_far_as_it_went(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, flags={FLAGGED}), msg(2, flags={SEEN})])
    ids = store.message_ids(inbox)
    [change] = store.record_change(ChangeKind.FLAGS, ids, add={SEEN}, remove={FLAGGED})
    assert {s.flags for s in store.summaries(ids)} == {frozenset({SEEN})}
    store.record_change(ChangeKind.FLAGS, ids, add={"$Work"})
    store.revert_pending(change.id)
    # The later change stays; \Seen goes only where this change had added it.
    assert {s.uid: s.flags for s in store.summaries(ids)} == {
        1: {FLAGGED, "$Work"},
        2: {SEEN, "$Work"},
    }
    assert [c.add for c in store.pending_changes("work")] == [{"$Work"}]


def test_hidden_messages_leave_lists_but_keep_locations(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1), msg(2)])
    first = store.message_ids(inbox)[-1]
    store.record_change(ChangeKind.EXPUNGE, [first])
    assert first not in store.message_ids(inbox)
    assert store.sync_state(inbox).count == 2  # still on the server until the move is done
    assert [(loc.folder_id, loc.uid) for loc in store.locations([first])] == [(inbox, 1)]


def test_move_keeps_row_id_and_body_or_yields_to_a_synced_copy(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["INBOX"], [msg(1), msg(2), msg(3)])
    first, second, third = sorted(store.message_ids(ids["INBOX"]))
    store.save_body(first, b"Subject: one\r\n\r\nbody")
    store.add_messages(ids["Archive"], [msg(11)])
    [move] = store.record_change(
        ChangeKind.MOVE, [first, second, third], target_folder_id=ids["Archive"]
    )
    assert store.message_ids(ids["INBOX"]) == []
    # No new UID known for the third: the Archive's next sync fetches it.
    store.finish_pending(move.id, {first: 10, second: 11})
    moved = store.summaries(store.message_ids(ids["Archive"]))
    assert sorted((s.id == first, s.uid) for s in moved) == [(False, 11), (True, 10)]
    assert store.body(first) == b"Subject: one\r\n\r\nbody"
    assert store.locations([third]) == []
    assert store.pending_changes() == []
    assert (store.folder(ids["INBOX"]).total, store.folder(ids["Archive"]).total) == (0, 2)


def test_bodies_are_kept_and_correct_the_attachment_guess(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1)])
    [id_] = store.message_ids(inbox)
    assert store.body(id_) is None
    store.save_body(id_, b"raw bytes", has_attachments=True)
    assert store.body(id_) == b"raw bytes"
    assert store.summary(id_).has_attachments


def test_a_wanted_structure_is_wanted_until_it_or_the_whole_message_came(
    store: MailStore,
) -> None:
    inbox, archive = folders(store)["INBOX"], folders(store)["Archive"]
    guessed = [msg(uid, has_attachments=True, structure_wanted=True) for uid in (1, 2, 3, 4)]
    store.add_messages(inbox, [*guessed, msg(5)])
    store.add_messages(archive, [msg(1, has_attachments=True, structure_wanted=True)])
    assert store.structures_wanted(inbox) == [4, 3, 2, 1]
    # 1: no attachment after all; 2: one indeed; 3: asked for, none came (the guess stays).
    store.set_attachments(inbox, {1: False, 2: True, 3: None})
    assert store.structures_wanted(inbox) == [4]
    # 4: the whole message was read meanwhile.
    [id4] = store.ids_of_uids(inbox, [4])
    store.save_body(id4, b"raw bytes", has_attachments=False)
    assert not store.wants_structures(inbox) and store.wants_structures(archive)
    shown = {s.uid: s.has_attachments for s in store.summaries(store.message_ids(inbox))}
    assert shown == {1: False, 2: True, 3: True, 4: False, 5: False}


def test_a_store_from_before_wanted_structures_wants_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:15])
        with MailStore.open(path) as old:
            inbox = folders(old)["INBOX"]
            add_old_messages(old, inbox, [msg(1, has_attachments=True), msg(2)])
    with MailStore.open(path) as upgraded:
        assert not upgraded.wants_structures(inbox)
        upgraded.add_messages(inbox, [msg(3, has_attachments=True, structure_wanted=True)])
        assert upgraded.structures_wanted(inbox) == [3]


def test_change_counter_names_the_folders_that_changed(store: MailStore) -> None:
    ids = folders(store)
    seq = store.change_seq()
    assert store.changes_since(seq).folder_ids == frozenset()
    store.add_messages(ids["INBOX"], [msg(1)])
    changes = store.changes_since(seq)
    assert changes.folder_ids == {ids["INBOX"]} and not changes.folder_list_changed
    assert changes.seq == store.change_seq() > seq
    store.rename_folder(ids["Projects"], "Work")
    changes = store.changes_since(changes.seq)
    assert changes.folder_list_changed
    assert {f.name for f in store.folders("work")} >= {"Work", "Work/Zoë"}
    unchanged = store.change_seq()
    store.record_change(ChangeKind.FLAGS, store.message_ids(ids["INBOX"]), add={SEEN})
    store.record_change(ChangeKind.FLAGS, store.message_ids(ids["INBOX"]), add={SEEN})
    assert store.change_seq() == unchanged + 1


def test_a_second_connection_sees_committed_changes(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    reader = MailStore.open(store.path)
    seq = reader.change_seq()
    store.add_messages(inbox, [msg(1)])
    assert reader.changes_since(seq).folder_ids == {inbox}
    assert len(reader.message_ids(inbox)) == 1
    reader.close()


def test_sync_state_reset_and_apply_changes(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    state = store.sync_state(inbox)
    assert (state.uidvalidity, state.uidnext, state.highestmodseq, state.count) == (
        None,
        None,
        None,
        0,
    )
    store.reset_folder(inbox, uidvalidity=5, highestmodseq=40)
    store.add_messages(inbox, [msg(1), msg(2), msg(3)])
    flags = {1: frozenset({SEEN}), 3: frozenset[str](), 9: frozenset({SEEN})}
    applied = store.apply_changes(inbox, flags, vanished=[(2, 2), (8, 9)])
    assert (applied.changed, applied.removed) == (1, 1)
    assert store.stored_uids(inbox) == [1, 3]
    assert store.stored_flags(inbox) == {1: SEEN, 3: ""}
    assert store.sync_state(inbox).uidnext is None
    store.apply_changes(inbox, uidnext=4, highestmodseq=44)
    state = store.sync_state(inbox)
    assert (state.uidvalidity, state.uidnext, state.highestmodseq, state.count) == (5, 4, 44, 2)
    store.reset_folder(inbox, uidvalidity=6)
    assert store.stored_uids(inbox) == [] and store.folder(inbox).total == 0


def test_a_reset_to_the_uidvalidity_the_folder_has_keeps_its_messages(store: MailStore) -> None:
    """Two syncs both found the folder never synced; the second to reset it would throw
    away what the first stored since."""
    inbox = folders(store)["INBOX"]
    assert store.reset_folder(inbox, uidvalidity=5, highestmodseq=40)
    store.add_messages(inbox, [msg(1), msg(2)])
    assert not store.reset_folder(inbox, uidvalidity=5, highestmodseq=41)
    assert store.stored_uids(inbox) == [1, 2]
    assert store.sync_state(inbox).highestmodseq == 40
    assert store.reset_folder(inbox, uidvalidity=6)
    assert store.stored_uids(inbox) == []


def test_refetched_headers_update_the_row_in_place(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, "old")])
    [id_] = store.message_ids(inbox)
    store.add_messages(inbox, [msg(1, "new", flags={SEEN})])
    assert store.message_ids(inbox) == [id_]
    assert store.summary(id_).subject == "new"
    assert store.folder(inbox).unread == 0


def test_accounts_are_separate_and_can_be_forgotten(store: MailStore) -> None:
    work = folders(store, "work")
    home = folders(store, "home")
    store.add_messages(work["INBOX"], [msg(1)])
    store.add_messages(home["INBOX"], [msg(1)])
    assert store.accounts() == ["home", "work"]
    store.forget_account("work")
    assert store.accounts() == ["home"]
    assert [s.account for s in store.summaries(store.message_ids(home["INBOX"]))] == ["home"]


def test_folder_add_hide_and_delete(store: MailStore) -> None:
    folders(store)
    created = store.add_folder("work", "Receipts", "/")
    assert "Receipts" in {f.name for f in store.folders("work")}
    store.set_folder_hidden(created.id, True)
    assert "Receipts" not in {f.name for f in store.folders("work")}
    store.set_folder_hidden(created.id, False)
    store.delete_folder(created.id)
    assert store.folder(created.id) is None


def test_unfetched_uids_are_kept_per_folder_until_replaced_or_reset(store: MailStore) -> None:
    ids = folders(store)
    inbox, archive = ids["INBOX"], ids["Archive"]
    store.set_unfetched(inbox, [9, 4, 4])
    store.set_unfetched(archive, [1])
    assert store.unfetched_uids(inbox) == [4, 9]
    store.set_unfetched(inbox, [9])
    assert store.unfetched_uids(inbox) == [9]
    store.reset_folder(inbox, uidvalidity=7)
    assert store.unfetched_uids(inbox) == []
    assert store.unfetched_uids(archive) == [1]
    store.forget_account("work")
    assert store.unfetched_uids(archive) == []


def _indexes(store: MailStore) -> set[str]:
    with closing(sqlite3.connect(store.path)) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {name for (name,) in rows}


SORT_INDEXES = {"messages_by_sender", "messages_by_subject"}


def test_a_big_first_fill_builds_the_sort_indexes_after_it(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 10)
    inbox = folders(store)["INBOX"]
    assert not store.defer_sort_indexes(9)  # too small to be worth it
    assert _indexes(store) >= SORT_INDEXES
    assert store.defer_sort_indexes(30)
    assert not SORT_INDEXES & _indexes(store)
    # Without them, sorting is slower but answers the same.
    store.add_messages(inbox, [msg(u, sender=f"{chr(90 - u)} <x@y>") for u in range(1, 31)])
    by_sender = store.message_ids([inbox], SortKey.SENDER)
    store.restore_sort_indexes()
    assert _indexes(store) >= SORT_INDEXES
    assert store.message_ids([inbox], SortKey.SENDER) == by_sender
    assert len(by_sender) == 30
    store.restore_sort_indexes()  # nothing missing: nothing to do


def test_a_fill_smaller_than_the_store_keeps_the_sort_indexes(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 10)
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(u) for u in range(1, 41)])
    assert not store.defer_sort_indexes(30)
    assert _indexes(store) >= SORT_INDEXES


@pytest.mark.parametrize("schema_change", ["drop", "build"])
def test_a_write_follows_sort_indexes_another_connection_dropped_or_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema_change: str
) -> None:
    """Another connection (another sync's, in this process or another) drops or builds the
    sort indexes after this one last read the store; the first write that follows, whatever
    statement comes first in it, goes through."""
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 10)
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        folders(store)
        with MailStore.open(store.path) as other:
            other.add_messages(store.folders("work")[0].id, [msg(u) for u in range(1, 6)])
            if schema_change == "build":
                assert other.defer_sort_indexes(100)
            inbox = store.folders("work")[0]  # what this connection knew last
            assert inbox.total == 5
            if schema_change == "drop":
                assert other.defer_sort_indexes(100)
            else:
                other.restore_sort_indexes()
        # An expunge seen on the server: the write's first statement deletes messages.
        store.apply_changes(inbox.id, vanished=[(1, 2)])
        assert store.folders("work")[0].total == 3


def test_sort_indexes_dropped_before_a_crash_are_built_again(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 10)
    assert store.defer_sort_indexes(100)
    store.close()  # the process died before restore_sort_indexes()
    with MailStore.open(store.path) as reopened:
        reopened.restore_sort_indexes()
        assert _indexes(reopened) >= SORT_INDEXES
