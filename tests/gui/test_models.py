"""The folder tree and the lazy message list, over a store filled directly."""

from __future__ import annotations

import random
import threading
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from mailclient.accounts.model import Account
from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.ui.mailbox import message_model
from mailclient.ui.mailbox.folder_model import (
    FolderRole,
    FolderTreeModel,
    NodeKind,
    encode_message_ids,
)
from mailclient.ui.mailbox.message_model import (
    MAX_PAGES,
    PAGE_SIZE,
    Column,
    MessageListModel,
    MessageRole,
    _diff,
)

WORK = Account(name="work", email="alice@example.org", imap_host="h", smtp_host="h")
HOME = Account(name="home", email="alice@home.example", imap_host="h", smtp_host="h")


def _message(uid: int, **kw: object) -> NewMessage:
    flags = kw.pop("flags", frozenset({SEEN}))
    return NewMessage(
        uid=uid,
        flags=frozenset(flags),  # type: ignore[arg-type]
        size=1000 + uid,
        date=1_700_000_000 + uid * 60,
        internal_date=1_700_000_000 + uid * 60,
        sender=str(kw.pop("sender", f"Sender {uid} <s{uid}@example.org>")),
        subject=str(kw.pop("subject", f"message {uid}")),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore.open(tmp_path / "mail.sqlite3")
    s.sync_folder_list(
        "work",
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Trash", "/", SpecialUse.TRASH),
            RemoteFolder("Sent", "/", SpecialUse.SENT),
            RemoteFolder("Projects", "/", selectable=False),
            RemoteFolder("Projects/Zoë", "/"),
            RemoteFolder("Lists/deep/er", "/"),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
        ],
    )
    s.sync_folder_list("home", [RemoteFolder("INBOX", ".", SpecialUse.INBOX)])
    yield s
    s.close()


def _folder_id(store: MailStore, account: str, name: str) -> int:
    folder = store.folder_by_name(account, name)
    assert folder is not None
    return folder.id


def _settle(qtbot: QtBot, model: MessageListModel, action: Callable[[], object]) -> None:
    """Do ``action`` and wait until the id list it asked for is shown (read off the GUI
    thread)."""
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        action()
    assert not model.is_loading()


def _titles(model: FolderTreeModel, parent: QModelIndex | None = None) -> list[str]:
    parent = parent if parent is not None else QModelIndex()
    return [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]


def test_folder_tree_layout(qtmodeltester: ModelTester, store: MailStore) -> None:
    model = FolderTreeModel(store, [WORK, HOME])
    qtmodeltester.check(model)
    assert _titles(model) == ["All inboxes", "work", "home"]
    work = model.index_of_account("work")
    assert _titles(model, work) == ["Inbox", "Sent", "Archive", "Trash", "Lists", "Projects"]
    projects = model.index(5, 0, work)
    assert _titles(model, projects) == ["Zoë"]
    assert not model.flags(projects) & Qt.ItemFlag.ItemIsSelectable
    lists = model.index(4, 0, work)
    assert _titles(model, lists) == ["deep"]  # a parent the server did not list
    assert model.index(0, 0, work).data(FolderRole.FOLDER_IDS) == [
        _folder_id(store, "work", "INBOX")
    ]
    all_inboxes = model.index_of_all_inboxes()
    assert all_inboxes.data(FolderRole.KIND) is NodeKind.ALL_INBOXES
    assert sorted(all_inboxes.data(FolderRole.FOLDER_IDS)) == sorted(
        [_folder_id(store, "work", "INBOX"), _folder_id(store, "home", "INBOX")]
    )


def test_special_folders_under_a_namespace_prefix_are_at_the_top(
    qtmodeltester: ModelTester, tmp_path: Path
) -> None:
    """A server with the personal namespace "INBOX." lists every folder below INBOX; the
    special ones still show beside it, in their usual order."""
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        store.sync_folder_list(
            "work",
            [
                RemoteFolder("INBOX", ".", SpecialUse.INBOX),
                RemoteFolder("INBOX.Trash", ".", SpecialUse.TRASH),
                RemoteFolder("INBOX.Drafts", ".", SpecialUse.DRAFTS),
                RemoteFolder("INBOX.Sent", ".", SpecialUse.SENT),
                RemoteFolder("INBOX.Projects", "."),
            ],
        )
        model = FolderTreeModel(store, [WORK])
        qtmodeltester.check(model)
        work = model.index_of_account("work")
        assert _titles(model, work) == ["Inbox", "Drafts", "Sent", "Trash"]
        assert _titles(model, model.index(0, 0, work)) == ["Projects"]


