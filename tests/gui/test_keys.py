"""The keys of the main window and the message window: none bound twice, and each one works.

The window is the one of test_main_window.py (a store filled directly, a recording stand-in
for the workers).
"""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

from collections import defaultdict

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from mailclient.core.models import SEEN, SpecialUse
from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.widgets.shortcuts import MAIN_WINDOW, MESSAGE_WINDOW
from mailclient.ui.window.main_window import MainWindow
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    RecordingMail,
    _open,
    _row,
    _summary,
    mail,
    profile,
    settings,
    store,
    window,
)

WINDOW_WIDE = (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut)


def bound_keys(top: QWidget) -> dict[str, list[str]]:
    """Key -> the actions and shortcuts of ``top`` (and its children) that it triggers.

    A key bound for one widget only (a label's Ctrl+C) is listed as "name@widget": such
    keys clash with each other only on the same widget, and with any window-wide one.
    """
    found: dict[str, list[str]] = defaultdict(list)
    owners: list[QObject] = [top, *top.findChildren(QObject)]
    seen: set[int] = set()
    for owner in owners:
        items: list[tuple[QAction | QShortcut, QObject]] = []
        if isinstance(owner, QWidget):
            items += [(action, owner) for action in owner.actions()]
        if isinstance(owner, QShortcut):
            items.append((owner, owner.parent()))
        for item, where in items:
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, QShortcut):
                sequences, context = [item.key()], item.context()
            else:
                sequences, context = item.shortcuts(), item.shortcutContext()
            name = item.objectName() or (item.text() if isinstance(item, QAction) else "?")
            if context not in WINDOW_WIDE:
                name = f"{name}@{id(where)}"
            for sequence in sequences:
                if not sequence.isEmpty():
                    found[sequence.toString()].append(name)
    return found


def clashes(top: QWidget) -> dict[str, list[str]]:
    """Keys bound twice window-wide, or twice on one widget, or on a widget and window-wide."""
    result = {}
    for key, names in bound_keys(top).items():
        wide = [n for n in names if "@" not in n]
        local = [n for n in names if "@" in n]
        per_widget = defaultdict(list)
        for n in local:
            per_widget[n.split("@")[1]].append(n)
        if len(wide) > 1 or (wide and local) or any(len(v) > 1 for v in per_widget.values()):
            result[key] = names
    return result


