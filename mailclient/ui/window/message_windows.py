"""Messages opened in windows of their own, and the actions those windows ask for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mailclient.core.models import MessageSummary, SpecialUse

if TYPE_CHECKING:
    from mailclient.ui.mailbox.message_window import MessageWindow
    from mailclient.ui.window.main_window import MainWindow


class MessageWindows:
    """MainWindow's messages opened in windows of their own."""

    def open_in_window(self: MainWindow) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        folder = self.folder_model.folder(summary.folder_id)
        compose = self.compose
        if compose is not None and folder is not None and folder.special_use is SpecialUse.DRAFTS:
            # A draft opens where it can be finished: in a compose window.
            self._with_current_raw(lambda s, raw: compose.open_server_draft(s.account, raw))
            return
        from mailclient.ui.mailbox.message_window import MessageWindow

        window = MessageWindow(
            summary, self._store.path, self._pool, self, highlight=self._search_words()
        )
        window.allow_remote = summary.id in self._remote_allowed
        self._show_message_window(window)

    def open_message_file(self: MainWindow, path: Path) -> None:
        """Show the message saved in ``path`` (a .eml file) in a message window."""
        from mailclient.ui.mailbox.message_file import MessageFileWindow

        self._show_message_window(MessageFileWindow(path, self._pool, self))

    def _show_message_window(self: MainWindow, window: MessageWindow) -> None:
        window.prefer_plain = self.prefer_plain_action.isChecked()
        window.closed.connect(
            lambda w=window: self._message_windows.remove(w) if w in self._message_windows else None
        )
        window.fetch_requested.connect(self._fetch_for_window)
        window.action_requested.connect(
            lambda name, shown, w=window: self._window_action(w, name, shown)
        )
        self._message_windows.append(window)
        window.show()
        window.load()

    def _window_action(
        self: MainWindow, window: MessageWindow, name: str, summary: MessageSummary
    ) -> None:
        """An action of a message window, carried out here for its message."""
        from mailclient.ui.mailbox.message_window import LEAVING

        compose = self.compose
        if name in ("reply", "replyAll", "forward"):
            if compose is None:
                return
            prepared = window.pane.prepared
            raw = (
                prepared.raw if prepared is not None and prepared.message_id == summary.id else None
            )
            if raw is None:
                window.statusBar().showMessage("The message is being downloaded; try again.", 5000)
                return
            if name == "forward":
                compose.forward(summary.account, raw)
            else:
                compose.reply(summary.account, raw, reply_all=name == "replyAll")
            return
        after = self._summary_after(summary) if name in LEAVING else None
        if name == "delete":
            self.delete_selected([summary])
        elif name == "archive":
            self.archive_selected([summary])
        elif name == "junk":
            self.set_junk(True, [summary])
        elif name == "toggleRead":
            self.toggle_read([summary])
        elif name == "toggleFlag":
            self.toggle_flag([summary])
        if name in LEAVING:
            if after is not None:
                window.show_summary(after)
            else:
                window.close()

    def _summary_after(self: MainWindow, summary: MessageSummary) -> MessageSummary | None:
        """The message listed after ``summary`` (else before it), as Thunderbird moves on."""
        row = self.message_model.row_of(summary.id)
        if row is None:
            return None
        for candidate in (row + 1, row - 1):
            if 0 <= candidate < self.message_model.rowCount():
                found = self.message_model.summary(candidate)
                if found is not None:
                    return found
        return None

    def _fetch_for_window(self: MainWindow, summary: MessageSummary) -> None:
        self._mail.fetch_body(summary)
