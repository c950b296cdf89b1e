"""The window over the folders of a server that keeps everything below ``INBOX.`` and has
no SPECIAL-USE, classified as the sync classifies them: a draft in INBOX.Drafts opens to
be finished, and the special folders show beside the Inbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from mailclient.core.models import DRAFT, SEEN
from mailclient.imap.client import classify_folders
from mailclient.store.mail import MailStore, NewMessage
from mailclient.ui.mailbox.message_model import Column
from mailclient.ui.window.main_window import MainWindow, window_settings
from tests.gui.test_main_window import WORK, RecordingMail, plain_message


class RecordingCompose:
    """The part of ComposeManager that opening a draft uses."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, bytes]] = []

    def open_server_draft(self, account: str, raw: bytes) -> None:
        self.opened.append((account, raw))

    def close_all(self) -> bool:
        return True


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    s = MailStore.open(tmp_path / "mail.sqlite3")
    listed = [
        (name, ".", ["\\HasNoChildren"])
        for name in ("INBOX", "INBOX.Drafts", "INBOX.Sent", "INBOX.Trash", "INBOX.Lists")
    ]
    s.sync_folder_list("work", classify_folders(listed, set(), ["INBOX."]))
    drafts = s.folder_by_name("work", "INBOX.Drafts")
    assert drafts is not None
    s.add_messages(drafts.id, [NewMessage(uid=1, flags=frozenset({DRAFT, SEEN}), subject="Plan")])
    [draft] = s.message_ids(drafts.id)
    s.save_body(draft, plain_message("Plan", "half written"))
    yield s
    s.close()


def test_a_draft_below_the_namespace_prefix_opens_to_be_finished(
    qtbot: QtBot, store: MailStore, tmp_path: Path
) -> None:
    mail = RecordingMail()
    window = MainWindow([WORK], store, mail, window_settings(tmp_path))  # type: ignore[arg-type]
    qtbot.addWidget(window)
    compose = RecordingCompose()
    window.compose = compose  # type: ignore[assignment]
    model = window.folder_model
    work = model.index_of_account("work")
    titles = [model.index(r, 0, work).data() for r in range(model.rowCount(work))]
    assert titles == ["Inbox", "Drafts", "Sent", "Trash"]

    drafts = store.folder_by_name("work", "INBOX.Drafts")
    assert drafts is not None
    window.folder_view.setCurrentIndex(model.index_of_folder(drafts.id))
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    window.message_view.setCurrentIndex(window.message_model.index(0, Column.SUBJECT))
    window.open_in_window()
    qtbot.waitUntil(lambda: len(compose.opened) == 1)
    account, raw = compose.opened[0]
    assert account == "work" and b"half written" in raw
    assert window._message_windows == []  # not the read-only message window
