"""The message list's columns: star and attachment sort, the column chooser, recipients in
Sent, and the chosen message restored after a restart."""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from mailclient.imap import changes
from mailclient.store.mail import MailStore, SortKey
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.window.main_window import MainWindow
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    HOME,
    WORK,
    RecordingMail,
    _open,
    _row,
    _select_folder,
    _summary,
    mail,
    profile,
    settings,
    store,
    window,
)


def _subjects(window: MainWindow) -> list[str]:
    model = window.message_model
    return [model.index(r, Column.SUBJECT).data() for r in range(model.rowCount())]


def test_star_and_attachment_headers_sort(qtbot: QtBot, window: MainWindow) -> None:
    _select_folder(window, "work", "INBOX")
    header = window.message_view.header()
    header.setSortIndicator(Column.FLAG, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: window.message_model.sort_key is SortKey.FLAGGED)
    qtbot.waitUntil(lambda: _subjects(window)[:1] == ["Flagged one"])
    header.setSortIndicator(Column.ATTACHMENT, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: window.message_model.sort_key is SortKey.ATTACHMENTS)
    qtbot.waitUntil(lambda: _subjects(window)[:1] == ["Lunch on Friday?"])
    header.setSortIndicator(Column.ATTACHMENT, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: _subjects(window)[-1:] == ["Lunch on Friday?"])


def test_sent_shows_whom_it_went_to(qtbot: QtBot, window: MainWindow, store: MailStore) -> None:
    sent = store.folder_by_name("work", "Sent")
    assert sent is not None
    offer = _summary(1, "Our offer", sender="Alice <alice@example.org>")
    store.add_messages(sent.id, [offer._replace(recipients="Carol <c@x.org>")])
    _select_folder(window, "work", "Sent")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    model = window.message_model
    assert model.index(0, Column.SENDER).data() == "Carol"
    assert model.headerData(Column.SENDER, Qt.Orientation.Horizontal) == "To"
    _select_folder(window, "work", "INBOX")
    assert model.headerData(Column.SENDER, Qt.Orientation.Horizontal) == "From"
    assert model.index(0, Column.SENDER).data() != "Carol"


def test_the_column_chooser_hides_columns_and_it_is_remembered(
    qtbot: QtBot, window: MainWindow, store: MailStore, mail: RecordingMail, settings: QSettings
) -> None:
    menu = QMenu()
    window._fill_column_menu(menu)
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Flag", "Attachment", "From", "Date", "Size", "Folder", "Account"]
    size = next(a for a in menu.actions() if a.text() == "Size")
    size.setChecked(False)
    assert window.message_view.header().isSectionHidden(Column.SIZE)

    _open(qtbot, window, "Quarterly report")
    chosen = window.message_view.currentIndex().data(MessageRole.ID)
    window.close()

    again = MainWindow([WORK, HOME], store, mail, settings)  # type: ignore[arg-type]
    qtbot.addWidget(again)
    again.show()
    assert again.message_view.header().isSectionHidden(Column.SIZE)
    qtbot.waitUntil(lambda: again.message_view.currentIndex().data(MessageRole.ID) == chosen)
    again.close()


def test_all_inboxes_have_an_account_column(qtbot: QtBot, window: MainWindow) -> None:
    header = window.message_view.header()
    window.show_inboxes()
    assert not header.isSectionHidden(Column.ACCOUNT)
    accounts = {
        window.message_model.index(r, Column.ACCOUNT).data()
        for r in range(window.message_model.rowCount())
    }
    assert accounts == {"work", "home"}
    _select_folder(window, "work", "INBOX")
    assert header.isSectionHidden(Column.ACCOUNT)


def test_tags_are_keywords_with_thunderbirds_names_and_colours(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    report = view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert ("set_flags", [report], {"$label1"}, set()) in mail.calls
    assert window.undo_action.text() == "&Undo Tag Important"
    assert [a.text() for a in window.tag_actions] == [
        "&1 Important",
        "&2 Work",
        "&3 Personal",
        "&4 To Do",
        "&5 Later",
    ]
    # As the store has it once the change is written: the row in the tag's colour.
    changes.set_flags(store, [report], add={"$Label4"})
    window.message_model.refresh()
    row = _row(window, "Quarterly report")
    qtbot.waitUntil(
        lambda: (
            window.message_model.index(row, Column.SUBJECT).data(Qt.ItemDataRole.ForegroundRole)
            is not None
        )
    )
    colour = window.message_model.index(row, Column.SUBJECT).data(Qt.ItemDataRole.ForegroundRole)
    assert colour.name() == "#3333ff"


def test_the_subject_header_sorts_without_reply_and_forward_prefixes(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    archive = store.folder_by_name("work", "Archive")
    assert archive is not None
    subjects = ["Re: Budget", "Zebra crossing", "AW: WG: budget", "Fwd: Agenda", "Re[2]: Minutes"]
    store.add_messages(archive.id, [_summary(u, s) for u, s in enumerate(subjects, 1)])
    _select_folder(window, "work", "Archive")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == len(subjects))
    window.message_view.header().setSortIndicator(Column.SUBJECT, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(
        lambda: (
            _subjects(window)
            == ["Fwd: Agenda", "AW: WG: budget", "Re: Budget", "Re[2]: Minutes", "Zebra crossing"]
        )
    )