def activate(qtbot: QtBot, window: MainWindow) -> None:
    """Make the window the active one (on X11 key events go only to the active window)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


def test_the_tables_bind_no_key_twice() -> None:
    for table in (MAIN_WINDOW, MESSAGE_WINDOW):
        seen: dict[str, str] = {}
        for name, texts in table.items():
            for text in texts:
                key = QKeySequence(text).toString()
                assert key, text
                assert key not in seen, f"{key} is bound to {seen[key]} and {name}"
                seen[key] = name


def test_no_key_is_bound_twice_in_the_main_window(window: MainWindow) -> None:
    assert clashes(window) == {}
    # And every key of the table is in use: the table is the one place keys come from.
    bound = bound_keys(window)
    for name, texts in MAIN_WINDOW.items():
        for text in texts:
            names = [n.split("@")[0] for n in bound[QKeySequence(text).toString()]]
            assert name in names, (name, text)


def test_no_key_is_bound_twice_in_the_message_window(qtbot: QtBot, window: MainWindow) -> None:
    _open(qtbot, window, "Lunch on Friday?")
    window.open_in_window()
    message_window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MessageWindow))
    assert clashes(message_window) == {}
    message_window.close()


def test_ctrl_q_quits(qtbot: QtBot, window: MainWindow) -> None:
    activate(qtbot, window)
    window.message_view.setFocus()
    qtbot.waitUntil(window.message_view.hasFocus)
    qtbot.keyClick(window.message_view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible())


def test_home_and_end_go_to_the_first_and_last_message(qtbot: QtBot, window: MainWindow) -> None:
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    last = window.message_model.rowCount() - 1
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex().row() == last
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 0


def test_escape_clears_the_filter_and_keeps_the_selection(qtbot: QtBot, window: MainWindow) -> None:
    activate(qtbot, window)
    _open(qtbot, window, "Quarterly report")
    chosen = window.message_view.currentIndex().data(MessageRole.ID)
    window.focus_quick_filter()
    qtbot.keyClicks(window.filter_edit, "quarter")
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 1)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)
    assert window.filter_edit.text() == ""
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 5)
    assert window.message_view.currentIndex().data(MessageRole.ID) == chosen
    assert window.message_view.hasFocus()
    assert window.reading_pane.message_id == chosen


def test_fast_key_repeats_move_one_row_each(
    qtbot: QtBot, window: MainWindow, store: MailStore, mail: RecordingMail
) -> None:
    """Ten Down presses 0.1 s apart move ten rows, though HTML messages load meanwhile."""
    folder = store.folder_by_name("work", "INBOX")
    assert folder is not None
    html = (
        b"From: a@example.org\r\nSubject: html\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Hello <a href='https://example.org'>there</a></p>"
    )
    store.add_messages(
        folder.id, [_summary(100 + n, f"html {n:02d}", flags=frozenset({SEEN})) for n in range(12)]
    )
    for message_id in store.message_ids(folder.id, quick_filter="html"):
        store.save_body(message_id, html)
    window.message_model.refresh()
    qtbot.waitUntil(lambda: window.message_model.rowCount() == 17)
    activate(qtbot, window)
    _open(qtbot, window, "html 11")
    start = window.message_view.currentIndex().row()
    for _ in range(10):
        # A key goes to the focus widget of the active window; with none, it is lost.
        target = QApplication.focusWidget()
        if target is not None:
            qtbot.keyClick(target, Qt.Key.Key_Down)
        qtbot.wait(100)
    assert window.message_view.currentIndex().row() == start + 10
    assert window.message_view.hasFocus()


def test_space_keeps_paging_after_an_html_message(
    qtbot: QtBot, window: MainWindow, store: MailStore
) -> None:
    folder = store.folder_by_name("work", "INBOX")
    assert folder is not None
    html = (
        b"From: a@example.org\r\nSubject: Quarterly report\r\nContent-Type: text/html\r\n\r\n"
        + b"".join(b"<p>line %d</p>" % i for i in range(300))
    )
    report = store.message_ids(folder.id, quick_filter="quarterly")[0]
    store.save_body(report, html)
    activate(qtbot, window)
    _open(qtbot, window, "Quarterly report")
    qtbot.waitUntil(lambda: window.reading_pane.shown_kind() == "html")
    html_view = window.reading_pane.html_view
    assert html_view is not None
    with qtbot.waitSignal(html_view.loaded, timeout=10_000):
        pass
    qtbot.wait(200)
    target = QApplication.focusWidget()
    assert target is window.message_view
    scrolled = []
    html_view.page().scrollPositionChanged.connect(lambda point: scrolled.append(point.y()))
    qtbot.keyClick(target, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(scrolled) and scrolled[-1] > 0, timeout=5000)


def test_new_keys_archive_junk_and_mark_folder_read(
    qtbot: QtBot, window: MainWindow, mail: RecordingMail, store: MailStore
) -> None:
    activate(qtbot, window)
    _open(qtbot, window, "Quarterly report")
    view = window.message_view
    message_id = view.currentIndex().data(MessageRole.ID)
    archive = store.folder_by_name("work", "Archive")
    assert archive is not None
    qtbot.keyClick(view, Qt.Key.Key_A)
    assert ("move", [message_id], archive.id) in mail.calls
    junk = store.add_folder("work", "Junk", "/", SpecialUse.JUNK)
    window.folder_model.reload()
    view.setCurrentIndex(window.message_model.index(_row(window, "Flagged one"), Column.SUBJECT))
    flagged = view.currentIndex().data(MessageRole.ID)
    qtbot.keyClick(view, Qt.Key.Key_J)
    assert ("set_flags", [flagged], {"$Junk"}, {"$NotJunk"}) in mail.calls
    assert ("move", [flagged], junk.id) in mail.calls
    unread = [
        window.message_model.index(r, 0).data(MessageRole.ID)
        for r in range(window.message_model.rowCount())
        if not window.message_model.summary(r).seen  # type: ignore[union-attr]
    ]
    assert len(unread) == 2
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(
        lambda: (
            ("set_flags", sorted(unread), {SEEN}, set())
            in [(c[0], sorted(c[1]), *c[2:]) for c in mail.calls if c[0] == "set_flags"]
        )
    )
