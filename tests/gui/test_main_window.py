"""The main window over a store filled directly: layout, reading, keyboard, state kept.

The network side is a recording stand-in with the signals of MailWorkers; the tests with
real servers (test_window_server.py) cover what reaches Dovecot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, QSettings, Qt, QThread, Signal
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from mailclient.accounts.model import Account
from mailclient.accounts.preferences import Preferences
from mailclient.core.models import FLAGGED, SEEN, SpecialUse
from mailclient.store.mail import ChangeKind, MailStore, NewMessage, RemoteFolder
from mailclient.ui.mailbox import message_model
from mailclient.ui.mailbox.folder_model import FolderRole
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.window.mail_hub import OfflineMail
from mailclient.ui.window.main_window import MainWindow, window_settings
from mailclient.workers.commands import ChangeFolder
from mailclient.workers.events import BodyFetched, SyncFinished, SyncProgress, WorkFailed

WORK = Account(name="work", email="alice@example.org", imap_host="h", smtp_host="h")
HOME = Account(name="home", email="alice@home.example", imap_host="h", smtp_host="h")


class RecordingMail(QObject):
    """A MailHub that records what the window asks for."""

    progressed = Signal(object)
    synced = Signal(object)
    failed = Signal(object)
    body_fetched = Signal(object)
    body_failed = Signal(object)
    committed = Signal(int)
    flags_written = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def start(self) -> None:
        self.calls.append(("start",))

    def stop(self) -> None:
        self.calls.append(("stop",))

    def sync_all(self) -> None:
        self.calls.append(("sync_all",))

    def sync(self, account: str, folders: Sequence[str] | None = None) -> None:
        self.calls.append(("sync", account, folders))

    def fetch_body(self, summary: Any) -> None:
        self.calls.append(("fetch_body", summary.id))

    def set_flags(self, ids: list[int], add: frozenset[str], remove: frozenset[str]) -> None:
        self.calls.append(("set_flags", list(ids), set(add), set(remove)))

    def move(self, ids: list[int], target: int) -> None:
        self.calls.append(("move", list(ids), target))

    def delete(self, ids: list[int]) -> None:
        self.calls.append(("delete", list(ids)))

    def expunge(self, ids: list[int]) -> None:
        self.calls.append(("expunge", list(ids)))

    def change_folder(self, change: ChangeFolder) -> None:
        self.calls.append(("change_folder", change))

    def undo(self, change: Any) -> None:
        self.calls.append(("undo", change))

    def retry(self, failure: WorkFailed) -> None:
        self.calls.append(("retry", failure.command))


def plain_message(subject: str, body: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Bob Builder <bob@example.org>"
    message["To"] = "Alice <alice@example.org>"
    message["Cc"] = "carol@example.org"
    message["Subject"] = subject
    message["Date"] = "Fri, 07 Jun 2024 10:20:30 +0200"
    message.set_content(body)
    message.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf", filename="a.pdf")
    return message.as_bytes(policy=SMTP)


def _summary(uid: int, subject: str, sender: str = "Bob Builder <bob@example.org>", **kw: Any):
    flags = kw.pop("flags", frozenset({SEEN}))
    return NewMessage(
        uid=uid,
        flags=frozenset(flags),
        size=2000 + uid,
        date=1_717_000_000 + uid * 60,
        internal_date=1_717_000_000 + uid * 60,
        sender=sender,
        recipients="alice@example.org",
        subject=subject,
        **kw,
    )


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def store(profile: Path) -> Iterator[MailStore]:
    s = MailStore.open(profile / "mail.sqlite3")
    for account in ("work", "home"):
        s.sync_folder_list(
            account,
            [
                RemoteFolder("INBOX", "/", SpecialUse.INBOX),
                RemoteFolder("Sent", "/", SpecialUse.SENT),
                RemoteFolder("Trash", "/", SpecialUse.TRASH),
                RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
            ],
        )
    work_inbox = s.folder_by_name("work", "INBOX")
    home_inbox = s.folder_by_name("home", "INBOX")
    assert work_inbox is not None and home_inbox is not None
    s.add_messages(
        work_inbox.id,
        [
            _summary(1, "Lunch on Friday?", flags=frozenset(), has_attachments=True),
            _summary(2, "Quarterly report", sender="Zoë <zoe@example.es>"),
            _summary(3, "Not downloaded yet", flags=frozenset()),
            _summary(4, "Flagged one", flags=frozenset({SEEN, FLAGGED})),
        ],
    )
    s.add_messages(home_inbox.id, [_summary(1, "Garden party", sender="Dad <dad@home.example>")])
    lunch = s.message_ids(work_inbox.id, quick_filter="lunch")[0]
    s.save_body(
        lunch, plain_message("Lunch on Friday?", "Hi Alice,\n\n> quoted\nhttps://a.example\n")
    )
    yield s
    s.close()


@pytest.fixture
def settings(profile: Path) -> QSettings:
    return window_settings(profile)


@pytest.fixture
def mail() -> RecordingMail:
    return RecordingMail()


@pytest.fixture
def window(
    qtbot: QtBot, store: MailStore, mail: RecordingMail, settings: QSettings
) -> Iterator[MainWindow]:
    w = MainWindow([WORK, HOME], store, mail, settings)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _select_folder(window: MainWindow, account: str, name: str) -> None:
    folder = window._store.folder_by_name(account, name)
    assert folder is not None
    window.folder_view.setCurrentIndex(window.folder_model.index_of_folder(folder.id))


def _row(window: MainWindow, subject: str) -> int:
    for row in range(window.message_model.rowCount()):
        if window.message_model.index(row, Column.SUBJECT).data() == subject:
            return row
    raise AssertionError(f"{subject!r} is not listed")


def _message_windows() -> list[MessageWindow]:
    """The message windows open now (one closed by an earlier test may await deletion)."""
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, MessageWindow) and w.isVisible()
    ]


def _new_window(
    qtbot: QtBot, store: MailStore, mail: RecordingMail, settings: QSettings
) -> MainWindow:
    window = MainWindow([WORK, HOME], store, mail, settings)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    return window


def _open(qtbot: QtBot, window: MainWindow, subject: str) -> None:
    window.message_view.setFocus()
    window.message_view.setCurrentIndex(window.message_model.index(_row(window, subject), 2))


def test_no_accounts_offers_to_add_one(qtbot: QtBot, store: MailStore, settings: QSettings) -> None:
    window = MainWindow([], store, OfflineMail(), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.pages.currentWidget() is window.welcome
    assert "No accounts" in window.welcome.status_label.text()
    assert window.welcome.add_button.accessibleName() or window.welcome.add_button.text()
    with qtbot.waitSignal(window.add_account_requested):
        qtbot.mouseClick(window.welcome.add_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.add_account_requested):
        window.add_account_action.trigger()
    with qtbot.waitSignal(window.manage_accounts_requested):
        window.manage_accounts_action.trigger()
    assert not window.delete_action.isEnabled()


def test_cached_mail_shows_at_once(window: MainWindow, mail: RecordingMail) -> None:
    assert window.pages.currentWidget() is window.mail_page
    # All inboxes first, then both accounts with their folders.
    titles = [window.folder_model.index(r, 0).data() for r in range(3)]
    assert titles == ["All inboxes", "work", "home"]
    assert window.folder_view.currentIndex() == window.folder_model.index_of_all_inboxes()
    assert window.message_model.rowCount() == 5
    assert window.count_label.text() == "5 messages"
    assert mail.calls == []  # nothing asked of the network before start()
    window.start()
    assert mail.calls == [("start",)]


def test_widgets_have_accessible_names(window: MainWindow) -> None:
    for widget in (
        window.folder_view,
        window.message_view,
        window.filter_edit,
        window.reading_pane,
        window.reading_pane.text_view,
    ):
        assert widget.accessibleName(), widget.objectName()


def test_opening_a_plain_message(qtbot: QtBot, window: MainWindow, mail: RecordingMail) -> None:
    _open(qtbot, window, "Lunch on Friday?")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.shown_kind() == "text")
    assert pane.headers.subject.text() == "Lunch on Friday?"
    assert "bob@example.org" in pane.headers.text("From")
    assert "carol@example.org" in pane.headers.text("Cc")
    assert "Hi Alice," in pane.text_view.toPlainText()
    assert 'href="https://a.example"' in pane.text_view.toHtml()
    assert pane.attachments.isVisible()
    assert [a.filename for a in pane.attachments.attachments()] == ["a.pdf"]
    # Unread: marked read after the delay, through the workers.
    qtbot.waitUntil(lambda: any(c[0] == "set_flags" for c in mail.calls), timeout=5000)
    assert ("set_flags", [pane.message_id], {SEEN}, set()) in mail.calls


def test_message_without_body_is_fetched(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    _open(qtbot, window, "Not downloaded yet")
    message_id = window.message_view.currentIndex().data(MessageRole.ID)
    qtbot.waitUntil(lambda: ("fetch_body", message_id) in mail.calls)
    assert window.reading_pane.placeholder.text() == "Loading message…"
    assert window.reading_pane.headers.subject.text() == "Not downloaded yet"
    store.save_body(message_id, plain_message("Not downloaded yet", "Now it is here."))
    mail.body_fetched.emit(BodyFetched(message_id))
    qtbot.waitUntil(lambda: "Now it is here." in window.reading_pane.text_view.toPlainText())


def test_a_toggle_pressed_again_before_the_list_caught_up_takes_turns(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    """M, S and the tag keys decide from what was asked before, not from a list (or a
    store) that has not caught up with it yet; then from the store."""
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    message_id = view.currentIndex().data(MessageRole.ID)
    for key in (Qt.Key.Key_M, Qt.Key.Key_M, Qt.Key.Key_M, Qt.Key.Key_S, Qt.Key.Key_S):
        qtbot.keyClick(view, key)
    assert [c[2:] for c in mail.calls if c[0] == "set_flags"] == [
        (set(), {SEEN}),
        ({SEEN}, set()),
        (set(), {SEEN}),
        ({FLAGGED}, set()),
        (set(), {FLAGGED}),
    ]
    # The writes are done (the stand-in made none); the store has it unread, the list
    # has not read that yet.
    for _ in range(5):
        mail.flags_written.emit((message_id,))
    store.record_change(ChangeKind.FLAGS, [message_id], remove={SEEN})
    mail.calls.clear()
    qtbot.keyClick(view, Qt.Key.Key_M)
    assert [c[2:] for c in mail.calls if c[0] == "set_flags"] == [({SEEN}, set())]


def test_keyboard_actions(qtbot: QtBot, window: MainWindow, mail: RecordingMail) -> None:
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    message_id = view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(view, Qt.Key.Key_M)
    assert ("set_flags", [message_id], set(), {SEEN}) in mail.calls
    qtbot.keyClick(view, Qt.Key.Key_S)
    assert ("set_flags", [message_id], {FLAGGED}, set()) in mail.calls
    row = view.currentIndex().row()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert ("delete", [message_id]) in mail.calls
    # The cursor moved on to the next message before the deleted one goes away.
    assert view.currentIndex().row() == row + 1
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.currentIndex().row() == row
    qtbot.keyClick(view, Qt.Key.Key_F5)
    assert ("sync_all",) in mail.calls


def test_quick_filter(qtbot: QtBot, window: MainWindow) -> None:
    window.message_view.setFocus()
    shift_k = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.message_view, Qt.Key.Key_K, shift_k)
    assert window.filter_edit.hasFocus()
    qtbot.keyClicks(window.filter_edit, "ZO")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    assert window.message_model.index(0, Column.SUBJECT).data() == "Quarterly report"
    # Typing M or S in the filter types letters; it does not toggle anything.
    qtbot.keyClicks(window.filter_edit, "ms")
    assert window.filter_edit.text() == "ZOms"
    window.filter_edit.clear()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5)


def test_quick_filter_speaks_the_search_language(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    from mailclient.mime.search_text import indexed_text

    store.index_queued_bodies(indexed_text)  # the lunch message's body: "quoted", a.pdf

    def filtered(text: str) -> list[str]:
        window.filter_edit.setText(text)
        qtbot.waitUntil(lambda: window.message_model.quick_filter == text)
        qtbot.waitUntil(lambda: not window.message_model.is_loading())
        model = window.message_model
        return [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]

    assert filtered("from:bob is:unread") == ["Not downloaded yet", "Lunch on Friday?"]
    assert filtered("has:attachment") == ["Lunch on Friday?"]
    assert filtered("quoted") == ["Lunch on Friday?"]  # a word of the body
    assert filtered("filename:a.pdf") == ["Lunch on Friday?"]
    assert filtered("-from:bob") == ["Quarterly report", "Garden party"]
    assert filtered("is:flagged") == ["Flagged one"]
    # An unfinished phrase searches what is there so far.
    assert filtered('"quarterly rep') == ["Quarterly report"]
    assert filtered("nothing-like-this") == []
    assert window.reading_pane.placeholder.text() == "No message matches the filter."


def test_search_all_mail_and_back(qtbot: QtBot, window: MainWindow) -> None:
    window.message_view.setFocus()
    qtbot.keyClick(window.message_view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert window.search_edit.hasFocus()
    header = window.message_view.header()
    # All inboxes are shown: their Account column, no Folder column yet.
    assert header.isSectionHidden(Column.FOLDER) and not header.isSectionHidden(Column.ACCOUNT)

    qtbot.keyClicks(window.search_edit, "garden OR lunch")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 0)
    window.search_edit.setText("from:bob")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 3)
    window.search_edit.setText("party")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    model = window.message_model
    assert model.index(0, Column.SUBJECT).data() == "Garden party"
    assert model.index(0, Column.FOLDER).data() == "INBOX"
    assert model.index(0, Column.ACCOUNT).data() == "home"
    assert not header.isSectionHidden(Column.FOLDER)
    assert not header.isSectionHidden(Column.ACCOUNT)
    assert not window.filter_edit.isEnabled()
    assert window.windowTitle().startswith("Search")

    # The usual keys act on results: Down shows one, Enter opens it in its own window.
    window.message_view.setFocus()
    qtbot.keyClick(window.message_view, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.reading_pane.headers.subject.text() == "Garden party")
    qtbot.keyClick(window.message_view, Qt.Key.Key_Return)
    opened = _message_windows()
    assert len(opened) == 1
    opened[0].close()

    window.activateWindow()
    window.search_edit.setFocus()
    window.search_edit.setText("nothing-like-this")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 0)
    assert "any folder" in window.reading_pane.placeholder.text()

    # Escape goes back to the folder shown before.
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5)
    assert window.search_edit.text() == ""
    assert header.isSectionHidden(Column.FOLDER) and window.filter_edit.isEnabled()
    assert not window.windowTitle().startswith("Search")
    assert window.message_view.hasFocus()


def test_search_results_stay_those_of_every_folder_when_the_store_changes(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    archive = store.folder_by_name("work", "Archive")
    inbox = store.folder_by_name("work", "INBOX")
    assert archive is not None and inbox is not None
    store.add_messages(archive.id, [_summary(7, "Lunch recap")])
    window.search_edit.setText("lunch")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 2)
    # New mail while the results are shown (or a result marked read, or a body kept): the
    # results stay those of every folder, not of the folder chosen before the search.
    store.add_messages(inbox.id, [_summary(9, "Lunch again", flags=frozenset())])
    window.watcher.poke()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 3)
    # A folder new on the server is searched too.
    store.sync_folder_list(
        "work",
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Sent", "/", SpecialUse.SENT),
            RemoteFolder("Trash", "/", SpecialUse.TRASH),
            RemoteFolder("Archive", "/", SpecialUse.ARCHIVE),
            RemoteFolder("Lunches", "/"),
        ],
    )
    lunches = store.folder_by_name("work", "Lunches")
    assert lunches is not None
    store.add_messages(lunches.id, [_summary(1, "Lunch menu")])
    window.watcher.poke()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 4)
    model = window.message_model
    assert sorted(model.index(r, Column.SUBJECT).data() for r in range(4)) == [
        "Lunch again",
        "Lunch menu",
        "Lunch on Friday?",
        "Lunch recap",
    ]


def test_a_search_is_read_off_the_gui_thread_and_keeps_the_chosen_message(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    gui = QThread.currentThread()
    looked_up_on_gui: list[bool] = []
    matching = MailStore.matching

    def recorded(store: MailStore, folder_ids: Sequence[int], quick_filter: str) -> set[int]:
        looked_up_on_gui.append(QThread.currentThread() is gui)
        return matching(store, folder_ids, quick_filter)

    monkeypatch.setattr(MailStore, "matching", recorded)
    window.search_edit.setText("from:bob")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 3)
    assert window.count_label.text() == "3 messages"
    window.message_view.setCurrentIndex(
        window.message_model.index(_row(window, "Lunch on Friday?"), 2)
    )
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    looked_up = len(looked_up_on_gui)
    window.search_edit.setText("from:bob -is:flagged")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 2)
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    assert len(looked_up_on_gui) == looked_up + 1  # one query for the new words, not two
    assert window.count_label.text() == "2 messages"
    assert window.message_view.currentIndex().data(MessageRole.SUMMARY).subject == (
        "Lunch on Friday?"
    )
    assert looked_up_on_gui and not any(looked_up_on_gui)


def test_space_pages_through_the_body(qtbot: QtBot, window: MainWindow, store: MailStore) -> None:
    folder = store.folder_by_name("work", "INBOX")
    assert folder is not None
    long_id = store.message_ids(folder.id, quick_filter="quarterly")[0]
    store.save_body(
        long_id, plain_message("Quarterly report", "\n".join(f"line {i}" for i in range(400)))
    )
    _open(qtbot, window, "Quarterly report")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: "line 399" in pane.text_view.toPlainText())
    bar = pane.text_view.verticalScrollBar()
    assert bar.value() == 0
    qtbot.keyClick(window.message_view, Qt.Key.Key_Space)
    assert bar.value() > 0


def test_enter_opens_the_message_in_its_own_window(qtbot: QtBot, window: MainWindow) -> None:
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.keyClick(window.message_view, Qt.Key.Key_Return)
    windows = _message_windows()
    assert len(windows) == 1
    qtbot.waitUntil(lambda: "Hi Alice," in windows[0].pane.text_view.toPlainText())
    windows[0].close()


def test_drop_on_a_folder_moves(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    _select_folder(window, "work", "INBOX")
    _open(qtbot, window, "Quarterly report")
    index = window.message_view.currentIndex()
    data = window.message_model.mimeData([index])
    archive = store.folder_by_name("work", "Archive")
    assert archive is not None
    target = window.folder_model.index_of_folder(archive.id)
    window.folder_model.dropMimeData(data, Qt.DropAction.MoveAction, -1, -1, target)
    assert ("move", [index.data(MessageRole.ID)], archive.id) in mail.calls


def test_move_menu_lists_the_accounts_folders(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    _select_folder(window, "work", "INBOX")
    _open(qtbot, window, "Quarterly report")
    window.move_menu.aboutToShow.emit()
    entries = {a.text(): a for a in window.move_menu.actions() if not a.isSeparator()}
    # The account's folders, then the other accounts' as submenus (APPEND there).
    assert set(entries) == {"Inbox", "Sent", "Archive", "Trash", "home"}
    assert entries["home"].menu() is not None
    assert not entries["Inbox"].isEnabled()  # where it is already
    entries["Trash"].trigger()
    trash = store.folder_by_name("work", "Trash")
    assert trash is not None
    assert mail.calls[-1][0] == "move" and mail.calls[-1][2] == trash.id


def test_list_and_counts_follow_the_store(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    _select_folder(window, "work", "INBOX")
    inbox = store.folder_by_name("work", "INBOX")
    assert inbox is not None
    index = window.folder_model.index_of_folder(inbox.id)
    assert index.data(FolderRole.UNREAD) == 2
    store.add_messages(inbox.id, [_summary(9, "Brand new", flags=frozenset())])
    window.watcher.poke()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5)
    assert window.message_model.index(0, Column.SUBJECT).data() == "Brand new"
    assert window.folder_model.index_of_folder(inbox.id).data(FolderRole.UNREAD) == 3


def test_progress_and_errors(qtbot: QtBot, window: MainWindow, mail: RecordingMail) -> None:
    mail.progressed.emit(SyncProgress("work", "INBOX", 12_400, 50_000))
    assert window.sync_label.text() == "Syncing INBOX (work) — 12,400 of 50,000"
    assert window.sync_progress.isVisible()
    failure = WorkFailed("work", "work: The IMAP server did not answer in time.", True, "again")
    mail.failed.emit(failure)
    assert window.error_bar.isVisible()
    assert "did not answer" in window.error_bar.label.text()
    qtbot.mouseClick(window.error_bar.retry_button, Qt.MouseButton.LeftButton)
    assert ("retry", "again") in mail.calls
    assert not window.error_bar.isVisible()
    mail.synced.emit(SyncFinished("work"))
    assert window.sync_label.text() == ""


def test_state_is_remembered(
    qtbot: QtBot, store: MailStore, mail: RecordingMail, settings: QSettings
) -> None:
    first = _new_window(qtbot, store, mail, settings)
    _select_folder(first, "home", "INBOX")
    first.message_view.sortByColumn(Column.SUBJECT, Qt.SortOrder.AscendingOrder)
    first.message_view.header().resizeSection(Column.SENDER, 271)
    first.splitter.setSizes([300, 900])
    first.close()

    second = _new_window(qtbot, store, mail, settings)
    assert second.message_view.header().sectionSize(Column.SENDER) == 271
    assert second.message_model.sort_key.value == "subject"
    assert not second.message_model.descending
    assert second.splitter.sizes()[0] == 300
    assert second.folder_view.currentIndex().data() == "Inbox"
    assert second.folder_view.currentIndex().data(FolderRole.ACCOUNT) == "home"
    second.close()


def _saved_choice(
    qtbot: QtBot,
    store: MailStore,
    mail: RecordingMail,
    settings: QSettings,
    threaded: bool = False,
) -> None:
    """1,000 more messages in home's INBOX, "old 105" near the bottom chosen as a window
    closes."""
    inbox = store.folder_by_name("home", "INBOX")
    assert inbox is not None
    store.add_messages(inbox.id, [_summary(uid, f"old {uid}") for uid in range(100, 1100)])
    first = _new_window(qtbot, store, mail, settings)
    _select_folder(first, "home", "INBOX")
    if threaded:
        first.threads_action.trigger()
    qtbot.waitUntil(lambda: not first.message_model.is_loading())
    _open(qtbot, first, "old 105")  # near the bottom: the list is newest first
    assert _row(first, "old 105") > 900
    first.close()


@pytest.mark.parametrize("threaded", [False, True])
def test_the_message_chosen_last_is_chosen_again_beyond_the_first_screenful(
    qtbot: QtBot, store: MailStore, mail: RecordingMail, settings: QSettings, threaded: bool
) -> None:
    """Only the first rows (the newest threads) are read at once; the message chosen when
    the window closed is chosen again once the rest of the list has come."""
    _saved_choice(qtbot, store, mail, settings, threaded)
    second = _new_window(qtbot, store, mail, settings)
    qtbot.waitUntil(lambda: not second.message_model.is_loading())
    qtbot.waitUntil(lambda: second.message_view.currentIndex().isValid())
    assert second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 105"
    second.close()


@pytest.fixture
def waiting_window(
    qtbot: QtBot,
    store: MailStore,
    mail: RecordingMail,
    settings: QSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[MainWindow, threading.Event]:
    """A window opened again after _saved_choice(), its first rows shown and the rest of
    the list held back (until the event is set): it waits for "old 105"."""
    _saved_choice(qtbot, store, mail, settings)
    release = _held_back_reads(monkeypatch)
    window = _new_window(qtbot, store, mail, settings)
    qtbot.waitUntil(lambda: window.message_model.rowCount() > 0)
    qtbot.wait(50)  # the window has looked for the message chosen last, in vain so far
    return window, release


def _let_the_list_come(qtbot: QtBot, window: MainWindow, release: threading.Event) -> None:
    release.set()
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    qtbot.wait(50)


def test_a_message_chosen_while_the_list_comes_is_not_taken_back(
    qtbot: QtBot, waiting_window: tuple[MainWindow, threading.Event]
) -> None:
    """The message chosen last time waits for the rest of the list; one the user chose
    meanwhile, and the keyboard in the filter field, stay as they are."""
    second, release = waiting_window
    assert second.message_model.is_loading()
    assert not second.message_view.currentIndex().isValid()
    view = second.message_view
    chosen = second.message_model.index(_row(second, "old 1099"), Column.SUBJECT)
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(chosen).center()
    )
    second.filter_edit.setFocus()
    _let_the_list_come(qtbot, second, release)
    assert second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 1099"
    assert second.filter_edit.hasFocus()
    second.close()


def _held_back_reads(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The list's reads off the GUI thread wait until the returned event is set."""
    release = threading.Event()
    query = message_model._query

    def held_back(*args: Any) -> Any:
        release.wait(10)
        return query(*args)

    monkeypatch.setattr(message_model, "_query", held_back)
    return release