def test_unread_counts_follow_the_store(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    model = FolderTreeModel(store, [WORK, HOME])
    qtmodeltester.check(model)
    index = model.index_of_folder(inbox)
    assert index.data(FolderRole.UNREAD) == 0
    assert index.data(Qt.ItemDataRole.FontRole) is None
    store.add_messages(inbox, [_message(1, flags=()), _message(2, flags=())])
    with qtbot.waitSignal(model.dataChanged):
        model.reload()
    assert index.data(FolderRole.UNREAD) == 2
    assert isinstance(index.data(Qt.ItemDataRole.FontRole), QFont)
    assert "2 unread" in index.data(Qt.ItemDataRole.AccessibleTextRole)
    assert model.index_of_all_inboxes().data(FolderRole.UNREAD) == 2


def test_new_folder_resets_the_tree(qtmodeltester: ModelTester, store: MailStore) -> None:
    model = FolderTreeModel(store, [WORK])
    qtmodeltester.check(model)
    store.add_folder("work", "Receipts", "/")
    model.reload()
    assert "Receipts" in _titles(model, model.index_of_account("work"))


def test_drop_accepts_messages_on_folders_of_any_account(store: MailStore) -> None:
    model = FolderTreeModel(store, [WORK, HOME])
    trash = model.index_of_folder(_folder_id(store, "work", "Trash"))
    home_inbox = model.index_of_folder(_folder_id(store, "home", "INBOX"))
    data = encode_message_ids("work", [1, 2])
    move = Qt.DropAction.MoveAction
    assert model.canDropMimeData(data, move, -1, -1, trash)
    assert model.canDropMimeData(data, move, -1, -1, home_inbox)  # copied over by APPEND
    assert not model.canDropMimeData(data, move, -1, -1, model.index_of_account("work"))
    dropped: list[object] = []
    model.messages_dropped.connect(
        lambda ids, folder: dropped.append((ids, folder.account, folder.name))
    )
    model.dropMimeData(data, move, -1, -1, trash)
    model.dropMimeData(data, move, -1, -1, home_inbox)
    assert dropped == [([1, 2], "work", "Trash"), ([1, 2], "home", "INBOX")]


def test_message_list_is_lazy_and_sorted(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, 2001)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtmodeltester.check(model)
    assert model.rowCount() == 2000
    model._pages.clear()
    assert model.index(0, Column.SUBJECT).data() == "message 2000"  # newest first
    assert model.cached_pages() == 1
    assert model.index(1999, Column.SUBJECT).data() == "message 1"
    assert model.cached_pages() == 2
    _settle(qtbot, model, lambda: model.sort(Column.SIZE, Qt.SortOrder.AscendingOrder))
    assert model.index(0, Column.SIZE).data() == "1 kB"
    assert model.index(0, Column.SUBJECT).data() == "message 1"
    _settle(qtbot, model, lambda: model.sort(Column.SENDER, Qt.SortOrder.DescendingOrder))
    assert model.index(0, Column.SENDER).data() == "Sender 999"


def test_quick_filter(qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(
        inbox,
        [
            _message(1, sender="Zoë Ñandú <zoe@example.es>", subject="Quarterly report"),
            _message(2, sender="Bob <bob@example.org>", subject="Lunch?"),
            _message(3, sender="Carol <carol@example.org>", subject="Re: quarterly REPORT"),
        ],
    )
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtmodeltester.check(model)
    _settle(qtbot, model, lambda: model.set_quick_filter("report"))
    assert model.rowCount() == 2
    _settle(qtbot, model, lambda: model.set_quick_filter("zoë report"))
    assert model.rowCount() == 1
    assert model.index(0, Column.SENDER).data() == "Zoë Ñandú"
    _settle(qtbot, model, lambda: model.set_quick_filter(""))
    assert model.rowCount() == 3


def test_a_keystroke_filters_the_list_read_until_the_store_changes(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(1, subject="report 1"), _message(2, subject="memo")])
    model = MessageListModel(store)
    model.show_folders([inbox])
    sorted_reads: list[tuple[object, ...]] = []
    read = MailStore.message_id_array

    def counted(self: MailStore, *args: object, **kw: object) -> array[int]:
        sorted_reads.append(args)
        return read(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(MailStore, "message_id_array", counted)
    # The list shown is filtered, and shown again when the filter is cleared: no new read.
    for text in ("rep", "report", "", "memo"):
        _settle(qtbot, model, lambda text=text: model.set_quick_filter(text))
    assert sorted_reads == []
    assert [model.index(0, Column.SUBJECT).data()] == ["memo"]
    # After a change the list is read again, and the next keystroke filters the new one.
    store.add_messages(inbox, [_message(3, subject="report 3")])
    _settle(qtbot, model, lambda: model.refresh([inbox]))
    _settle(qtbot, model, lambda: model.set_quick_filter("report"))
    assert len(sorted_reads) == 1
    assert [model.index(r, Column.SUBJECT).data() for r in range(2)] == ["report 3", "report 1"]
    _settle(qtbot, model, lambda: model.sort(Column.SUBJECT, Qt.SortOrder.AscendingOrder))
    assert [model.index(r, Column.SUBJECT).data() for r in range(2)] == ["report 1", "report 3"]
    _settle(qtbot, model, lambda: model.set_quick_filter(""))
    assert model.rowCount() == 3 and len(sorted_reads) == 2


def test_markers_and_roles(store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(
        inbox,
        [
            _message(1, flags={FLAGGED}, has_attachments=True),
            _message(2, flags={SEEN}),
        ],
    )
    model = MessageListModel(store)
    model.show_folders([inbox])
    unread_flagged, read = model.index(1, 0), model.index(0, 0)
    assert unread_flagged.data(MessageRole.SUMMARY).uid == 1
    assert model.index(1, Column.FLAG).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.index(1, Column.ATTACHMENT).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.index(0, Column.FLAG).data(Qt.ItemDataRole.DecorationRole) is None
    assert isinstance(model.index(1, Column.SUBJECT).data(Qt.ItemDataRole.FontRole), QFont)
    assert model.index(0, Column.SUBJECT).data(Qt.ItemDataRole.FontRole) is None
    assert read.data(MessageRole.ID) == model.message_id(0)
    assert (
        model.index(1, Column.SUBJECT).data(Qt.ItemDataRole.AccessibleTextRole).startswith("unread")
    )


def test_the_first_screenful_comes_at_once_and_the_rest_below_it(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, 1001)])
    model = MessageListModel(store)
    qtmodeltester.check(model)
    events: list[str] = []
    model.modelReset.connect(lambda *a: events.append("reset"))
    model.rowsInserted.connect(
        lambda _parent, first, last: events.append(f"inserted {first}-{last}")
    )
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.show_folders([inbox], first_rows=50)
        assert model.rowCount() == 50 and model.is_loading()
        assert model.index(0, Column.SUBJECT).data() == "message 1000"
        first = QPersistentModelIndex(model.index(3, Column.SUBJECT))
    assert not model.is_loading()
    assert events == ["reset", "inserted 50-999"]  # the rows shown stay where they are
    assert [model.message_id(r) for r in range(1000)] == store.message_ids(inbox)
    assert first.isValid() and first.row() == 3
    # A folder no longer than the first screenful is read once.
    events.clear()
    model.show_folders([_folder_id(store, "work", "Trash")], first_rows=50)
    assert model.rowCount() == 0 and not model.is_loading()


def test_a_folder_chosen_again_lists_mail_stored_since_it_was_last_shown(
    qtbot: QtBot, store: MailStore
) -> None:
    inbox, trash = _folder_id(store, "work", "INBOX"), _folder_id(store, "work", "Trash")
    store.add_messages(inbox, [_message(1)])
    model = MessageListModel(store)
    _settle(qtbot, model, lambda: model.show_folders([inbox], first_rows=1))
    model.show_folders([trash], first_rows=50)
    # Stored before the store watcher told the list: the inbox chosen again shows it.
    store.add_messages(inbox, [_message(2)])
    model.show_folders([inbox], first_rows=50)
    assert [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())] == [
        "message 2",
        "message 1",
    ]


