"""The compose manager: which window opens for what, and drafts left by a crash."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from mailclient.core.draft import DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.store.mail import MailStore
from mailclient.ui.compose.manager import ComposeManager
from mailclient.ui.compose.window import ComposeWindow
from mailclient.ui.outbox.view import OutboxView
from mailclient.ui.window.mail_hub import OfflineMail
from mailclient.ui.window.main_window import MainWindow, window_settings
from tests.gui.compose_helpers import DialogAnswerer, account, close_discarding, is_closed
from tests.gui.outbox_world import WAIT, World, draft, running_world

ALICE = account(
    "work",
    "ann@example.org",
    display_name="Ann",
    signature="Ann\nExample Corp",
    identities=("ann@lists.example.org",),
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path)


@pytest.fixture
def manager(qtbot: QtBot, world: World) -> Iterator[ComposeManager]:
    compose = ComposeManager([ALICE], world.worker, world.store_path)
    yield compose
    for window in list(compose.windows):
        close_discarding(qtbot, window)


def only_window(qtbot: QtBot, manager: ComposeManager) -> ComposeWindow:
    qtbot.waitUntil(lambda: len(manager.windows) == 1, timeout=WAIT)
    return manager.windows[0]


def received(to: str = "ann@lists.example.org") -> bytes:
    message = EmailMessage()
    message["From"] = "Bob <bob@example.org>"
    message["To"] = to
    message["Cc"] = "Carol <carol@example.org>"
    message["Subject"] = "Agenda"
    message["Message-ID"] = "<agenda@example.org>"
    message.set_content("Topics?\n")
    message.add_attachment(b"1. budget", maintype="text", subtype="plain", filename="agenda.txt")
    return message.as_bytes()


def test_mailto_fills_a_new_window(qtbot: QtBot, manager: ComposeManager) -> None:
    window = manager.open_mailto(
        "mailto:bob@example.org?cc=carol@example.org&subject=Hello%20there&body=Line%201%0D%0A"
    )
    assert window is not None
    draft_now = window.draft()
    assert (draft_now.to, draft_now.cc, draft_now.subject) == (
        "bob@example.org",
        "carol@example.org",
        "Hello there",
    )
    assert draft_now.body == "Line 1\n\n\n-- \nAnn\nExample Corp"
    assert window.cc_edit.isVisible()
    assert window.windowTitle() == "Write: Hello there"


def test_a_bad_link_says_so(qtbot: QtBot, manager: ComposeManager) -> None:
    answers = DialogAnswerer(qtbot).answer("OK")
    assert manager.open_mailto("http://example.org") is None
    assert answers.done() and "not a mailto: link" in answers.seen[0]


def test_reply_uses_the_identity_the_message_was_sent_to(
    qtbot: QtBot, manager: ComposeManager
) -> None:
    manager.reply("work", received(), reply_all=True)
    window = only_window(qtbot, manager)
    result = window.draft()
    assert result.sender == "Ann <ann@lists.example.org>"
    assert (result.to, result.cc) == ("Bob <bob@example.org>", "Carol <carol@example.org>")
    assert result.kind is DraftKind.REPLY_ALL and result.original == "<agenda@example.org>"
    assert window.body_edit.hasFocus() or window.body_edit.textCursor().position() == 0


def test_reply_between_own_accounts_goes_to_the_sender(qtbot: QtBot, world: World) -> None:
    """In bob's inbox, a reply to a message from ann (both accounts configured) goes to
    ann: only the replying account's own messages are answered to their recipients."""
    bob = account("home", "bob@example.org", display_name="Bob")
    manager = ComposeManager([ALICE, bob], world.worker, world.store_path)
    message = EmailMessage()
    message["From"] = "Ann <ann@example.org>"
    message["To"] = "Bob <bob@example.org>"
    message["Cc"] = "ann@lists.example.org, Carol <carol@example.org>"
    message["Subject"] = "Between us"
    message["Message-ID"] = "<between@example.org>"
    message.set_content("Hi Bob\n")
    try:
        manager.reply("home", message.as_bytes())
        window = only_window(qtbot, manager)
        assert window.draft().to == "Ann <ann@example.org>"
        assert window.draft().sender == "Bob <bob@example.org>"
        close_discarding(qtbot, window)
        manager.reply("home", message.as_bytes(), reply_all=True)
        window = only_window(qtbot, manager)
        assert (window.draft().to, window.draft().cc) == (
            "Ann <ann@example.org>",
            "ann@lists.example.org, Carol <carol@example.org>",
        )
    finally:
        for window in list(manager.windows):
            close_discarding(qtbot, window)


def test_forward_brings_the_attachments(qtbot: QtBot, manager: ComposeManager) -> None:
    manager.forward("work", received(to="ann@example.org"))
    window = only_window(qtbot, manager)
    result = window.draft()
    assert result.sender == "Ann <ann@example.org>"
    assert result.subject == "Fwd: Agenda"
    assert [(a.filename, a.data) for a in result.attachments] == [("agenda.txt", b"1. budget")]


def test_the_same_draft_opens_once(qtbot: QtBot, manager: ComposeManager) -> None:
    saved = draft()
    first = manager.open_draft(saved)
    assert manager.open_draft(saved) is first
    assert len(manager.windows) == 1


