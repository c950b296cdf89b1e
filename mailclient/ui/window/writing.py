"""Writing mail from the main window: compose actions, the Outbox as a folder, and what
sending tells the window (a refused message, a draft sent, an original to flag)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from mailclient.core.models import SpecialUse
from mailclient.ui.widgets.error_bar import ShownError
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.smtp.sender import FlushReport
    from mailclient.ui.compose.manager import ComposeManager
    from mailclient.ui.outbox.view import OutboxView
    from mailclient.ui.window.main_window import MainWindow
    from mailclient.workers.sending import OriginalToFlag


class Writing:
    """MainWindow's part in writing mail, set up by attach_compose()."""

    compose: ComposeManager | None
    outbox_view: OutboxView | None

    def _build_writing_actions(self: MainWindow) -> None:
        """New, Reply, Reply All, Forward... in the menus and the toolbar from the start, so
        that the toolbar does not change under the user when compose is attached after the
        first paint; they act once attach_compose() was called (before any input, in the
        application: app.gui.after_first_paint)."""
        new = self._action(
            "&New Message",
            lambda: self._new_message(),
            "write",
            "Write (Ctrl+N)",
            "new",
        )
        new.setIconText("Write")
        reply = self._action(
            "&Reply", lambda: self._reply(False), "reply", "Reply (Ctrl+R)", "reply"
        )
        reply_all = self._action(
            "Reply &All",
            lambda: self._reply(True),
            "reply-all",
            "Reply to all (Ctrl+Shift+R)",
            "replyAll",
        )
        forward = self._action("For&ward", self._forward, "forward", "Forward (Ctrl+L)", "forward")
        forward_attached = self._action(
            "Forward as Attac&hment",
            lambda: self._forward(as_attachment=True),
            "forward",
            "Forward the whole message as an attachment",
            "forwardAsAttachment",
        )
        add_sender = self._action(
            "Add Sender to Address &Book",
            self._add_sender_to_address_book,
            "",
            "Keep the sender of the selected messages in the address book",
            "addSenderToAddressBook",
        )
        address_book = self._action(
            "&Address Book",
            self._open_address_book,
            "",
            "Address Book (Ctrl+Shift+B)",
            "addressBook",
        )
        self.compose_actions = [reply, reply_all, forward]
        self.message_actions += [*self.compose_actions, forward_attached, add_sender]
        self.file_menu.insertAction(self.file_menu.actions()[0], address_book)
        self.file_menu.insertAction(self.file_menu.actions()[0], new)
        first = self.message_menu.actions()[0]
        self.message_menu.insertActions(
            first, [new, *self.compose_actions, forward_attached, add_sender]
        )
        self.message_menu.insertSeparator(first)
        toolbar_first = self.toolbar.actions()[0]
        self.toolbar.insertActions(toolbar_first, [new, *self.compose_actions])
        self.toolbar.insertSeparator(toolbar_first)

    def attach_compose(self: MainWindow, compose: ComposeManager, outbox_view: OutboxView) -> None:
        """Writing mail: what New, Reply, Reply All and Forward act with, the undo-send bar,
        and the Outbox as a folder."""
        from mailclient.ui.compose.undo_send import UndoSendBar

        self.compose = compose
        self.outbox_view = outbox_view
        compose.undo_send_seconds = self._preferences.undo_send_seconds
        self.undo_send_bar = UndoSendBar(compose.outbox.edit, compose.outbox.send_now, self)
        self._page_layout.insertWidget(0, self.undo_send_bar)
        compose.outbox.held.connect(self.undo_send_bar.hold)
        compose.outbox.released.connect(self.undo_send_bar.forget)
        compose.outbox.notice.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        self.reading_pane.add_header_actions(self.compose_actions)

        self.splitter.addWidget(outbox_view)
        outbox_view.hide()
        self.folder_model.show_outbox()
        self.folder_model.set_outbox_count(outbox_view.model.rowCount())
        outbox_view.count_changed.connect(self.folder_model.set_outbox_count)
        outbox_view.refresh()
        compose.notice.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        compose.outbox.failed.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        compose.outbox.original_sent.connect(self._flag_original)
        compose.outbox.server_folder_changed.connect(self._sync_special_folder)
        compose.outbox.flushed.connect(self._outbox_flushed)
        compose.outbox.draft_sent.connect(self._draft_sent)
        self._update_actions()

    def _new_message(self: MainWindow) -> None:
        if self.compose is None:
            return
        summary = self.selected_summaries()
        account = summary[0].account if summary else None
        self.compose.new_message(account, parent=self)

    def _reply(self: MainWindow, reply_all: bool) -> None:
        compose = self.compose
        if compose is not None:
            self._with_current_raw(
                lambda s, raw: compose.reply(s.account, raw, reply_all=reply_all)
            )

    def _open_address_book(self: MainWindow) -> None:
        if self.compose is not None:
            self.compose.open_address_book(self)

    def _add_sender_to_address_book(self: MainWindow) -> None:
        compose = self.compose
        if compose is None:
            return
        from email.utils import getaddresses

        for name, address in getaddresses([s.sender for s in self.selected_summaries()]):
            if "@" in address:
                compose.contacts.add(name, address)
        self.statusBar().showMessage("Added to the address book", 3000)

    def _forward(self: MainWindow, *, as_attachment: bool = False) -> None:
        compose = self.compose
        if compose is not None:
            self._with_current_raw(
                lambda s, raw: compose.forward(s.account, raw, as_attachment=as_attachment)
            )

    def _with_current_raw(self: MainWindow, use: Any) -> None:
        """Call ``use(summary, raw)`` for the current message, reading it off this thread."""
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        prepared = self.reading_pane.prepared
        if prepared is not None and prepared.message_id == summary.id:
            use(summary, prepared.raw)
            return
        path = self._store.path

        def read() -> bytes | None:
            from mailclient.workers.reading import thread_store

            return thread_store(path).body(summary.id)

        def done(raw: bytes | None) -> None:
            if raw is not None:
                use(summary, raw)
                return
            self.statusBar().showMessage("The message is being downloaded; try again.", 5000)
            self._mail.fetch_body(summary)

        run_task(
            self, read, done, lambda error: self.error_bar.show_error(ShownError(error_text(error)))
        )

    def _outbox_flushed(self: MainWindow, report: FlushReport) -> None:
        """A message the server refused waits for the user: say so here, not only in the
        Outbox (with Retry); one that went out clears what was said about it."""
        from mailclient.smtp.sender import Outcome  # loaded by the outbox worker already

        outbox = self.compose.outbox if self.compose is not None else None
        for result in report.results:
            key = f"outbox:{result.item_id}"
            if result.outcome is Outcome.FAILED and outbox is not None:
                subject = result.subject or "(no subject)"
                reason = result.error or "; ".join(
                    f"{r.recipient}: {r.code} {r.reply}" for r in result.refused
                )
                self.error_bar.show_error(
                    ShownError(
                        f"“{subject}” was not sent: {reason} It waits in the Outbox.",
                        functools.partial(outbox.retry, result.item_id),
                        key=key,
                    )
                )
            elif result.outcome is Outcome.SENT:
                self.error_bar.clear_key(key)

    def _sync_special_folder(self: MainWindow, account: str, use: SpecialUse) -> None:
        """We appended to (or expunged from) this folder: show it as it is now."""
        folder = self._special_folder(account, use)
        if folder is not None:
            self._mail.sync(account, [folder.name])

    def _draft_sent(self: MainWindow, account: str, message_id: str) -> None:
        """A draft from the Drafts folder went to the outbox: out of the list at once (the
        outbox worker removes it from the server too; a second expunge finds nothing)."""
        mail, path = self._mail, self._store.path
        drafts = self._special_folder(account, SpecialUse.DRAFTS)
        if drafts is None:
            return

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            store = thread_store(path)
            ids = store.ids_with_message_id(account, message_id)
            return [loc.id for loc in store.locations(ids) if loc.folder_id == drafts.id]

        run_task(self, find, lambda ids: mail.expunge(ids) if ids else None, pool=self._pool)

    def _flag_original(self: MainWindow, target: OriginalToFlag) -> None:
        """A reply or forward went out: flag what it answered, here and on the server."""
        mail, path = self._mail, self._store.path

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            return thread_store(path).ids_with_message_id(target.account, target.message_id)

        run_task(self, find, lambda ids: mail.set_flags(ids, frozenset({target.flag}), frozenset()))