def test_refresh_inserts_removes_and_keeps_the_selection(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, 11)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtmodeltester.check(model)
    tracked = QPersistentModelIndex(model.index(model.row_of(store.message_ids(inbox)[4]) or 0, 2))
    tracked_id = tracked.data(MessageRole.ID)
    doomed = [model.message_id(1), model.message_id(7)]
    store.remove_messages([i for i in doomed if i is not None])
    store.add_messages(inbox, [_message(20), _message(21)])
    events: list[str] = []
    model.rowsRemoved.connect(lambda *a: events.append("removed"))
    model.rowsInserted.connect(lambda *a: events.append("inserted"))
    model.modelReset.connect(lambda *a: events.append("reset"))
    _settle(qtbot, model, lambda: model.refresh([inbox]))
    assert "reset" not in events
    assert events.count("removed") == 2 and events.count("inserted") == 1
    assert model.rowCount() == 10
    assert model.index(0, Column.SUBJECT).data() == "message 21"
    assert tracked.isValid() and tracked.data(MessageRole.ID) == tracked_id
    assert [model.message_id(r) for r in range(10)] == store.message_ids(inbox)


def test_refresh_follows_a_new_order(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid, flags=()) for uid in range(1, 6)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    _settle(qtbot, model, lambda: model.sort(Column.SUBJECT, Qt.SortOrder.AscendingOrder))
    qtmodeltester.check(model)
    first = QPersistentModelIndex(model.index(0, 0))
    first_id = first.data(MessageRole.ID)
    # A resync rewrote one subject: the order changes without rows coming or going.
    store.add_messages(inbox, [_message(1, subject="zzz last now", flags=())])
    _settle(qtbot, model, lambda: model.refresh([inbox]))
    assert model.index(4, Column.SUBJECT).data() == "zzz last now"
    assert first.data(MessageRole.ID) == first_id
    assert [model.message_id(r) for r in range(5)] == store.message_ids(
        inbox, model.sort_key, model.descending
    )