def test_the_list_taking_the_focus_does_not_end_the_wait_for_the_message_chosen_last(
    qtbot: QtBot, waiting_window: tuple[MainWindow, threading.Event]
) -> None:
    """A list that takes the focus with nothing chosen makes its first row current itself:
    no choice of the person's."""
    second, release = waiting_window
    second.activateWindow()
    second.message_view.setFocus(Qt.FocusReason.ActiveWindowFocusReason)
    release.set()
    qtbot.waitUntil(lambda: not second.message_model.is_loading())
    qtbot.waitUntil(
        lambda: second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 105"
    )
    second.close()


def test_a_shortcut_during_the_wait_wins_over_the_message_chosen_last(
    qtbot: QtBot, waiting_window: tuple[MainWindow, threading.Event]
) -> None:
    """Delete is a shortcut, not a key the list sees: it moves the cursor on all the same."""
    second, release = waiting_window
    _open(qtbot, second, "old 1099")  # as Qt does when the list takes the focus
    second.delete_action.trigger()
    assert second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 1098"
    _let_the_list_come(qtbot, second, release)
    assert second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 1098"
    second.close()


def test_a_notification_during_the_wait_wins_over_the_message_chosen_last(
    qtbot: QtBot, waiting_window: tuple[MainWindow, threading.Event]
) -> None:
    second, release = waiting_window
    listed = second.message_model.message_id(3)
    assert listed is not None and second.show_message(listed)
    _let_the_list_come(qtbot, second, release)
    assert second.message_view.currentIndex().data(MessageRole.ID) == listed
    second.close()


