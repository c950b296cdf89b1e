"""What the user does to messages: read, flag, tag, junk, archive, move, delete, save."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel

from mailclient.core.atomic import write_atomic
from mailclient.core.models import FLAGGED, SEEN, Folder, MessageSummary, SpecialUse
from mailclient.store.db import StoreError
from mailclient.ui.mailbox.message_model import TAGS, Column
from mailclient.ui.widgets.error_bar import ShownError
from mailclient.ui.window.other_accounts import add_other_accounts, folder_label
from mailclient.ui.window.server_tags import fill_server_tags, tags_on
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


# Thunderbird's junk keywords (RFC 5788 registry).
JUNK_KEYWORD = "$Junk"


NOT_JUNK_KEYWORD = "$NotJunk"


class MessageActions:
    """MainWindow's actions on the chosen messages."""

    def _set_flags(
        self: MainWindow,
        summaries: list[MessageSummary],
        add: frozenset[str] = frozenset(),
        remove: frozenset[str] = frozenset(),
        undo_text: str = "",
    ) -> None:
        if not summaries:
            return
        summaries = self._as_asked(summaries)
        self._ask_flags(summaries, add, remove)
        if undo_text:
            self._push_undo(undo_text, summaries, flags=(add, remove))

    def _ask_flags(
        self: MainWindow,
        summaries: list[MessageSummary],
        add: frozenset[str],
        remove: frozenset[str],
    ) -> None:
        """Ask the workers for a flag change, remembered until the store has it: the list
        shows it only once it re-read the store."""
        for summary in summaries:
            count, _ = self._flags_asked.get(summary.id, (0, summary.flags))
            self._flags_asked[summary.id] = (count + 1, (summary.flags | add) - remove)
        self._mail.set_flags([s.id for s in summaries], add, remove)

    def _flags_written(self: MainWindow, ids: tuple[int, ...]) -> None:
        """The store has a flag change asked before (or it failed): one less to lay over."""
        for message_id in ids:
            count, flags = self._flags_asked.pop(message_id, (0, frozenset()))
            if count > 1:
                self._flags_asked[message_id] = (count - 1, flags)

    def _as_asked(self: MainWindow, summaries: list[MessageSummary]) -> list[MessageSummary]:
        """The chosen messages with their flags as the store has them, or will have once
        the changes asked are written: what a toggle decides from, pressed again before
        the list caught up."""
        # Closed while the window shuts down: the list's flags will do.
        with contextlib.suppress(StoreError):
            summaries = self._store.summaries([s.id for s in summaries]) or summaries
        return [
            replace(s, flags=asked[1]) if (asked := self._flags_asked.get(s.id)) else s
            for s in summaries
        ]

    def toggle_read(self: MainWindow, summaries: list[MessageSummary] | None = None) -> None:
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        self._mark_read_timer.stop()
        summaries = self._as_asked(summaries)
        # Like Thunderbird: if any is unread, mark all read; else mark all unread.
        if any(not s.seen for s in summaries):
            self._set_flags(summaries, add=frozenset({SEEN}), undo_text="Mark as Read")
        else:
            self._set_flags(summaries, remove=frozenset({SEEN}), undo_text="Mark as Unread")

    def toggle_flag(self: MainWindow, summaries: list[MessageSummary] | None = None) -> None:
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        summaries = self._as_asked(summaries)
        if any(not s.flagged for s in summaries):
            self._set_flags(summaries, add=frozenset({FLAGGED}), undo_text="Flag")
        else:
            self._set_flags(summaries, remove=frozenset({FLAGGED}), undo_text="Unflag")

    def toggle_tag(
        self: MainWindow, keyword: str, summaries: list[MessageSummary] | None = None
    ) -> None:
        """Keys 1 to 5: the tag on (or, if every chosen message has it, off), as an IMAP keyword."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        summaries = self._as_asked(summaries)
        name = next((n for k, n, _ in TAGS if k == keyword), keyword)
        if all(keyword in s.flags for s in summaries):
            self._set_flags(summaries, remove=frozenset({keyword}), undo_text=f"Untag {name}")
        else:
            self._set_flags(summaries, add=frozenset({keyword}), undo_text=f"Tag {name}")

    def remove_tags(self: MainWindow) -> None:
        """0: every tag off."""
        summaries = self.selected_summaries()
        tags = tags_on(frozenset().union(*(s.flags for s in summaries)))
        if summaries and tags:
            self._set_flags(summaries, remove=tags, undo_text="Remove Tags")

    def _check_tags(self: MainWindow) -> None:
        summaries = self.selected_summaries()
        for action in self.tag_actions:
            keyword = action.data()
            action.setChecked(bool(summaries) and all(keyword in s.flags for s in summaries))
        accounts = sorted({s.account for s in summaries})
        fill_server_tags(
            self.tag_menu,
            self.remove_tags_action,
            self._store.keywords(accounts[0]) if len(accounts) == 1 else [],
            lambda k: bool(summaries) and all(k in s.flags for s in summaries),
            self.toggle_tag,
        )

    def _special_folder(self: MainWindow, account: str, use: SpecialUse) -> Folder | None:
        return next((f for f in self.folder_model.folders(account) if f.special_use is use), None)

    def delete_selected(self: MainWindow, summaries: list[MessageSummary] | None = None) -> None:
        """Del: to the Trash (undoable); in the Trash, for good after asking."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        in_trash = [
            s
            for s in summaries
            if (trash := self._special_folder(s.account, SpecialUse.TRASH)) is not None
            and s.folder_id == trash.id
        ]
        if in_trash and not self._confirm_delete_for_good(len(in_trash)):
            return
        self._select_after(summaries)
        self._mail.delete([s.id for s in summaries])
        leaving = [s for s in summaries if s not in in_trash]
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in leaving:
            by_account.setdefault(summary.account, []).append(summary)
        for account, moved in by_account.items():
            trash = self._special_folder(account, SpecialUse.TRASH)
            if trash is not None:
                self._push_undo("Delete", moved, target=trash)

    def delete_for_good(self: MainWindow) -> None:
        """Shift+Del: delete for good, wherever the messages are, after asking."""
        summaries = self.selected_summaries()
        if not summaries:
            return
        if not self._confirm_delete_for_good(len(summaries)):
            return
        self._select_after(summaries)
        self._mail.expunge([s.id for s in summaries])

    def _confirm_delete_for_good(self: MainWindow, count: int) -> bool:
        """Ask before deleting for good, unless the user said not to ask again."""
        key = "confirm/delete_for_good"
        if str(self._settings.value(key, "true")).lower() == "false":
            return True
        # The dialogs' classes are made when first asked for, not at the window's start.
        from PySide6.QtWidgets import QCheckBox, QMessageBox

        messages = "this message" if count == 1 else f"these {count:,} messages"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete for good",
            f"Delete {messages} for good? This cannot be undone.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("confirmDeleteForGood")
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        again = QCheckBox("Don't ask again", box)
        again.setObjectName("dontAskAgain")
        box.setCheckBox(again)
        box.exec()
        if box.clickedButton() is not delete:
            return False
        if again.isChecked():
            self._settings.setValue(key, "false")
        return True

    def archive_selected(self: MainWindow, summaries: list[MessageSummary] | None = None) -> None:
        """A: to the account's Archive folder."""
        chosen = self.selected_summaries() if summaries is None else summaries
        self._move_to_special(chosen, SpecialUse.ARCHIVE, "Archive", "has no Archive folder")

    def _move_to_special(
        self: MainWindow,
        summaries: list[MessageSummary],
        use: SpecialUse,
        undo_text: str,
        missing: str,
    ) -> None:
        if not summaries:
            return
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        for account, chosen in by_account.items():
            target = self._special_folder(account, use)
            if target is None:
                self.error_bar.show_error(ShownError(f"The account {account} {missing}."))
                continue
            self.move_messages(chosen, target, undo_text=undo_text)

    def set_junk(
        self: MainWindow, junk: bool, summaries: list[MessageSummary] | None = None
    ) -> None:
        """J: mark as junk ($Junk) and move to Junk; Not Junk: $NotJunk, back to the Inbox."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        add, remove = (JUNK_KEYWORD, NOT_JUNK_KEYWORD) if junk else (NOT_JUNK_KEYWORD, JUNK_KEYWORD)
        flags = (frozenset({add}), frozenset({remove}))
        self._ask_flags(self._as_asked(summaries), *flags)
        text = "Mark as Junk" if junk else "Mark as Not Junk"
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        for account, chosen in by_account.items():
            junk_folder = self._special_folder(account, SpecialUse.JUNK)
            target = junk_folder if junk else self._special_folder(account, SpecialUse.INBOX)
            moving = [
                s
                for s in chosen
                if target is not None
                and s.folder_id != target.id
                and (junk or (junk_folder is not None and s.folder_id == junk_folder.id))
            ]
            if moving and target is not None:
                self._select_after(moving)
                self._mail.move([s.id for s in moving], target.id)
            self._push_undo(text, chosen, flags=flags, target=target if moving else None)

    def mark_folder_read(self: MainWindow, folder_ids: list[int] | None = None) -> None:
        """Shift+C: every message of the shown folder(s) (or of ``folder_ids``) read."""
        path = self._store.path
        folder_ids = list(folder_ids if folder_ids is not None else self.message_model.folder_ids)
        if not folder_ids:
            return

        def find() -> list[MessageSummary]:
            from mailclient.workers.reading import thread_store

            store = thread_store(path)
            return store.summaries(store.unseen_ids(folder_ids))

        def found(summaries: list[MessageSummary]) -> None:
            self._set_flags(summaries, add=frozenset({SEEN}), undo_text="Mark Folder Read")

        run_task(self, find, found, pool=self._pool)

    def move_messages(
        self: MainWindow,
        moving: list[int] | list[MessageSummary],
        target: Folder,
        undo_text: str = "",
    ) -> None:
        """Move messages (ids dropped on a folder, or summaries) to ``target``."""
        if not moving:
            return
        if isinstance(moving[0], MessageSummary):
            summaries = [s for s in moving if isinstance(s, MessageSummary)]
        else:
            wanted = set(moving)
            summaries = [s for s in self.selected_summaries() if s.id in wanted]
        ids = [s.id for s in summaries] or [i for i in moving if isinstance(i, int)]
        if summaries and summaries[0].account != target.account:
            self.transfer_messages(summaries, target)  # dropped on another account's folder
            return
        if summaries:
            self._select_after(summaries)
        self._mail.move(ids, target.id)
        self.statusBar().showMessage(
            f"Moving {len(ids)} message{'s' if len(ids) != 1 else ''} to {target.leaf}", 4000
        )
        if summaries:
            self._push_undo(undo_text or f"Move to {target.leaf}", summaries, target=target)

    def _select_after(self: MainWindow, leaving: list[MessageSummary]) -> None:
        """Before messages leave the list, move the cursor to the one after them."""
        self._forget_wanted()  # chosen by the person: a message waited for gives way
        rows = self.message_model.rows_of([s.id for s in leaving])
        if not rows:
            return
        leaving_ids = {s.id for s in leaving}
        candidates = list(range(max(rows) + 1, self.message_model.rowCount()))
        candidates += list(range(min(rows) - 1, -1, -1))
        for row in candidates:
            if self.message_model.message_id(row) not in leaving_ids:
                self.message_view.selectionModel().setCurrentIndex(
                    self.message_model.index(row, Column.SUBJECT),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                return
        self.message_view.selectionModel().clear()
        self.reading_pane.show_placeholder("No message selected")

    def _fill_move_menu(self: MainWindow) -> None:
        self.move_menu.clear()
        summaries = self.selected_summaries()
        if not summaries:
            self.move_menu.addAction("No message selected").setEnabled(False)
            return
        account = summaries[0].account
        current = {s.folder_id for s in summaries}
        for folder in self.folder_model.folders(account):
            action = self.move_menu.addAction(
                folder.name.replace(folder.delimiter or "/", " ▸ ")
                if folder.name.upper() != "INBOX"
                else "Inbox"
            )
            action.setEnabled(folder.id not in current)
            action.triggered.connect(
                lambda _=False, f=folder: self.move_messages(
                    [s.id for s in self.selected_summaries() if s.account == f.account], f
                )
            )
        add_other_accounts(
            self.move_menu,
            self._accounts,
            self.folder_model,
            account,
            lambda f: self.transfer_messages(self.selected_summaries(), f),
        )

    def _fill_copy_menu(self: MainWindow) -> None:
        self.copy_menu.clear()
        summaries = self.selected_summaries()
        if summaries:
            add_other_accounts(
                self.copy_menu,
                self._accounts,
                self.folder_model,
                summaries[0].account,
                lambda f: self.transfer_messages(self.selected_summaries(), f, copy=True),
            )
        if not any(a.menu() for a in self.copy_menu.actions()):
            self.copy_menu.clear()
            self.copy_menu.addAction("No folder of another account").setEnabled(False)

    def transfer_messages(
        self: MainWindow, summaries: list[MessageSummary], target: Folder, copy: bool = False
    ) -> None:
        """Copy or move to a folder of another account (APPEND there, then delete here)."""
        chosen = [s.id for s in summaries if s.account != target.account]
        if not chosen:
            return
        if not copy:
            self._select_after([s for s in summaries if s.id in chosen])
        self._mail.transfer(chosen, target.id, copy)
        verb = "Copying" if copy else "Moving"
        self.statusBar().showMessage(
            f"{verb} {len(chosen)} message{'s' if len(chosen) != 1 else ''} to "
            f"{target.account} ▸ {folder_label(target)}",
            4000,
        )

    def save_as(self: MainWindow, path: str | None = None) -> None:
        """The current message as it came, in a .eml file (written off this thread)."""
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        if path is None:
            from PySide6.QtWidgets import QFileDialog

            from mailclient.mime.filename import safe_filename

            suggested = safe_filename(summary.subject or "message", "message") + ".eml"
            path, _ = QFileDialog.getSaveFileName(
                self, "Save Message", str(Path.home() / suggested), "Mail messages (*.eml)"
            )
        if not path:
            return
        target = Path(path)

        def save(summary: MessageSummary, raw: bytes) -> None:
            def write() -> None:
                write_atomic(target, raw, 0o600)

            run_task(
                self,
                write,
                lambda _: self.statusBar().showMessage(f"Saved {target.name}", 5000),
                lambda error: self.error_bar.show_error(
                    ShownError(f"The message could not be saved: {error_text(error)}")
                ),
            )

        self._with_current_raw(save)
