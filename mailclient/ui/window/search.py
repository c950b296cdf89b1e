"""The quick filter of the folder shown, and the search across every folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt

from mailclient import APP_NAME
from mailclient.core.query import parse_as_typed
from mailclient.ui.mailbox.message_model import Column

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


class SearchAndFilter:
    """MainWindow's quick filter and search across all mail."""

    def _filter_changed(self: MainWindow, text: str) -> None:
        self._filter_timer.start()

    def _escape(self: MainWindow) -> None:
        """Escape: out of a search, back to the folder; in the quick filter, clear it."""
        if self._searching:
            self.end_search()
        elif self.filter_edit.hasFocus() or self.filter_edit.text():
            self.clear_quick_filter()

    def clear_quick_filter(self: MainWindow) -> None:
        """Escape in the filter: every message again, the chosen one still chosen."""
        self.filter_edit.clear()
        self.message_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_quick_filter(self: MainWindow) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    @property
    def _searching(self: MainWindow) -> bool:
        return self.end_search_action.isEnabled()

    def focus_search(self: MainWindow) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def _run_search(self: MainWindow) -> None:
        """Show the messages of every folder of every account that match the search."""
        self._search_timer.stop()
        text = self.search_edit.text()
        if not text.strip():
            if self._searching:
                self.end_search()
            return
        _, problem = parse_as_typed(text)
        self.search_edit.setToolTip(str(problem) if problem else "")
        if problem is not None:
            self.statusBar().showMessage(str(problem), 5000)
        if not self._searching:
            self.end_search_action.setEnabled(True)
            for column in (Column.FOLDER, Column.ACCOUNT):
                self.message_view.setColumnHidden(column, False)
            self.filter_edit.blockSignals(True)
            self.filter_edit.clear()
            self.filter_edit.blockSignals(False)
            self.filter_edit.setEnabled(False)
            self.setWindowTitle(f"Search — {APP_NAME}")
        self.message_model.set_threaded(False)  # hits come newest first, from anywhere
        self.message_view.setSortingEnabled(True)
        folder_ids = [f.id for f in self._store.folders()]
        # Both read off the GUI thread; the same folders again: the filter's query alone,
        # not a second one over every folder.
        self.message_model.set_quick_filter(text)
        if folder_ids != self.message_model.folder_ids:
            self.message_model.show_folders(folder_ids)

    def end_search(self: MainWindow) -> None:
        """Escape: back to the folder shown before the search."""
        if not self._searching:
            return
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self._leave_search_mode()
        if self._shown_folder_key:
            self._select_folder_key(self._shown_folder_key, show=False)
        index = self.folder_view.currentIndex()
        if index.isValid():
            self._folder_changed(index, index)
        self.message_view.setFocus()

    def _leave_search_mode(self: MainWindow) -> None:
        self._search_timer.stop()
        self.end_search_action.setEnabled(False)
        self.filter_edit.setEnabled(True)
        for column in (Column.FOLDER, Column.ACCOUNT):
            self.message_view.setColumnHidden(column, True)