def test_a_list_that_could_not_be_read_forgets_the_message_waited_for(
    qtbot: QtBot,
    store: MailStore,
    mail: RecordingMail,
    settings: QSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not chosen minutes later by the next read that works, taking the keyboard."""
    _saved_choice(qtbot, store, mail, settings)
    query = message_model._query
    release = threading.Event()
    failing = True

    def failing_for_now(*args: Any) -> Any:
        release.wait(10)
        if failing:
            raise OSError("disk I/O error")
        return query(*args)

    monkeypatch.setattr(message_model, "_query", failing_for_now)
    second = _new_window(qtbot, store, mail, settings)
    qtbot.waitUntil(lambda: second.message_model.rowCount() > 0)
    qtbot.wait(50)  # the window waits for the message chosen last
    with qtbot.waitSignal(second.message_model.load_failed):
        release.set()
    qtbot.waitUntil(lambda: not second.message_model.is_loading())
    failing = False
    second.filter_edit.setFocus()
    with qtbot.waitSignal(second.message_model.loaded):
        second.message_model.refresh()
    qtbot.wait(50)
    assert not second.message_view.currentIndex().isValid()
    assert second.filter_edit.hasFocus()
    second.close()


def test_a_notification_in_a_threaded_folder_wins_over_the_message_shown_before(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    """The threaded list comes as a reset that chooses the message shown before again;
    the message a notification asked for is chosen after it."""
    work_inbox = store.folder_by_name("work", "INBOX")
    assert work_inbox is not None
    _select_folder(window, "work", "INBOX")
    window.threads_action.trigger()
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    window.show_inboxes()
    window.threads_action.trigger()
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    _open(qtbot, window, "Quarterly report")
    store.add_messages(work_inbox.id, [_summary(77, "Just arrived")])
    [new] = [
        i for i in store.message_ids(work_inbox.id) if store.summary(i).subject == "Just arrived"
    ]
    assert window.show_message(new)
    qtbot.waitUntil(lambda: window.message_view.currentIndex().data(MessageRole.ID) == new)
    qtbot.wait(50)
    assert window.message_view.currentIndex().data(MessageRole.ID) == new


def test_new_mail_while_the_list_comes_does_not_lose_the_message_chosen_last(
    qtbot: QtBot,
    store: MailStore,
    mail: RecordingMail,
    settings: QSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New mail stored while the rest of the list is read comes as rows above the ones
    shown, one run of inserted rows before the run below them."""
    _saved_choice(qtbot, store, mail, settings)
    query = message_model._query
    path = store.path

    def with_new_mail(path_: Path, request: Any, *args: Any) -> Any:
        if request.limit is None:
            with MailStore.open(path) as other:
                inbox = other.folder_by_name("home", "INBOX")
                assert inbox is not None
                other.add_messages(inbox.id, [_summary(5000, "Just in")])
        return query(path_, request, *args)

    monkeypatch.setattr(message_model, "_query", with_new_mail)
    second = _new_window(qtbot, store, mail, settings)
    qtbot.waitUntil(lambda: not second.message_model.is_loading())
    qtbot.waitUntil(lambda: second.message_view.currentIndex().isValid())
    assert second.message_view.currentIndex().data(MessageRole.SUMMARY).subject == "old 105"
    assert _row(second, "Just in") == 0
    second.close()


def test_prefer_plain_text(qtbot: QtBot, window: MainWindow, store: MailStore) -> None:
    folder = store.folder_by_name("work", "INBOX")
    assert folder is not None
    message_id = store.message_ids(folder.id, quick_filter="quarterly")[0]
    message = EmailMessage()
    message["Subject"] = "Quarterly report"
    message.set_content("The plain version.")
    message.add_alternative("<p>The <b>HTML</b> version.</p>", subtype="html")
    store.save_body(message_id, message.as_bytes(policy=SMTP))
    _open(qtbot, window, "Quarterly report")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.shown_kind() == "html", timeout=20_000)
    window.prefer_plain_action.trigger()
    qtbot.waitUntil(lambda: pane.shown_kind() == "text")
    assert pane.text_view.toPlainText().strip() == "The plain version."
    window.prefer_plain_action.trigger()
    qtbot.waitUntil(lambda: pane.shown_kind() == "html", timeout=20_000)


