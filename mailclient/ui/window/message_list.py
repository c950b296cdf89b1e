"""The message list and the reading pane: the chosen message read, shown and marked read."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QMenu

from mailclient.core.errors import MailclientError
from mailclient.core.models import SEEN, MessageSummary
from mailclient.core.query import parse_as_typed
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.mailbox.reading_pane import load_job
from mailclient.workers.events import BodyFailed, BodyFetched
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.mime.highlight import HighlightTerm
    from mailclient.ui.window.main_window import MainWindow
    from mailclient.workers.conversation import Conversation
    from mailclient.workers.reading import PreparedMessage

log = logging.getLogger(__name__)


class MessageList:
    """MainWindow's message list and reading pane."""

    def _remember_current(self: MainWindow) -> None:
        index = self.message_view.currentIndex()
        self._current_before_reset = index.data(MessageRole.ID) if index.isValid() else None

    def _list_reset(self: MainWindow) -> None:
        # A new filter or sort keeps the chosen message chosen, if it is still listed.
        row = (
            self.message_model.row_of(self._current_before_reset)
            if self._current_before_reset is not None
            else None
        )
        self._current_before_reset = None
        if row is not None:
            self.message_view.selectionModel().setCurrentIndex(
                self.message_model.index(row, Column.SUBJECT),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.message_view.scrollTo(self.message_view.currentIndex())
        else:
            self.reading_pane.show_placeholder(self._placeholder_text())
        self._update_count()
        self._update_actions()

    def _choose_wanted(self: MainWindow) -> None:
        """The message asked for while its list was on its way (by show_message(), or the
        one chosen when the window last closed), as soon as it is listed."""
        if self._wanted_message is None:
            return
        row = self.message_model.row_of(self._wanted_message)
        if row is None:
            return
        self._wanted_message = None
        if self._wanted_takes_focus:
            self.message_view.setFocus()
        self.message_view.setCurrentIndex(self.message_model.index(row, Column.SUBJECT))
        # In the middle: the list may still lose height to the reading pane's first build.
        self.message_view.scrollTo(
            self.message_view.currentIndex(), QAbstractItemView.ScrollHint.PositionAtCenter
        )

    def _wanted_not_listed(self: MainWindow) -> None:
        """The list is shown whole (a read ended, or threads were collapsed): the message
        asked for is chosen, or forgotten if it is not in it. Rows inserted one run after
        another do not tell that the list is whole."""
        self._choose_wanted()
        self._forget_wanted()

    def _forget_wanted(self: MainWindow, *args: object) -> None:
        """No message waits to be chosen: the person chose in the list, or it could not be
        read."""
        self._wanted_message = None

    def _placeholder_text(self: MainWindow) -> str:
        if self.message_model.rowCount() == 0:
            if self._searching:
                return "No message in any folder matches the search."
            if self.message_model.quick_filter:
                return "No message matches the filter."
            return "This folder is empty."
        return "No message selected"

    def _update_count(self: MainWindow, *args: object) -> None:
        count = self.message_model.rowCount()
        self.count_label.setText(f"{count:,} message{'s' if count != 1 else ''}")

    def selected_summaries(self: MainWindow) -> list[MessageSummary]:
        rows = sorted({i.row() for i in self.message_view.selectionModel().selectedRows()})
        if not rows and self.message_view.currentIndex().isValid():
            rows = [self.message_view.currentIndex().row()]
        return [s for s in (self.message_model.summary(r) for r in rows) if s is not None]

    def _update_actions(self: MainWindow, *args: object) -> None:
        has = bool(self.message_view.selectionModel().selectedRows()) or (
            self.message_view.currentIndex().isValid()
        )
        for action in self.message_actions:
            action.setEnabled(has and bool(self._accounts))
        self.load_remote_action.setEnabled(
            self.reading_pane.prepared is not None
            and self.reading_pane.prepared.safe_html is not None
            and self.reading_pane.prepared.safe_html.remote_blocked > 0
        )

    def _message_changed(self: MainWindow, current: QModelIndex, previous: QModelIndex) -> None:
        self._mark_read_timer.stop()
        self._update_actions()
        if not current.isValid():
            return
        summary = self.message_model.summary(current.row())
        if summary is None:
            return
        if summary.id != self.reading_pane.message_id:
            self.reading_pane.show_loading(summary, "")
        self._show_timer.start()

    def _show_current_message(self: MainWindow) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        self._load_message(summary)

    def _search_words(self: MainWindow) -> list[HighlightTerm]:
        """What a message opened now marks: the words of the search or the filter that
        lists it (none without either)."""
        return parse_as_typed(self.message_model.quick_filter)[0].highlights()

    def _load_message(self: MainWindow, summary: MessageSummary) -> None:
        highlight = self._search_words()
        if self.message_model.starts_conversation(summary.id):
            from mailclient.ui.mailbox.conversation import conversation_job

            # A thread's first message opens its whole conversation (one message alone
            # when the rest are gone meanwhile).
            def read(conversation: Conversation) -> None:
                if conversation.root != self.reading_pane.message_id:
                    return  # another message was chosen meanwhile
                if any(e.message_id == summary.id and e.body is None for e in conversation.entries):
                    # Not downloaded: alone, it is fetched (and its conversation follows).
                    self._load_one(summary, highlight)
                elif not self.reading_pane.show_conversation(conversation):
                    self._load_one(summary, highlight)
                elif not summary.seen and self.mark_read_delay_ms() >= 0:
                    self._mark_read_timer.start(self.mark_read_delay_ms())

            run_task(
                self,
                conversation_job(self._store.path, summary.id, highlight),
                read,
                lambda error: self._conversation_failed(summary, error),
            )
            return
        self._load_one(summary, highlight)

    def _load_one(
        self: MainWindow, summary: MessageSummary, highlight: list[HighlightTerm]
    ) -> None:
        job = load_job(
            self._store.path,
            summary.id,
            prefer_plain=self.prefer_plain_action.isChecked(),
            allow_remote=summary.id in self._remote_allowed,
            highlight=highlight,
        )
        run_task(
            self,
            job,
            lambda prepared: self._message_loaded(summary, prepared),
            lambda error: self._body_failed(BodyFailed(summary.id, error_text(error))),
        )

    def _message_loaded(
        self: MainWindow, summary: MessageSummary, prepared: PreparedMessage | None
    ) -> None:
        current = self.message_view.currentIndex()
        if not current.isValid() or current.data(MessageRole.ID) != summary.id:
            return
        if prepared is None:
            self.reading_pane.show_loading(summary, "Loading message…")
            self._mail.fetch_body(summary)
            return
        self.reading_pane.show_prepared(prepared)
        self._update_actions()
        delay = self.mark_read_delay_ms()
        if not summary.seen and delay >= 0:
            self._mark_read_timer.start(delay)

    def _conversation_failed(self: MainWindow, summary: MessageSummary, error: Exception) -> None:
        # A bug is logged with its traceback by the task; our errors (the store unreadable)
        # are logged here, and shown in the pane as a message's own failure is.
        if isinstance(error, MailclientError):
            log.warning("The conversation of message %d could not be read: %s", summary.id, error)
        if self.reading_pane.message_id == summary.id:
            self.reading_pane.show_loading(
                summary, f"The conversation could not be loaded. {error_text(error)}"
            )

    def _mark_current_read(self: MainWindow) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None or summary.seen or summary.id != self.reading_pane.message_id:
            return
        self._set_flags([summary], add=frozenset({SEEN}))

    def _body_fetched(self: MainWindow, event: BodyFetched) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if (
            summary is not None
            and summary.id == event.message_id
            and self.reading_pane.prepared is None
        ):
            self._load_message(summary)
        for window in self._message_windows:
            window.body_fetched(event.message_id)

    def _body_failed(self: MainWindow, event: BodyFailed) -> None:
        index = self.message_view.currentIndex()
        if index.isValid() and index.data(MessageRole.ID) == event.message_id:
            summary = self.message_model.summary(index.row())
            if summary is not None:
                self.reading_pane.show_loading(
                    summary, f"The message could not be loaded. {event.message}"
                )

    def _column_menu(self: MainWindow, position: Any) -> None:
        """Right-click on the list's header: which columns to show (the subject always)."""
        header = self.message_view.header()
        menu = QMenu(self)
        menu.setObjectName("columnMenu")
        self._fill_column_menu(menu)
        menu.exec(header.viewport().mapToGlobal(position))

    def _fill_column_menu(self: MainWindow, menu: QMenu) -> None:
        header = self.message_view.header()
        for column in Column:
            if column is Column.SUBJECT:
                continue
            action = menu.addAction(
                str(
                    self.message_model.headerData(
                        column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
                    )
                )
            )
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            action.toggled.connect(lambda shown, c=column: header.setSectionHidden(c, not shown))

    def _context_menu(self: MainWindow, position: Any) -> None:
        if not self.message_view.indexAt(position).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.open_window_action)
        menu.addSeparator()
        if self.compose_actions:
            menu.addActions(self.compose_actions)
            menu.addSeparator()
        menu.addAction(self.toggle_read_action)
        menu.addAction(self.toggle_flag_action)
        menu.addAction(self.archive_action)
        menu.addAction(self.junk_action)
        menu.addAction(self.not_junk_action)
        menu.addMenu(self.tag_menu)
        menu.addMenu(self.move_menu)
        menu.addMenu(self.copy_menu)
        menu.addAction(self.delete_action)
        menu.exec(self.message_view.viewport().mapToGlobal(position))

    def load_remote_content(self: MainWindow) -> None:
        message_id = self.reading_pane.message_id
        if message_id is None:
            return
        self._remote_allowed.add(message_id)
        self._show_current_message()
