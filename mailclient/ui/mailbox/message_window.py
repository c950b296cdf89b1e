"""A message in its own window (Enter in the message list), with the main window's actions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QAction, QCloseEvent, QShortcut
from PySide6.QtWidgets import QMainWindow, QToolBar, QWidget

from mailclient import APP_NAME
from mailclient.core.models import MessageSummary
from mailclient.mime.decode import without_invisible
from mailclient.mime.highlight import HighlightTerm
from mailclient.ui.mailbox.message_model import star_icon
from mailclient.ui.mailbox.printing import ask_and_print
from mailclient.ui.mailbox.reading_pane import ReadingPane, load_job
from mailclient.ui.widgets.icons import icon
from mailclient.ui.widgets.shortcuts import MESSAGE_WINDOW, key_hint, keys
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.workers.reading import PreparedMessage

# (object name, menu text, icon, toolbar text): what the window offers, in toolbar order.
ACTIONS = (
    ("reply", "&Reply", "reply", "Reply"),
    ("replyAll", "Reply &All", "reply-all", "Reply All"),
    ("forward", "For&ward", "forward", "Forward"),
    ("archive", "&Archive", "archive", "Archive"),
    ("junk", "Mark as &Junk", "junk", "Junk"),
    ("delete", "&Delete", "delete", "Delete"),
    ("toggleRead", "Mark as &Read/Unread", "mark-read", ""),
    ("toggleFlag", "&Flag/Unflag", "", ""),
)
# After these the message leaves its folder: the window moves on to the next one.
LEAVING = frozenset({"archive", "junk", "delete"})


_TITLE_CHARS = 200


class MessageWindow(QMainWindow):
    """Shows one message; the body is fetched by the main window's workers if needed.

    Its actions are carried out by the main window (``action_requested``), which then
    shows the next message here (show_summary) after the message left its folder.

    Opened from a search or a filtered list, it marks the words looked for (``highlight``)
    as the reading pane does, and keeps marking them after the search is left: it was
    opened for them.
    """

    # The actions this window offers (object names from ACTIONS); all, for a stored message.
    offered: frozenset[str] = frozenset(name for name, *_ in ACTIONS)

    closed = Signal()
    fetch_requested = Signal(MessageSummary)
    action_requested = Signal(str, object)  # an action's object name, the MessageSummary

    def __init__(
        self,
        summary: MessageSummary,
        store_path: Path,
        pool: QThreadPool,
        parent: QWidget | None = None,
        highlight: Sequence[HighlightTerm] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("messageWindow")
        self.summary = summary
        self.highlight = tuple(highlight)
        self.prefer_plain = False
        self.allow_remote = False
        self._store_path = store_path
        self._pool = pool
        self.pane = ReadingPane(pool, self)
        self.pane.load_remote_requested.connect(self._allow_remote)
        self.pane.link_hovered.connect(lambda target: self.statusBar().showMessage(target))
        self.setCentralWidget(self.pane)
        self.resize(860, 760)
        self._build_actions()
        for sequence in keys(MESSAGE_WINDOW, "close"):
            QShortcut(sequence, self, self.close).setObjectName("close")
        space = QShortcut(keys(MESSAGE_WINDOW, "pageDown")[0], self, self.pane.page_down)
        space.setObjectName("pageDown")
        self._show_title()

    def _build_actions(self) -> None:
        toolbar = QToolBar("Message", self)
        toolbar.setObjectName("messageToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        menu = self.menuBar().addMenu("&Message")
        self.actions_by_name: dict[str, QAction] = {}
        for name, text, icon_name, short in ACTIONS:
            if name not in self.offered:
                continue
            action = QAction(text, self)
            action.setObjectName(name)
            if icon_name:
                action.setIcon(icon(icon_name))
            elif name == "toggleFlag":
                action.setIcon(star_icon())
            action.setShortcuts(keys(MESSAGE_WINDOW, name))
            hint = key_hint(MESSAGE_WINDOW, name)
            action.setToolTip(f"{text.replace('&', '')} ({hint})" if hint else text)
            action.triggered.connect(
                lambda _=False, n=name: self.action_requested.emit(n, self.summary)
            )
            self.addAction(action)
            menu.addAction(action)
            if short:
                action.setIconText(short)
                toolbar.addAction(action)
            self.actions_by_name[name] = action
        self.addToolBar(toolbar)
        self.toolbar = toolbar
        file_menu = self.menuBar().addMenu("&File")
        self.print_action = QAction("&Print…", self)
        self.print_action.setObjectName("print")
        self.print_action.setShortcuts(keys(MESSAGE_WINDOW, "print"))
        self.print_action.triggered.connect(lambda: ask_and_print(self, self.pane.prepared))
        self.addAction(self.print_action)
        file_menu.addAction(self.print_action)
        # File comes first, as in every window.
        self.menuBar().insertMenu(menu.menuAction(), file_menu)

    def _show_title(self) -> None:
        subject = without_invisible(self.summary.subject)
        if len(subject) > _TITLE_CHARS:
            subject = subject[:_TITLE_CHARS].rstrip() + "…"
        self.setWindowTitle(f"{subject or '(no subject)'} — {APP_NAME}")

    def show_summary(self, summary: MessageSummary) -> None:
        """Show another message here (the next one, after Delete or Archive)."""
        self.summary = summary
        self.allow_remote = False
        self._show_title()
        self.load()

    def load(self) -> None:
        self.pane.show_loading(self.summary)
        job = load_job(
            self._store_path,
            self.summary.id,
            prefer_plain=self.prefer_plain,
            allow_remote=self.allow_remote,
            highlight=self.highlight,
        )
        shown = self.summary.id
        run_task(self, job, lambda prepared: self._loaded(shown, prepared), pool=self._pool)

    def _loaded(self, message_id: int, prepared: PreparedMessage | None) -> None:
        if message_id != self.summary.id:
            return  # the window moved on meanwhile
        if prepared is None:
            self.fetch_requested.emit(self.summary)
            return
        self.pane.show_prepared(prepared)

    def body_fetched(self, message_id: int) -> None:
        if message_id == self.summary.id and self.pane.prepared is None:
            self.load()

    def _allow_remote(self) -> None:
        self.allow_remote = True
        self.load()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)
