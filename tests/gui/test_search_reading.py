"""Reading what a search found: its words marked in the reading pane, and conversations."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from mailclient.core.errors import MailclientError
from mailclient.core.models import SEEN
from mailclient.mime.highlight import FIRST_HIT, HIT_CLASS, MARK_COLOUR, MARK_OPEN
from mailclient.mime.search_text import indexed_text
from mailclient.store.mail import MailStore
from mailclient.ui.window.main_window import MainWindow
from mailclient.workers import conversation as conversation_worker
from mailclient.workers.conversation import Conversation
from mailclient.workers.events import BodyFetched
from tests.gui import test_main_window as main_window_tests
from tests.gui.test_main_window import _open, _summary

# The main window's tests' fixtures: a store with two accounts, the window over it.
profile = main_window_tests.profile
store = main_window_tests.store
settings = main_window_tests.settings
mail = main_window_tests.mail
window = main_window_tests.window


def html_message(subject: str, html: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Zoë <zoe@example.es>"
    message["To"] = "alice@example.org"
    message["Subject"] = subject
    message["Date"] = "Fri, 07 Jun 2024 11:20:30 +0200"
    message.set_content(html, subtype="html")
    return message.as_bytes(policy=SMTP)


def marked_runs(document: QTextDocument) -> list[str]:
    """The runs of text marked in ``document``: Qt keeps a mark as a background colour on
    the words, not as the tag we gave it."""
    runs, run = [], ""
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().background().color().name() == MARK_COLOUR:
                run += fragment.text()
            elif run:
                runs, run = [*runs, run], ""
            iterator += 1
        if run:
            runs, run = [*runs, run], ""
        block = block.next()
    return runs


def test_the_filter_words_are_marked_in_a_plain_text_message(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    store.index_queued_bodies(indexed_text)
    window.filter_edit.setText('from:bob "hi alice"')
    qtbot.waitUntil(lambda: window.message_model.quick_filter == 'from:bob "hi alice"')
    qtbot.waitUntil(lambda: not window.message_model.is_loading())
    _open(qtbot, window, "Lunch on Friday?")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.prepared is not None)
    assert pane.prepared is not None and pane.prepared.hits == 1
    assert pane.shown_kind() == "text"
    assert marked_runs(pane.text_view.document()) == ["Hi Alice"]
    # from: is no word of the body: "bob" is not looked for there.
    window.filter_edit.clear()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5)
    _open(qtbot, window, "Quarterly report")
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: pane.prepared is not None and pane.prepared.hits == 0)


def test_the_search_words_are_marked_in_an_html_message(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    [quarterly] = store.message_ids(
        [f.id for f in store.folders() if f.account == "work"], quick_filter="quarterly"
    )
    store.save_body(
        quarterly,
        html_message(
            "Quarterly report",
            "<p>The <b>Überschuss</b> grew; see the <a href='https://x.example/'>ueberschuss"
            "</a> table.</p>",
        ),
    )
    store.index_queued_bodies(indexed_text)
    window.search_edit.setText("uberschuss")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    _open(qtbot, window, "Quarterly report")
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.prepared is not None)
    assert pane.prepared is not None and pane.shown_kind() == "html"
    assert pane.prepared.safe_html is not None
    document = pane.prepared.safe_html.document
    assert f'<b><span id="{FIRST_HIT}"></span>{MARK_OPEN}Überschuss</span></b>' in document
    assert document.count(f'class="{HIT_CLASS}"') == 1  # "ueberschuss" is another word to the index
    # The page is loaded at the first hit.
    assert pane.html_view is not None
    qtbot.waitUntil(lambda: pane.html_view.page().url().fragment() == FIRST_HIT)


def test_a_thread_root_opens_the_whole_conversation_with_sent_replies(
    qtbot: QtBot, window: MainWindow, store: MailStore, mail: main_window_tests.RecordingMail
) -> None:
    inbox = store.folder_by_name("work", "INBOX")
    sent = store.folder_by_name("work", "Sent")
    assert inbox is not None and sent is not None
    store.add_messages(
        inbox.id,
        [
            _summary(11, "Plan", message_id="<p1@x>", flags=frozenset()),
            _summary(13, "Re: Plan", message_id="<p3@x>", in_reply_to="<p2@x>"),
        ],
    )
    store.add_messages(
        sent.id,
        [
            _summary(
                12,
                "Re: Plan",
                "Alice <alice@example.org>",
                message_id="<p2@x>",
                in_reply_to="<p1@x>",
            )
        ],
    )
    bodies = {
        "<p1@x>": "Shall we meet on Monday?",
        "<p2@x>": "Monday works.\n\n> Shall we meet on Monday?",
        "<p3@x>": "See you then.",
    }
    for summary in store.summaries(store.message_ids(inbox.id) + store.message_ids(sent.id)):
        if summary.message_id in bodies:
            store.save_body(
                summary.id,
                main_window_tests.plain_message(summary.subject, bodies[summary.message_id]),
            )
    main_window_tests._select_folder(window, "work", "INBOX")
    window.threads_action.trigger()
    model = window.message_model
    qtbot.waitUntil(lambda: model.index(0, 2).data() == "▾ Plan")
    window.message_view.setCurrentIndex(model.index(0, 2))
    root_id = model.message_id(0)
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.shown_kind() == "conversation")
    text = pane.conversation_view.toPlainText()
    assert "3 messages" in text
    assert text.index("Shall we meet") < text.index("Monday works") < text.index("See you then")
    assert "INBOX" in text and "Sent" in text
    # Opened is read, as a message shown alone (after the delay of the preferences).
    qtbot.waitUntil(lambda: ("set_flags", [root_id], {SEEN}, set()) in mail.calls, timeout=5000)
    # The quote in the reply is folded away until asked for.
    assert text.count("Shall we meet on Monday?") == 1
    reply = next(e for e in pane.conversation_view.conversation.entries if e.own)
    pane.conversation_view.anchorClicked.emit(QUrl(f"quote:{reply.message_id}"))
    assert pane.conversation_view.toPlainText().count("Shall we meet on Monday?") == 2
    # A reply alone shows alone.
    window.message_view.setCurrentIndex(model.index(1, 2))
    qtbot.waitUntil(lambda: pane.shown_kind() == "text")


def test_a_long_message_opens_at_its_first_hit(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    [quarterly] = store.message_ids(
        [f.id for f in store.folders() if f.account == "work"], quick_filter="quarterly"
    )
    filler = "Nothing to see on this line.\n" * 300
    store.save_body(
        quarterly, main_window_tests.plain_message("Quarterly report", filler + "The zeppelin.")
    )
    store.index_queued_bodies(indexed_text)
    window.filter_edit.setText("zeppelin")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    _open(qtbot, window, "Quarterly report")
    view = window.reading_pane.text_view
    bar = view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 0)
    # The hit is on screen: its line lies between the top and the bottom of the view.
    cursor = view.document().find("zeppelin")
    assert 0 <= view.cursorRect(cursor).top() < view.viewport().height()


def test_a_thread_root_not_downloaded_is_fetched_before_its_conversation_shows(
    qtbot: QtBot, window: MainWindow, store: MailStore, mail: main_window_tests.RecordingMail
) -> None:
    inbox = store.folder_by_name("work", "INBOX")
    assert inbox is not None
    store.add_messages(
        inbox.id,
        [
            _summary(21, "Trip", message_id="<t1@x>", flags=frozenset()),
            _summary(22, "Re: Trip", message_id="<t2@x>", in_reply_to="<t1@x>"),
        ],
    )
    [reply] = [s for s in store.summaries(store.message_ids(inbox.id)) if s.message_id == "<t2@x>"]
    store.save_body(reply.id, main_window_tests.plain_message("Re: Trip", "Booked."))
    main_window_tests._select_folder(window, "work", "INBOX")
    window.threads_action.trigger()
    model = window.message_model
    qtbot.waitUntil(lambda: model.index(0, 2).data() == "▾ Trip")
    root_id = model.message_id(0)
    window.message_view.setCurrentIndex(model.index(0, 2))
    # Its body is asked of the server, as for a message opened alone ...
    qtbot.waitUntil(lambda: ("fetch_body", root_id) in mail.calls, timeout=5000)
    pane = window.reading_pane
    assert pane.shown_kind() != "conversation"
    # ... and it is not marked read while nothing of it could be shown.
    qtbot.wait(window.mark_read_delay_ms() + 200)
    assert not any(c[0] == "set_flags" and root_id in c[1] for c in mail.calls)
    store.save_body(root_id, main_window_tests.plain_message("Trip", "Where shall we go?"))
    mail.body_fetched.emit(BodyFetched(root_id))
    qtbot.waitUntil(lambda: pane.shown_kind() == "conversation")
    assert "Where shall we go?" in pane.conversation_view.toPlainText()


def test_a_conversation_that_cannot_be_read_says_so_in_the_pane(
    qtbot: QtBot,
    window: MainWindow,
    store: MailStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = store.folder_by_name("work", "INBOX")
    assert inbox is not None
    store.add_messages(
        inbox.id,
        [
            _summary(31, "Tea", message_id="<c1@x>"),
            _summary(32, "Re: Tea", message_id="<c2@x>", in_reply_to="<c1@x>"),
        ],
    )

    def unreadable(*args: object) -> Conversation:
        raise MailclientError("The mail store could not be read.")

    monkeypatch.setattr(conversation_worker, "load_conversation", unreadable)
    main_window_tests._select_folder(window, "work", "INBOX")
    window.threads_action.trigger()
    model = window.message_model
    qtbot.waitUntil(lambda: model.index(0, 2).data() == "▾ Tea")
    window.message_view.setCurrentIndex(model.index(0, 2))
    pane = window.reading_pane
    qtbot.waitUntil(lambda: "could not be loaded" in pane.placeholder.text())
    assert "The mail store could not be read." in pane.placeholder.text()
    assert pane.headers.subject.text() == "Tea"
    assert any("could not be read" in r.getMessage() for r in caplog.records)


def test_a_conversation_opened_from_a_filter_marks_its_words_at_the_first_hit(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    inbox = store.folder_by_name("work", "INBOX")
    sent = store.folder_by_name("work", "Sent")
    assert inbox is not None and sent is not None
    store.add_messages(
        inbox.id,
        [
            _summary(11, "Plan", message_id="<p1@x>"),
            _summary(13, "Re: Plan", message_id="<p3@x>", in_reply_to="<p2@x>"),
        ],
    )
    store.add_messages(
        sent.id,
        [
            _summary(
                12,
                "Re: Plan",
                "Alice <alice@example.org>",
                message_id="<p2@x>",
                in_reply_to="<p1@x>",
            )
        ],
    )
    bodies = {
        "<p1@x>": "Nothing to see on this line.\n" * 300 + "Shall we meet on Monday?",
        "<p2@x>": "Monday works.\n\n> Shall we meet on Monday?",
        "<p3@x>": "See you then; we meet at noon.\n\n> Shall we meet on Monday?",
    }
    for summary in store.summaries(store.message_ids(inbox.id) + store.message_ids(sent.id)):
        if summary.message_id in bodies:
            store.save_body(
                summary.id,
                main_window_tests.plain_message(summary.subject, bodies[summary.message_id]),
            )
    store.index_queued_bodies(indexed_text)
    main_window_tests._select_folder(window, "work", "INBOX")
    window.threads_action.trigger()
    window.filter_edit.setText("meet")
    model = window.message_model
    qtbot.waitUntil(lambda: model.rowCount() == 2 and model.index(0, 2).data() == "▾ Plan")
    window.message_view.setCurrentIndex(model.index(0, 2))
    pane = window.reading_pane
    qtbot.waitUntil(lambda: pane.shown_kind() == "conversation")
    view = pane.conversation_view
    # The reply in Sent has the word in its quoted lines only: they are shown. The last
    # message has it in its own text: its quote stays folded away.
    assert marked_runs(view.document()) == ["meet", "meet", "meet"]
    text = view.toPlainText()
    assert text.count("Shall we meet on Monday?") == 2
    assert text.count("Hide quoted text") == 1 and text.count("Show quoted text") == 1
    # It opens at the first hit, 300 lines down the first message.
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0)
    cursor = view.document().find("Shall we meet")
    assert 0 <= view.cursorRect(cursor).top() < view.viewport().height()
    # Without the filter, the same conversation opens at its top, quotes folded.
    window.filter_edit.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 4 + 2)
    window.message_view.setCurrentIndex(model.index(1, 2))
    qtbot.waitUntil(lambda: pane.shown_kind() != "conversation")
    window.message_view.setCurrentIndex(model.index(0, 2))
    qtbot.waitUntil(lambda: pane.shown_kind() == "conversation")
    assert marked_runs(view.document()) == []
    assert view.toPlainText().count("Shall we meet on Monday?") == 1
    assert "Hide quoted text" not in view.toPlainText()
    assert view.verticalScrollBar().value() == 0
