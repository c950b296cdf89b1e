"""A message opened in its own window (Enter) from a search or a filtered folder shows the
words looked for marked, as the reading pane does; against the real Dovecot of the test
rig, with the bodies kept and indexed by the window's own workers."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from mailclient.mime.highlight import FIRST_HIT, MARK_OPEN
from mailclient.ui.mailbox.message_window import MessageWindow
from tests.gui.test_search_reading import marked_runs
from tests.gui.test_window_server import WAIT, Harness
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers

pytestmark = pytest.mark.mail_users("alice")

CTRL = Qt.KeyboardModifier.ControlModifier
FILLER = "Nothing to see on this line.\n" * 300


def fresh_message(subject: str, body: str, subtype: str = "plain") -> bytes:
    """A message of today: its body is kept here and indexed after the headers."""
    m = EmailMessage()
    m["From"] = "Bob <bob@example.org>"
    m["To"] = "alice@example.org"
    m["Subject"] = subject
    m["Date"] = formatdate()
    m.set_content(body, subtype=subtype)
    return m.as_bytes(policy=SMTP)


@pytest.fixture
def harness(qtbot: QtBot, servers: MailServers, tmp_path: Path) -> Iterator[Harness]:
    servers.append(
        "alice", "INBOX", fresh_message("Zeppelin notes", FILLER + "The zeppelin landed.\n")
    )
    servers.append(
        "alice",
        "INBOX",
        fresh_message(
            "Zoo visit",
            "<p>We saw an <b>okapi</b> at the zoo.</p>"
            '<p><img src="https://127.0.0.1:9/pixel.png" alt="pixel"></p>',
            "html",
        ),
    )
    servers.append("alice", "INBOX", fresh_message("Lunch", "Soup again."))
    h = Harness(qtbot, servers, tmp_path, [rig_account(servers, "alice", name="work")])
    h.window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is h.window)
    h.window.start()
    qtbot.waitUntil(lambda: h.window.message_model.rowCount() == 3, timeout=WAIT)
    inbox = h.folder("work", "INBOX")
    ids = h.store.message_ids(inbox)
    # Kept here (the last 365 days) and in the index: found by the words of their bodies.
    qtbot.waitUntil(lambda: all(h.store.body(i) is not None for i in ids), timeout=WAIT)
    qtbot.waitUntil(lambda: len(h.store.matching([inbox], "zeppelin")) == 1, timeout=WAIT)
    qtbot.waitUntil(lambda: len(h.store.matching([inbox], "okapi")) == 1, timeout=WAIT)
    yield h
    for window in QApplication.topLevelWidgets():
        if isinstance(window, MessageWindow):
            window.close()
    h.close()


def open_with_enter(qtbot: QtBot, harness: Harness, subject: str) -> MessageWindow:
    """Choose ``subject`` in the list and press Enter: the message window it opens."""
    before = {w for w in QApplication.topLevelWidgets() if isinstance(w, MessageWindow)}
    harness.select(subject)
    qtbot.keyClick(harness.window.message_view, Qt.Key.Key_Return)
    [opened] = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, MessageWindow) and w not in before and w.isVisible()
    ]
    assert opened.summary.subject == subject
    qtbot.waitUntil(lambda: opened.pane.prepared is not None, timeout=WAIT)
    return opened


def test_a_message_opened_from_the_search_shows_its_words_marked_at_the_first_hit(
    qtbot: QtBot, harness: Harness
) -> None:
    window = harness.window
    qtbot.keyClick(window, Qt.Key.Key_K, CTRL)
    assert window.search_edit.hasFocus()
    qtbot.keyClicks(window.search_edit, "zeppelin")
    qtbot.keyClick(window.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: harness.subjects() == ["Zeppelin notes"], timeout=WAIT)
    opened = open_with_enter(qtbot, harness, "Zeppelin notes")
    pane = opened.pane
    assert pane.shown_kind() == "text"
    assert marked_runs(pane.text_view.document()) == ["zeppelin"]
    # It opens at the hit, 300 lines down: its line is on screen.
    view = pane.text_view
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0, timeout=WAIT)
    cursor = view.document().find("zeppelin")
    assert 0 <= view.cursorRect(cursor).top() < view.viewport().height()

    # Back to the folder: the window was opened for these words and keeps them, also
    # when it shows the message again.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    window.message_view.setFocus()
    qtbot.keyClick(window.message_view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 3, timeout=WAIT)
    assert marked_runs(pane.text_view.document()) == ["zeppelin"]
    opened.load()
    qtbot.waitUntil(lambda: pane.prepared is not None, timeout=WAIT)
    assert marked_runs(pane.text_view.document()) == ["zeppelin"]
    # A message opened now, with no search, shows no marks.
    plain = open_with_enter(qtbot, harness, "Zeppelin notes")
    assert plain is not opened
    assert plain.pane.prepared is not None and plain.pane.prepared.hits == 0
    assert marked_runs(plain.pane.text_view.document()) == []
    assert plain.pane.text_view.verticalScrollBar().value() == 0


def test_a_message_opened_from_the_quick_filter_shows_its_words_marked(
    qtbot: QtBot, harness: Harness
) -> None:
    window = harness.window
    harness.show_folder("work", "INBOX")
    qtbot.keyClick(window, Qt.Key.Key_K, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert window.filter_edit.hasFocus()
    qtbot.keyClicks(window.filter_edit, "OKAPI")
    qtbot.waitUntil(lambda: harness.subjects() == ["Zoo visit"], timeout=WAIT)
    opened = open_with_enter(qtbot, harness, "Zoo visit")
    pane = opened.pane
    assert pane.shown_kind() == "html"
    prepared = pane.prepared
    assert prepared is not None and prepared.safe_html is not None and prepared.hits == 1
    marked = f'<b><span id="{FIRST_HIT}"></span>{MARK_OPEN}okapi</span></b>'
    assert marked in prepared.safe_html.document
    # The page is loaded at the first hit.
    assert pane.html_view is not None
    qtbot.waitUntil(lambda: pane.html_view.page().url().fragment() == FIRST_HIT, timeout=WAIT)

    # The filter cleared, remote content loaded: the message is read again, still marked.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 3, timeout=WAIT)
    assert pane.remote_bar.isVisible()
    qtbot.mouseClick(pane.remote_bar.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.prepared is not None and pane.prepared.allow_remote, timeout=WAIT)
    again = pane.prepared
    assert again is not None and again.safe_html is not None and again.hits == 1
    assert marked in again.safe_html.document
