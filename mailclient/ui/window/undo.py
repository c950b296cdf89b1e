"""Edit ▸ Undo: how to take back the last changes to messages, per account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailclient.core.models import Folder, MessageSummary
from mailclient.workers.commands import SetFlags, UndoChanges

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow


UNDO_DEPTH = 30


@dataclass(frozen=True)
class UndoStep:
    """One user action as Edit ▸ Undo names it, and how to take it back per account."""

    text: str
    changes: list[UndoChanges]


class UndoHistory:
    """MainWindow's Edit ▸ Undo."""

    def _push_undo(
        self: MainWindow,
        text: str,
        summaries: list[MessageSummary],
        flags: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
        target: Folder | None = None,
    ) -> None:
        """Remember how to take back a change just asked of the workers."""
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        add, remove = flags
        changes = []
        for account, chosen in by_account.items():
            inverse = [
                *(
                    SetFlags(ids, frozenset(), frozenset({flag}))
                    for flag in sorted(add)
                    if (ids := tuple(s.id for s in chosen if flag not in s.flags))
                ),
                *(
                    SetFlags(ids, frozenset({flag}), frozenset())
                    for flag in sorted(remove)
                    if (ids := tuple(s.id for s in chosen if flag in s.flags))
                ),
            ]
            moved = tuple(
                (s.id, s.folder_id, s.message_id)
                for s in chosen
                if target is not None and target.account == account and s.folder_id != target.id
            )
            if inverse or moved:
                changes.append(
                    UndoChanges(
                        account, moved, target.id if moved and target else None, tuple(inverse)
                    )
                )
        if changes:
            self._undo_steps = [*self._undo_steps[-(UNDO_DEPTH - 1) :], UndoStep(text, changes)]
            self._update_undo()

    def undo(self: MainWindow) -> None:
        """Ctrl+Z: take back the last change of the stack."""
        if not self._undo_steps:
            return
        step = self._undo_steps.pop()
        for change in step.changes:
            self._mail.undo(change)
        self._update_undo()
        self.statusBar().showMessage(f"Undone: {step.text}", 4000)

    def _update_undo(self: MainWindow) -> None:
        if self._undo_steps:
            text = self._undo_steps[-1].text
            self.undo_action.setText(f"&Undo {text}")
            self.undo_action.setToolTip(f"Undo {text} (Ctrl+Z)")
        else:
            self.undo_action.setText("&Undo")
            self.undo_action.setToolTip("Nothing to undo")
        self.undo_action.setEnabled(bool(self._undo_steps))