def test_mark_read_never(qtbot: QtBot, window: MainWindow, mail: RecordingMail) -> None:
    window.set_mark_read_delay(-1)
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: window.reading_pane.shown_kind() == "text")
    window.set_mark_read_delay(0)
    _open(qtbot, window, "Quarterly report")
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: any(c[0] == "set_flags" for c in mail.calls), timeout=5000)
    assert [c for c in mail.calls if c[0] == "set_flags"] == [
        ("set_flags", [window.reading_pane.message_id], {SEEN}, set())
    ]


def test_preferences_from_outside_and_from_the_view_menu(qtbot: QtBot, window: MainWindow) -> None:
    menu = window.findChild(QMenu, "markReadMenu")
    assert isinstance(menu, QMenu)

    def checked() -> list[object]:
        return [a.data() for a in menu.actions() if a.isChecked()]

    assert checked() == [Preferences().mark_read_delay_ms]
    # Applied from the profile's config: shown, and not announced back as the user's choice.
    chosen = Preferences(mark_read_delay_ms=5000, prefer_plain_text=True)
    with qtbot.assertNotEmitted(window.preferences_changed):
        window.apply_preferences(chosen)
    assert window.preferences() == chosen
    assert window.mark_read_delay_ms() == 5000
    assert window.prefer_plain_action.isChecked()
    assert checked() == [5000]
    # A delay that no menu item offers leaves none of them checked.
    window.apply_preferences(replace(chosen, mark_read_delay_ms=7000))
    assert checked() == []

    # The user's choices in the View menu are announced, for saving.
    with qtbot.waitSignal(window.preferences_changed) as changed:
        next(a for a in menu.actions() if a.data() == -1).trigger()
    assert changed.args[0].mark_read_delay_ms == -1
    assert checked() == [-1]
    with qtbot.waitSignal(window.preferences_changed) as changed:
        window.prefer_plain_action.trigger()
    assert changed.args[0] == replace(chosen, mark_read_delay_ms=-1, prefer_plain_text=False)


