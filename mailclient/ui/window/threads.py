"""View ▸ Threads: the list grouped by conversation, remembered for each folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailclient.ui.mailbox.message_model import Column

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


class ThreadsView:
    """MainWindow's View ▸ Threads."""

    def _threads_toggled(self: MainWindow, threaded: bool) -> None:
        """View ▸ Threads, remembered for each folder."""
        if self._shown_folder_key and not self._searching:
            self._settings.setValue(f"threads/{self._shown_folder_key}", threaded)
        self.message_model.set_threaded(threaded)
        self.message_view.setSortingEnabled(not threaded)

    def _collapse_current(self: MainWindow, collapsed: bool) -> None:
        self._forget_wanted()  # a key of the person's, handled before the list sees it
        row = self.message_view.currentIndex().row()
        thread = self.message_model.thread_of(row)
        if thread is None:
            return
        message_id = self.message_model.message_id(row)
        self.message_model.set_collapsed({thread}, collapsed)
        # The cursor stays on the message, or goes to its thread's first one when hidden.
        new_row = self.message_model.row_of(message_id) if message_id is not None else None
        if new_row is None:
            new_row = next(
                (
                    r
                    for r in range(self.message_model.rowCount())
                    if self.message_model.thread_of(r) == thread
                ),
                None,
            )
        if new_row is not None:
            self.message_view.setCurrentIndex(self.message_model.index(new_row, Column.SUBJECT))