def test_refresh_ignores_other_folders(qtbot: QtBot, store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    trash = _folder_id(store, "work", "Trash")
    model = MessageListModel(store)
    model.show_folders([inbox])
    store.add_messages(inbox, [_message(1)])
    model.refresh([trash])
    assert not model.is_loading()
    assert model.rowCount() == 0
    _settle(qtbot, model, lambda: model.refresh([trash, inbox]))
    assert model.rowCount() == 1


def test_store_changes_are_read_off_the_gui_thread(
    qtmodeltester: ModelTester,
    qtbot: QtBot,
    store: MailStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, 2001)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtmodeltester.check(model)
    readers: list[int] = []
    original = MailStore.message_id_array

    def recorded(self: MailStore, *args: object, **kwargs: object) -> array[int]:
        readers.append(threading.get_ident())
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MailStore, "message_id_array", recorded)
    assert model.index(0, Column.SUBJECT).data() == "message 2000"  # the first page is read
    store.add_messages(inbox, [_message(2001)])
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, *_: changed.append((first.row(), last.row())))

    model.refresh([inbox])
    # Until the new list arrives the rows shown stay as they were.
    assert model.is_loading() and model.rowCount() == 2000
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        pass
    assert model.rowCount() == 2001
    assert model.index(0, Column.SUBJECT).data() == "message 2001"
    assert readers and threading.get_ident() not in readers
    # Only the page a view could be showing is re-read, not all 2,001 rows.
    assert changed == [(0, PAGE_SIZE - 1)]


def test_only_the_newest_filter_is_applied(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(
        inbox,
        [_message(uid, subject=f"report {uid}" if uid % 2 else "memo") for uid in range(1, 9)],
    )
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtmodeltester.check(model)
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(model.rowCount()))
    # Typing "rep", "repo", "report 7" quickly: each keystroke asks, the last one counts.
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        for text in ("rep", "repo", "report 7"):
            model.set_quick_filter(text)
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=10_000)
    assert resets[-1] == 1 and model.rowCount() == 1
    assert len(resets) <= 2  # the first query may land; stale ones are dropped
    assert model.index(0, Column.SUBJECT).data() == "report 7"
    # Choosing folders with a filter reads off the GUI thread too (a full-text look-up)
    # and drops what was on its way: the rows shown stay until the new list comes.
    model.set_quick_filter("memo")
    model.show_folders([inbox])
    assert model.rowCount() == 1 and model.is_loading()
    qtbot.waitUntil(lambda: not model.is_loading(), timeout=10_000)
    assert model.rowCount() == 4 and resets[-1] == 4


def test_page_cache_is_bounded(store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, PAGE_SIZE * 70 + 1)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    for row in range(0, model.rowCount(), PAGE_SIZE):
        assert model.index(row, Column.SUBJECT).data()
    assert model.cached_pages() <= MAX_PAGES < 70