def test_show_message_in_a_threaded_folder_chooses_it_once_listed(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    work_inbox = store.folder_by_name("work", "INBOX")
    assert work_inbox is not None
    _select_folder(window, "work", "INBOX")
    window.threads_action.trigger()  # remembered for this folder
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    _select_folder(window, "home", "INBOX")
    target = store.message_ids(work_inbox.id)[-1]
    # The threads are read on a thread: the message is chosen when they are listed.
    assert window.show_message(target)
    qtbot.waitUntil(lambda: window.message_view.currentIndex().data(MessageRole.ID) == target)
    assert window.message_model.threaded
    assert window.folder_view.currentIndex().data(FolderRole.ACCOUNT) == "work"


def test_a_big_folder_is_read_a_screenful_at_once_and_the_rest_off_the_gui_thread(
    qtbot: QtBot, window: MainWindow, store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = store.folder_by_name("work", "Archive")
    assert archive is not None
    store.add_messages(archive.id, [_summary(uid, f"old {uid}") for uid in range(1, 1001)])
    oldest = store.message_ids(archive.id)[-1]
    gui = QThread.currentThread()
    read_on_gui: list[int | None] = []
    original = MailStore.message_id_array

    def recorded(self: MailStore, *args: Any, **kwargs: Any) -> Any:
        if QThread.currentThread() is gui:
            read_on_gui.append(kwargs.get("limit"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MailStore, "message_id_array", recorded)
    _select_folder(window, "work", "Archive")
    assert 0 < window.message_model.rowCount() < 1000
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1000)
    # Chosen again from elsewhere, to show its oldest message: chosen once listed.
    _select_folder(window, "home", "INBOX")
    assert window.show_message(oldest)
    qtbot.waitUntil(lambda: window.message_view.currentIndex().data(MessageRole.ID) == oldest)
    assert read_on_gui and all(limit is not None and limit < 1000 for limit in read_on_gui)


def test_show_message_switches_folder_and_selects_it(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    home_inbox = store.folder_by_name("home", "INBOX")
    work_inbox = store.folder_by_name("work", "INBOX")
    assert home_inbox is not None and work_inbox is not None
    _select_folder(window, "home", "INBOX")
    target = store.message_ids(work_inbox.id)[-1]
    assert window.show_message(target)
    assert window.folder_view.currentIndex().data(FolderRole.ACCOUNT) == "work"
    assert window.message_view.currentIndex().data(MessageRole.ID) == target
    assert not window.show_message(10**9)
    window.show_inboxes()
    assert window.folder_view.currentIndex() == window.folder_model.index_of_all_inboxes()


def test_threaded_view_and_its_keys(qtbot: QtBot, window: MainWindow, store: MailStore) -> None:
    inbox = store.folder_by_name("work", "INBOX")
    assert inbox is not None
    store.add_messages(
        inbox.id,
        [
            _summary(11, "Plan", message_id="<p1@x>", flags=frozenset()),
            _summary(
                12, "Re: Plan", message_id="<p2@x>", in_reply_to="<p1@x>", references="<p1@x>"
            ),
            _summary(
                13,
                "Re: Re: Plan",
                message_id="<p3@x>",
                in_reply_to="<p2@x>",
                references="<p1@x> <p2@x>",
                flags=frozenset(),
            ),
        ],
    )
    _select_folder(window, "work", "INBOX")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 7)
    model, view = window.message_model, window.message_view

    def subjects() -> list[str]:
        return [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]

    window.threads_action.trigger()  # View ▸ Threads
    qtbot.waitUntil(lambda: subjects()[:3] == ["▾ Plan", "    Re: Plan", "        Re: Re: Plan"])
    assert len(subjects()) == 7 and not view.isSortingEnabled()

    view.setFocus()
    view.setCurrentIndex(model.index(2, Column.SUBJECT))
    qtbot.keyClick(view, Qt.Key.Key_Left)  # collapse: the cursor goes to the thread's root
    assert subjects()[0] == "▸ Plan  (3 messages, 2 unread)" and len(subjects()) == 5
    assert view.currentIndex().row() == 0
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert len(subjects()) == 7
    qtbot.keyClick(view, Qt.Key.Key_Backslash)
    assert len(subjects()) == 5
    qtbot.keyClick(view, Qt.Key.Key_Asterisk)
    assert len(subjects()) == 7

    # Remembered for this folder only.
    _select_folder(window, "work", "Archive")
    assert not window.threads_action.isChecked() and view.isSortingEnabled()
    _select_folder(window, "work", "INBOX")
    assert window.threads_action.isChecked()
    qtbot.waitUntil(lambda: subjects()[:1] == ["▾ Plan"])


def test_closing_the_window_stops_and_waits_for_the_list_read(
    qtbot: QtBot,
    store: MailStore,
    mail: RecordingMail,
    settings: QSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A list read still running when the window closes (all threads of a million take
    seconds) is stopped and waited for: left running, it outlives the window and its model
    and can bring the ending process down."""
    reading = threading.Event()

    def slow_query(*args: object) -> None:
        stop = args[-1]
        assert isinstance(stop, threading.Event)
        reading.set()
        stop.wait(30)  # as a long read that checks its stop now and then

    w = MainWindow([WORK, HOME], store, mail, settings)  # type: ignore[arg-type]
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    monkeypatch.setattr(message_model, "_query", slow_query)
    w.message_model.set_threaded(True)  # threads are read on the list's pool
    _select_folder(w, "home", "INBOX")
    qtbot.waitUntil(reading.is_set, timeout=10_000)
    began = time.monotonic()
    w.close()
    assert w.message_model._pool.activeThreadCount() == 0
    assert time.monotonic() - began < 10
