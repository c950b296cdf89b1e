"""What we put on the server ourselves shows in the list at once: the Sent copy, a draft
saved with Ctrl+S, and a sent draft leaving the Drafts folder (no F5, no waiting for the
five-minute check: IDLE watches only the INBOX)."""

# The fixtures of test_compose_servers are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.gui.compose_helpers import close_discarding
from tests.gui.test_compose_servers import (  # noqa: F401 (fixtures)
    CONTROL,
    WAIT,
    App,
    app,
)
from tests.rig import MailServers

pytestmark = pytest.mark.usefixtures("secret_service")


def _show(qtbot: QtBot, app: App, name: str) -> None:
    """Show the folder once the first sync has listed it."""
    qtbot.waitUntil(lambda: app.store.folder_by_name("alice", name) is not None, timeout=WAIT)
    folder = app.store.folder_by_name("alice", name)
    assert folder is not None
    model = app.window.folder_model
    qtbot.waitUntil(lambda: model.index_of_folder(folder.id).isValid(), timeout=WAIT)
    app.window.folder_view.setCurrentIndex(model.index_of_folder(folder.id))
    qtbot.waitUntil(lambda: app.window.message_model.folder_ids == [folder.id], timeout=WAIT)


def _write(qtbot: QtBot, app: App, subject: str) -> object:
    window = app.press_in_main_window(Qt.Key.Key_N, CONTROL)
    qtbot.keyClicks(window.to_edit, "bob@example.org")
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(window.subject_edit, subject)
    qtbot.keyClick(window.subject_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(window.body_edit, "Text.")
    return window


def test_the_sent_copy_shows_in_sent_at_once(qtbot: QtBot, app: App, servers: MailServers) -> None:
    app.start()
    _show(qtbot, app, "Sent")
    window = _write(qtbot, app, "Straight to Sent")
    app.send(window)  # type: ignore[arg-type]
    app.received("alice", "Straight to Sent", folder="Sent")
    app.wait_for_list("Straight to Sent")


def test_a_saved_draft_shows_and_a_sent_draft_leaves_drafts(
    qtbot: QtBot, app: App, servers: MailServers
) -> None:
    app.start()
    _show(qtbot, app, "Drafts")
    window = _write(qtbot, app, "Saved with Ctrl+S")
    qtbot.keyClick(window.body_edit, Qt.Key.Key_S, CONTROL)  # type: ignore[attr-defined]
    app.received("alice", "Saved with Ctrl+S", folder="Drafts")
    app.wait_for_list("Saved with Ctrl+S")
    close_discarding(qtbot, window)  # type: ignore[arg-type]

    app.select("Saved with Ctrl+S")
    before = len(app.compose.windows)
    app.window.open_window_action.trigger()
    reopened = app.new_compose_window(before)
    app.send(reopened)
    # Out of the list at once, before the server has been told.
    qtbot.waitUntil(lambda: "Saved with Ctrl+S" not in app.subjects(), timeout=WAIT)
    qtbot.waitUntil(lambda: servers.fetch_all("alice", "Drafts") == [], timeout=WAIT)
    app.received("bob", "Saved with Ctrl+S")
    assert not app.window.error_bar.isVisible()


def test_a_refused_message_is_shown_in_the_error_bar(
    qtbot: QtBot, app: App, servers: MailServers
) -> None:
    app.start()
    window = app.press_in_main_window(Qt.Key.Key_N, CONTROL)
    qtbot.keyClicks(window.to_edit, "nobody@example.org")
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(window.subject_edit, "Wrong address")
    app.send(window)
    bar = app.window.error_bar

    def shown() -> list[str]:
        return [e.message for e in bar.errors() if "Wrong address" in e.message]

    qtbot.waitUntil(lambda: bool(shown()), timeout=WAIT)
    [text] = shown()
    assert text.startswith("“Wrong address” was not sent:") and "550" in text
    assert "It waits in the Outbox." in text
    assert bar.isVisible() and bar.retry_button.isVisible()


def test_our_copies_go_into_the_store_from_appenduid_without_a_sync(
    qtbot: QtBot, app: App, servers: MailServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = app.window._mail
    assert mail is not None
    asked: list[tuple[str, object]] = []
    real_sync = mail.sync

    def sync(account: str, folders: object = None) -> None:
        asked.append((account, folders))
        real_sync(account, folders)  # type: ignore[arg-type]

    monkeypatch.setattr(mail, "sync", sync)
    app.start()
    _show(qtbot, app, "Drafts")
    window = _write(qtbot, app, "Kept by APPENDUID")
    qtbot.keyClick(window.body_edit, Qt.Key.Key_S, CONTROL)  # type: ignore[attr-defined]
    app.wait_for_list("Kept by APPENDUID")
    qtbot.keyClicks(window.body_edit, " More.")  # type: ignore[attr-defined]
    qtbot.keyClick(window.body_edit, Qt.Key.Key_S, CONTROL)  # type: ignore[attr-defined]
    # The new version replaced the old one in the store and the list, as on the server.
    drafts = app.store.folder_by_name("alice", "Drafts")
    assert drafts is not None

    def kept() -> list[bytes]:
        return [app.store.body(i) or b"" for i in app.store.message_ids([drafts.id])]

    qtbot.waitUntil(lambda: len(kept()) == 1 and b"More." in kept()[0], timeout=WAIT)
    assert len(servers.fetch_all("alice", "Drafts")) == 1
    qtbot.waitUntil(lambda: app.subjects().count("Kept by APPENDUID") == 1, timeout=WAIT)
    assert not [f for _, f in asked if f and "Drafts" in f], asked  # no sync was needed

    _show(qtbot, app, "Sent")
    app.send(window)  # type: ignore[arg-type]
    app.received("alice", "Kept by APPENDUID", folder="Sent")
    app.wait_for_list("Kept by APPENDUID")
    sent = app.store.folder_by_name("alice", "Sent")
    assert sent is not None
    [copy] = app.store.message_ids([sent.id])
    assert b"Text." in (app.store.body(copy) or b"")  # the bytes we appended
    # (Drafts is synced once more: the sent draft left it, which is not an APPEND.)
    assert not [f for _, f in asked if f and "Sent" in f], asked
