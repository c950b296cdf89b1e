"""A message from a file (``mailclient message.eml``, a file manager) in a message window.

The message is in no folder: the window reads the file off the GUI thread and offers what
can be done with a message one only has a copy of (reply, reply all, forward), nothing that
moves or deletes it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QWidget

from mailclient.core.models import MessageSummary
from mailclient.ui.mailbox.html_view import cid_base, new_token
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.workers.tasks import run_task

if TYPE_CHECKING:
    from mailclient.workers.reading import PreparedMessage

# A message file is a message: not a mailbox, not a disk image. Bigger ones are refused
# rather than read into memory whole.
LARGEST_FILE = 200 * 1024 * 1024
FILE_MESSAGE_ID = 0  # no stored message has this id (row ids start at 1)


def read_message_file(path: Path) -> bytes:
    """The bytes of the message file at ``path``; OSError says why not."""
    # Without waiting: a named pipe or a device would hold the reading thread until
    # something writes to it. Only a plain file is read.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("it is not a file")
        raw = file.read(LARGEST_FILE + 1)
    if len(raw) > LARGEST_FILE:
        raise OSError(f"it is larger than {LARGEST_FILE // (1024 * 1024)} MB")
    return raw


class MessageFileWindow(MessageWindow):
    """Shows the message saved in a file; its replies come from the account it was sent to."""

    offered = frozenset({"reply", "replyAll", "forward"})

    def __init__(self, path: Path, pool: QThreadPool, parent: QWidget | None = None) -> None:
        # No account: the reply is written from the one the message was sent to.
        summary = MessageSummary(id=FILE_MESSAGE_ID, account="", folder_id=0, uid=0)
        super().__init__(summary, Path(), pool, parent)
        self.setObjectName("messageFileWindow")
        self.path = path
        self.setWindowFilePath(str(path))
        self.setWindowTitle(f"{path.name} — {self.windowTitle().rsplit(' — ', 1)[-1]}")

    def load(self) -> None:
        self.pane.show_placeholder("Reading the message…")
        path, prefer_plain, allow_remote = self.path, self.prefer_plain, self.allow_remote
        token = new_token()

        def job() -> PreparedMessage:
            from mailclient.workers.reading import prepare

            return prepare(
                read_message_file(path),
                FILE_MESSAGE_ID,
                prefer_plain=prefer_plain,
                allow_remote=allow_remote,
                token=token,
                cid_base=cid_base(token),
            )

        run_task(self, job, self._file_read, self._file_failed, pool=self._pool)

    def _file_read(self, prepared: PreparedMessage) -> None:
        parsed = prepared.parsed
        self.summary = MessageSummary(
            id=FILE_MESSAGE_ID,
            account="",
            folder_id=0,
            uid=0,
            date=parsed.date,
            sender=parsed.sender,
            to=parsed.to,
            cc=parsed.cc,
            subject=parsed.subject,
        )
        self._show_title()
        self.pane.show_prepared(prepared)

    def _file_failed(self, error: object) -> None:
        detail = error.strerror if isinstance(error, OSError) and error.strerror else error
        self.pane.show_placeholder(f"Cannot open {self.path}: {detail}.")