def test_only_the_rows_asked_for_get_their_texts(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, PAGE_SIZE + 1)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    dated: list[object] = []
    format_date = message_model.format_date
    monkeypatch.setattr(
        message_model, "format_date", lambda *a: dated.append(a[0]) or format_date(*a)
    )
    # A screen shows a few rows of a page: the page's summaries are read, and the texts
    # made only for the rows shown, once each.
    for _ in range(2):
        for row in (0, 1, 2):
            assert model.index(row, Column.DATE).data()
    assert len(dated) == 3 and model.cached_pages() == 1
    assert model.summary(PAGE_SIZE - 1) is not None and len(dated) == 3


def test_drag_carries_ids_of_one_account(store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(1), _message(2)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    data = model.mimeData([model.index(0, 0), model.index(1, 2)])
    from mailclient.ui.mailbox.folder_model import decode_message_ids

    assert decode_message_ids(data) == ("work", [model.message_id(0), model.message_id(1)])


def test_threaded_mode(qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(
        inbox,
        [
            _message(1, message_id="<a@x>", subject="Plan"),
            _message(2, message_id="<b@x>", in_reply_to="<a@x>", subject="Re: Plan"),
            _message(3, subject="Alone", flags=frozenset()),
            _message(4, message_id="<c@x>", in_reply_to="<b@x>", subject="Re: Plan", flags=()),
        ],
    )
    model = MessageListModel(store)
    model.show_folders([inbox])
    _settle(qtbot, model, lambda: model.set_threaded(True))
    qtmodeltester.check(model)
    texts = [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]
    assert texts == ["▾ Plan", "    Re: Plan", "        Re: Plan", "Alone"]
    thread = model.thread_of(0)
    assert thread is not None and model.thread_of(3) != thread
    model.set_collapsed({thread}, True)
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert model.index(0, Column.SUBJECT).data() == "▸ Plan  (3 messages, 1 unread)"
    model.sort(Column.SENDER)  # conversations keep their order
    assert model.rowCount() == 2
    # A new reply arrives: it joins its thread, which stays collapsed.
    store.add_messages(inbox, [_message(9, message_id="<d@x>", in_reply_to="<c@x>", flags=())])
    _settle(qtbot, model, lambda: model.refresh([inbox]))
    assert model.index(0, Column.SUBJECT).data() == "▸ Plan  (4 messages, 2 unread)"
    _settle(qtbot, model, lambda: model.set_quick_filter("alone"))
    assert [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())] == ["Alone"]
    _settle(qtbot, model, lambda: model.set_threaded(False))
    assert model.rowCount() == 1


def test_threaded_marks_follow_replies_arriving_in_an_open_thread(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(
        inbox,
        [
            _message(1, message_id="<a@x>", subject="Plan"),
            _message(2, subject="Alone"),
            _message(3, message_id="<b@x>", in_reply_to="<a@x>", subject="Re: Plan"),
        ],
    )
    model = MessageListModel(store)
    model.show_folders([inbox])
    _settle(qtbot, model, lambda: model.set_threaded(True))
    texts = [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]
    assert texts == ["▾ Plan", "    Re: Plan", "Alone"]
    # Replies in the middle of the list, and a message alone: rows inserted, marks moved.
    store.add_messages(
        inbox,
        [
            _message(4, message_id="<c@x>", in_reply_to="<a@x>", subject="Re: Plan"),
            _message(5, message_id="<d@x>", in_reply_to="<c@x>", subject="Re: Re: Plan"),
            _message(6, subject="Later"),
        ],
    )
    _settle(qtbot, model, lambda: model.refresh([inbox]))
    qtmodeltester.check(model)
    texts = [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]
    assert texts == [
        "Later",
        "▾ Plan",
        "    Re: Plan",
        "    Re: Plan",
        "        Re: Re: Plan",
        "Alone",
    ]
    ids = [model.message_id(r) for r in range(model.rowCount())]
    assert [model.starts_conversation(i) for i in ids if i is not None] == [
        False,
        True,
        False,
        False,
        False,
        False,
    ]
    assert model.thread_of(1) == model.thread_of(4) != model.thread_of(5)


def _applied(old: list[int], new: list[int]) -> list[int]:
    """What a view sees: ``old`` after the removals, the new order and the insertions
    (the rows kept in an array, as the model keeps them)."""
    diff = _diff(array("q", old), array("q", new))
    rows = array("q", old)
    for first, last in reversed(diff.removed):
        del rows[first : last + 1]
    if diff.ordered is not None:
        assert diff.position == {id_: row for row, id_ in enumerate(diff.ordered)}
        assert sorted(diff.ordered) == sorted(rows)
        rows = array("q", diff.ordered)
    for first, last in diff.inserted:
        rows[first:first] = array("q", new[first : last + 1])
    return rows.tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 60), unique=True),
    st.lists(st.integers(0, 90), unique=True),
    st.randoms(use_true_random=False),
)
def test_a_store_change_is_diffed_into_steps_that_give_the_new_list(
    old: list[int], extra: list[int], rng: random.Random
) -> None:
    # The new list: some old ids kept (mostly in their order), some new ones among them.
    new = [i for i in old if rng.random() < 0.8]
    if new and rng.random() < 0.3:
        a, b = rng.randrange(len(new)), rng.randrange(len(new))
        new[a], new[b] = new[b], new[a]
    for id_ in extra:
        if id_ not in old and id_ not in new:
            new.insert(rng.randrange(len(new) + 1), id_)
    assert _applied(old, new) == new


