"""The reading pane, the message window, the list and notifications against hostile mail.

Each test takes one message of the corpus (tests/hostile) and one thing it broke: the
width of the window, the time to show 20,000 addresses, what was cut and why, a look-alike
in a title, a missing Date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QToolBar
from pytestqt.qtbot import QtBot

from mailclient.core.models import MessageSummary
from mailclient.store.new_mail import NewMail
from mailclient.ui.mailbox.message_model import sender_name
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.mailbox.reading_pane import ReadingPane, _format_full_date
from mailclient.ui.mailbox.source_view import SourceWindow
from mailclient.ui.window.notifications import announce
from mailclient.workers import reading
from mailclient.workers.reading import PreparedMessage, prepare
from tests.hostile import corpus

WIDTH = 800  # narrower than the 1366-pixel screen where Reply was pushed off


@pytest.fixture
def pane(qtbot: QtBot) -> ReadingPane:
    pool = QThreadPool()
    widget = ReadingPane(pool)
    qtbot.addWidget(widget)
    widget.add_header_actions([QAction(name, widget) for name in ("Reply", "Reply All", "Forward")])
    widget.resize(WIDTH, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _prepared(raw: bytes, message_id: int = 1) -> PreparedMessage:
    return prepare(
        raw, message_id, prefer_plain=False, allow_remote=False, token="t", cid_base="mailpart:t/"
    )


def _summary(**fields: object) -> MessageSummary:
    return MessageSummary(id=1, account="work", folder_id=1, uid=1, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [corpus.long_subject(), corpus.real_long_subject()])
def test_a_long_subject_wraps_and_never_widens_the_pane(
    qtbot: QtBot, pane: ReadingPane, raw: bytes
) -> None:
    pane.show_prepared(_prepared(raw))
    qtbot.wait(50)
    assert pane.minimumSizeHint().width() < WIDTH
    assert pane.headers.minimumSizeHint().width() < WIDTH
    assert pane.width() == WIDTH
    bar = pane.headers.findChild(QToolBar, "headerActions")
    assert bar is not None and bar.isVisible()
    assert bar.geometry().right() <= pane.headers.width()
    # The subject wraps within the pane, a few lines at most.
    assert pane.headers.subject.height() < 12 * pane.headers.subject.fontMetrics().height()


def test_copying_a_wrapped_subject_gives_the_subject(qtbot: QtBot, pane: ReadingPane) -> None:
    pane.show_prepared(_prepared(corpus.real_long_subject()))
    label = pane.headers.subject
    assert "\u200b" in label.text()
    expected = corpus.REAL_LONG_SUBJECT.replace("\r\n\t", " ")
    assert len(expected) == 148
    label.setSelection(0, len(label.text()))
    label.copy_selection()  # the context menu's Copy
    assert QApplication.clipboard().text() == expected
    QApplication.clipboard().clear()
    label.setFocus()
    qtbot.keyClick(label, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == expected


def test_twenty_thousand_recipients_show_the_first_and_a_count(
    qtbot: QtBot, pane: ReadingPane
) -> None:
    raw = corpus.many_recipients()
    prepared = _prepared(raw)
    assert prepared.to.more == 9_990 and prepared.cc.more == 9_990
    pane.show_prepared(prepared)
    to, cc = (pane.headers.text(f).replace("\u200b", "") for f in ("To", "Cc"))
    assert "to0@example.org" in to and "to9@example.org" in to and "to10@" not in to
    assert "and 9,990 more" in to and "and 9,990 more" in cc
    assert len(to) < 2_000
    # Before the body is read, the window reads only the start of the stored header.
    summary = _summary(to=", ".join(f"to{n}@example.org" for n in range(10_000)))
    pane.show_loading(summary)
    to = pane.headers.text("To").replace("\u200b", "")
    assert "to9@example.org" in to and "and more…" in to and len(to) < 2_000


def test_what_was_cut_for_depth_is_said_and_the_source_is_offered(
    qtbot: QtBot, pane: ReadingPane
) -> None:
    pane.show_prepared(_prepared(corpus.deep_multipart()))
    assert pane.notice_bar.isVisible()
    assert "more than 30 levels deep" in pane.notice_bar.label.text()
    assert not pane.notice_bar.show_all_button.isVisible()
    assert pane.shown_kind() == "text"
    assert "Text at level 0." in pane.text_view.toPlainText()
    pane.notice_bar.source_button.click()
    [window] = pane.source_windows
    assert isinstance(window, SourceWindow)
    qtbot.waitUntil(lambda: "Loading" not in window.text.toPlainText()[:20])
    assert window.text.toPlainText().startswith("From: Mallory")
    window.close()


def test_view_source_shows_bidi_and_controls_escaped(qtbot: QtBot, pane: ReadingPane) -> None:
    pane.show_prepared(_prepared(corpus.bidi_and_invisible()))
    assert not pane.notice_bar.isVisible()
    pane.view_source_action.trigger()
    window = pane.source_windows[-1]
    qtbot.waitUntil(lambda: "Loading" not in window.text.toPlainText()[:20])
    text = window.text.toPlainText()
    assert "\\u202egnp.exe" in text and "pay\\u200bpal" in text
    assert "\u202e" not in text and "\u200b" not in text
    window.close()


def test_a_long_body_is_cut_and_shown_whole_on_request(
    qtbot: QtBot, pane: ReadingPane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "PLAIN_SHOWN", 1_000)
    body = "".join(f"Line {n}\n" for n in range(1_000))
    raw = corpus._message([("Subject", "Long")], corpus._plain(body))
    prepared = _prepared(raw)
    assert prepared.cut and prepared.shown_chars <= 1_000 < prepared.body_chars
    pane.show_prepared(prepared)
    assert pane.notice_bar.isVisible() and pane.notice_bar.show_all_button.isVisible()
    assert "Line 999" not in pane.text_view.toPlainText()
    pane.notice_bar.show_all_button.click()
    qtbot.waitUntil(lambda: pane.prepared is not None and not pane.prepared.cut)
    assert "Line 999" in pane.text_view.toPlainText()
    assert not pane.notice_bar.isVisible()


def test_html_is_cut_at_a_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "HTML_SHOWN", 10_000)
    raw = corpus.huge_html(200_000)
    prepared = _prepared(raw)
    assert prepared.cut and prepared.safe_html is not None
    assert prepared.shown_chars <= 10_000
    assert "</body></html>" in prepared.safe_html.document  # closed by the sanitizer
    assert "The end." not in prepared.safe_html.document


def test_a_message_without_date_shows_the_time_the_list_shows(
    qtbot: QtBot, pane: ReadingPane
) -> None:
    received = datetime(2024, 6, 7, 8, 9, tzinfo=UTC)
    summary = _summary(date=received, subject="A message without a Date")
    pane.show_loading(summary)
    assert pane.headers.text("Date") == _format_full_date(received)
    pane.show_prepared(_prepared(corpus.no_date()))
    assert pane.headers.text("Date") == _format_full_date(received)
    # Another message's date is never borrowed.
    pane.show_prepared(_prepared(corpus.no_date(), message_id=2))
    assert pane.headers.text("Date") == ""


def test_titles_list_and_notifications_show_no_bidi_or_invisible_characters(
    qtbot: QtBot, tmp_path: Path
) -> None:
    # As a store synced by an older version holds them.
    subject = "Invoice \u202egnp.exe pay\u200bpal"
    sender = "Pay\u2066Pal\u2069 <service@evil.example>"
    summary = _summary(subject=subject, sender=sender)
    window = MessageWindow(summary, tmp_path / "mail.sqlite3", QThreadPool())
    qtbot.addWidget(window)
    assert window.windowTitle().startswith("Invoice gnp.exe paypal — ")
    assert sender_name(sender) == "PayPal"
    said = announce(NewMail(1, [summary]))
    assert said is not None
    assert (said.summary, said.body) == ("PayPal", "Invoice gnp.exe paypal")
    long = MessageWindow(_summary(subject="A" * 20_000), tmp_path / "m.sqlite3", QThreadPool())
    qtbot.addWidget(long)
    assert len(long.windowTitle()) < 250