def test_typing_is_saved_here_and_closing_unchanged_forgets_it(
    qtbot: QtBot, manager: ComposeManager, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailclient.ui.compose import window as compose

    monkeypatch.setattr(compose, "AUTOSAVE_MS", 50)
    window = manager.new_message()
    assert window is not None
    qtbot.keyClicks(window.subject_edit, "Autosaved")
    qtbot.waitUntil(lambda: window.key in world.drafts.saved_keys(), timeout=WAIT)
    assert world.drafts.load(window.key).draft.subject == "Autosaved"
    answers = DialogAnswerer(qtbot).answer("Discard")
    window.close()
    assert answers.done()
    qtbot.waitUntil(lambda: world.drafts.saved_keys() == [], timeout=WAIT)


def test_drafts_left_by_a_crash_are_offered(
    qtbot: QtBot, manager: ComposeManager, world: World, tmp_path: Path
) -> None:
    part = tmp_path / "notes.txt"
    part.write_text("notes")
    world.drafts.save(draft(subject="Left behind", attachments=(Attachment(path=part),)))
    world.drafts.save(draft(subject="Also left"), upload_error="The server was away.")

    answers = DialogAnswerer(qtbot).answer("Not Now")
    assert manager.offer_recovered() == []
    assert "2 unsent drafts" in answers.seen[0] and "Left behind" in answers.seen[0]
    assert len(world.drafts.saved_keys()) == 2

    answers = DialogAnswerer(qtbot).answer("Open")
    windows = manager.offer_recovered()
    assert sorted(w.windowTitle() for w in windows) == ["Write: Also left", "Write: Left behind"]
    left = next(w for w in windows if w.windowTitle() == "Write: Left behind")
    assert [a.filename for a in left.draft().attachments] == ["notes.txt"]
    also = next(w for w in windows if w.windowTitle() == "Write: Also left")
    assert also.statusBar().currentMessage() == "The server was away."
    answers = DialogAnswerer(qtbot).answer("Cancel")
    also.close()  # recovered text counts as unsaved even untouched
    assert answers.done() and not is_closed(also)


def test_discarding_the_offered_drafts(qtbot: QtBot, manager: ComposeManager, world: World) -> None:
    world.drafts.save(draft(subject="Not wanted"))
    answers = DialogAnswerer(qtbot).answer("Discard")
    assert manager.offer_recovered() == []
    assert answers.done()
    qtbot.waitUntil(lambda: world.drafts.saved_keys() == [], timeout=WAIT)


def test_a_message_that_cannot_be_queued_reopens_as_a_draft(
    qtbot: QtBot, manager: ComposeManager, world: World, tmp_path: Path
) -> None:
    broken = draft(
        subject="Broken", attachments=(Attachment(filename="gone", path=tmp_path / "gone"),)
    )
    answers = DialogAnswerer(qtbot).answer("Open Draft")
    world.worker.send(broken)
    window = only_window(qtbot, manager)
    assert answers.done() and "Broken" in answers.seen[0] and "gone" in answers.seen[0]
    assert window.key == broken.key
    assert window.draft().subject == "Broken"


def test_mailto_links_clicked_in_messages_open_here(qtbot: QtBot, manager: ComposeManager) -> None:
    QDesktopServices.setUrlHandler("mailto", manager, "open_mailto_url")
    try:
        QDesktopServices.openUrl(QUrl("mailto:bob@example.org?subject=From%20a%20link"))
        window = only_window(qtbot, manager)
    finally:
        QDesktopServices.unsetUrlHandler("mailto")
    assert (window.draft().to, window.draft().subject) == ("bob@example.org", "From a link")


def test_closing_the_main_window_closes_compose_windows_first(
    qtbot: QtBot, manager: ComposeManager, world: World, tmp_path: Path
) -> None:
    store = MailStore.open(world.store_path)
    main = MainWindow([ALICE], store, OfflineMail(), window_settings(tmp_path))
    main.attach_compose(manager, OutboxView(world.worker, main.watcher))
    main.show()
    try:
        writing = manager.new_message()
        assert writing is not None
        qtbot.keyClicks(writing.subject_edit, "Not finished")
        answers = DialogAnswerer(qtbot).answer("Cancel")
        main.close()
        assert answers.done() and main.isVisible() and not is_closed(writing)
        answers = DialogAnswerer(qtbot).answer("Discard")
        main.close()
        assert answers.done() and not main.isVisible() and is_closed(writing)
    finally:
        main.close()
        store.close()


def test_an_open_compose_window_follows_its_account_renamed(
    qtbot: QtBot, manager: ComposeManager
) -> None:
    """Written on while the account was renamed: it is saved and sent under the new name,
    not queued for an account that no longer exists."""
    manager.new_message("work")
    window = only_window(qtbot, manager)
    window.from_box.setCurrentIndex(1)  # the list identity
    manager.account_renamed("work", "job")
    assert window.draft().account == "job"
    assert window.draft().sender == "Ann <ann@lists.example.org>"
    assert window.from_box.currentText().endswith("(job)")