def test_folders_drag_onto_folders_of_their_account(store: MailStore) -> None:
    model = FolderTreeModel(store, [WORK, HOME])
    projects = store.folder_by_name("work", "Projects/Zoë")
    inbox = store.folder_by_name("work", "INBOX")
    assert projects is not None and inbox is not None
    moving = model.index_of_folder(projects.id)
    assert model.flags(moving) & Qt.ItemFlag.ItemIsDragEnabled
    assert not model.flags(model.index_of_folder(inbox.id)) & Qt.ItemFlag.ItemIsDragEnabled
    data = model.mimeData([moving])
    move = Qt.DropAction.MoveAction
    trash = model.index_of_folder(_folder_id(store, "work", "Trash"))
    home_inbox = model.index_of_folder(_folder_id(store, "home", "INBOX"))
    assert model.canDropMimeData(data, move, -1, -1, trash)
    assert model.canDropMimeData(data, move, -1, -1, model.index_of_account("work"))
    assert not model.canDropMimeData(data, move, -1, -1, home_inbox)  # another server
    assert not model.canDropMimeData(data, move, -1, -1, moving)
    dropped: list[tuple[int, str]] = []
    model.folder_dropped.connect(lambda folder, name: dropped.append((folder.id, name)))
    model.dropMimeData(data, move, -1, -1, trash)
    model.dropMimeData(data, move, -1, -1, model.index_of_account("work"))
    assert dropped == [(projects.id, "Trash/Zoë"), (projects.id, "Zoë")]


def test_an_id_is_found_among_the_raw_bytes_only_where_an_id_begins() -> None:
    needle = array("q", [1]).tobytes()
    ids = array("q")
    # The needle's bytes across the first two ids (from byte 1), then as the third id.
    ids.frombytes(b"\x00" + needle + b"\x00" * 7 + needle)
    assert ids[2] == 1 and 1 not in ids[:2]
    assert message_model.find_id(ids, 1) == 2
    assert message_model.find_id(ids, 5) is None
    assert message_model.find_id(array("q"), 1) is None
    assert message_model.find_id(array("q", [7, 8, 9]), 9) == 2


@given(st.lists(st.integers(1, 2**62), unique=True, max_size=60), st.integers(1, 2**62))
@settings(max_examples=60, deadline=None)
def test_an_id_searched_for_is_where_the_list_has_it(ids: list[int], other: int) -> None:
    shown = array("q", ids)
    for row, id_ in enumerate(ids):
        assert message_model.find_id(shown, id_) == row
    assert message_model.find_id(shown, other) == (ids.index(other) if other in ids else None)


def test_a_long_list_finds_rows_without_mapping_every_id(
    qtbot: QtBot, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A map of every id costs 0.4 s at a million rows: a long list searches instead."""
    monkeypatch.setattr(message_model, "MAPPED_ROWS", 20)
    inbox = _folder_id(store, "work", "INBOX")
    store.add_messages(inbox, [_message(uid) for uid in range(1, 101)])
    model = MessageListModel(store)
    model.show_folders([inbox])
    qtbot.waitUntil(lambda: model.rowCount() == 100 and not model.is_loading())
    ids = [model.message_id(row) for row in range(model.rowCount())]
    assert len(ids) == 100
    assert [model.row_of(id_) for id_ in ids] == list(range(100))
    assert model.row_of(10**9) is None
    assert sorted(model.rows_of([ids[3], ids[97], 10**9])) == [3, 97]
    assert sorted(model.rows_of(ids[::7] + [10**9] * 3)) == list(range(0, 100, 7))
    assert model._rows is None
