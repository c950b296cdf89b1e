"""The attachments of the shown message: listed with name, type and size; Save, Open, Save all.

File names come from the sender: they are always passed through safe_filename() before
they touch the disk. Open writes into a private folder (mode 0700) removed at exit; the
folders of an earlier run that could not remove its own (killed, crashed) are removed at
the next start. Opening a program or a script asks first.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QMimeDatabase, QStandardPaths, Qt, QThreadPool, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mailclient.core.units import human_size
from mailclient.mime.filename import is_executable, safe_filename, unique_path_name
from mailclient.ui.widgets.icons import icon
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.mime.parse import AttachmentInfo, ParsedMessage

_private_dir: Path | None = None
_stale_checked = False
# The folder of one run names the process: the next start knows which ones are left over.
T = TypeVar("T")
_OPEN_FOLDER = re.compile(r"mailclient-open-(\d+)-")


def private_temp_dir() -> Path:
    """A folder only this user can read, for attachments opened with another program."""
    global _private_dir
    if _private_dir is None or not _private_dir.is_dir():
        _private_dir = Path(tempfile.mkdtemp(prefix=f"mailclient-open-{os.getpid()}-"))
        os.chmod(_private_dir, 0o700)
        atexit.register(shutil.rmtree, _private_dir, True)
    return _private_dir


def remove_stale_copies(folder: Path | None = None) -> int:
    """Remove the folders of opened attachments that runs which are over left behind in
    ``folder`` (the temporary folder); how many were removed."""
    removed = 0
    for entry in Path(folder or tempfile.gettempdir()).iterdir():
        match = _OPEN_FOLDER.match(entry.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if entry.is_symlink() or entry.stat().st_uid != os.getuid():
                continue
            if _process_alive(int(match.group(1))):
                continue
            shutil.rmtree(entry)
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def display_name(attachment: AttachmentInfo) -> str:
    """What the list shows and what a saved file is called."""
    fallback = f"attachment-{attachment.part_id}"
    return safe_filename(attachment.filename, fallback=fallback)


def write_attachment(raw: bytes, attachment: AttachmentInfo, path: Path) -> Path:
    """Write the decoded attachment to ``path`` (never following a link placed there)."""
    from mailclient.mime.parse import attachment_data

    data = attachment_data(raw, attachment.part_id)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def save_all(raw: bytes, attachments: list[AttachmentInfo], folder: Path) -> list[Path]:
    """Save every attachment into ``folder``; names made unique, existing files kept."""
    taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    written = []
    for attachment in attachments:
        name = unique_path_name(display_name(attachment), taken)
        taken.add(name)
        written.append(write_attachment(raw, attachment, folder / name))
    return written


def open_copy(raw: bytes, attachment: AttachmentInfo) -> Path:
    """A read-only copy in the private folder, for the desktop's handler."""
    folder = Path(tempfile.mkdtemp(prefix="part-", dir=private_temp_dir()))
    path = write_attachment(raw, attachment, folder / display_name(attachment))
    # Read-only: edits made in the other program must not look like they changed the mail.
    os.chmod(path, 0o400)
    return path


class AttachmentPanel(QWidget):
    """Lists attachments; the buttons act on the selected one (or all)."""

    saved = Signal(str)  # a sentence for the status bar
    failed = Signal(str)

    def __init__(self, pool: QThreadPool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attachmentPanel")
        self.setAccessibleName("Attachments")
        self._pool = pool
        self._raw = b""
        self._attachments: list[AttachmentInfo] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 6)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setObjectName("attachmentTitle")
        top.addWidget(self.title, 1)
        self.open_button = QPushButton("&Open", self)
        self.open_button.setObjectName("openAttachment")
        self.open_button.setToolTip("Open the selected attachment with its usual program")
        self.save_button = QPushButton("&Save…", self)
        self.save_button.setObjectName("saveAttachment")
        self.save_all_button = QPushButton("Save &all…", self)
        self.save_all_button.setObjectName("saveAllAttachments")
        for button in (self.open_button, self.save_button, self.save_all_button):
            top.addWidget(button)
        layout.addLayout(top)
        self.list = QTreeWidget(self)
        self.list.setObjectName("attachmentList")
        self.list.setAccessibleName("Attachment list")
        self.list.setColumnCount(3)
        self.list.setHeaderLabels(["Name", "Type", "Size"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.list.itemActivated.connect(lambda *_: self.open_selected())
        layout.addWidget(self.list)
        self.open_button.clicked.connect(self.open_selected)
        self.save_button.clicked.connect(self.save_selected)
        self.save_all_button.clicked.connect(self.save_everything)
        global _stale_checked
        if not _stale_checked:
            _stale_checked = True
            run_task(self, remove_stale_copies, lambda _removed: None, lambda _error: None, pool)

    def show_attachments(self, raw: bytes, parsed: ParsedMessage) -> None:
        self._raw = raw
        self._attachments = list(parsed.attachments)
        self.list.clear()
        for attachment in self._attachments:
            item = QTreeWidgetItem(
                [display_name(attachment), attachment.content_type, human_size(attachment.size)]
            )
            item.setIcon(0, _type_icon(attachment.content_type))
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.list.addTopLevelItem(item)
        count = len(self._attachments)
        total = sum(a.size for a in self._attachments)
        self.title.setText(
            f"<b>{count} attachment{'s' if count != 1 else ''}</b> ({human_size(total)})"
        )
        first = self.list.topLevelItem(0)
        if first is not None:
            self.list.setCurrentItem(first)
        rows = min(count, 4)
        row_height = self.list.sizeHintForRow(0) if count else 20
        self.list.setFixedHeight(self.list.header().sizeHint().height() + rows * row_height + 6)
        self.save_all_button.setEnabled(count > 1)
        self.setVisible(count > 0)

    def attachments(self) -> list[AttachmentInfo]:
        return list(self._attachments)

    def _selected(self) -> AttachmentInfo | None:
        current = self.list.currentItem()
        row = self.list.indexOfTopLevelItem(current) if current is not None else -1
        return self._attachments[row] if 0 <= row < len(self._attachments) else None

    def open_selected(self) -> None:
        attachment = self._selected()
        if attachment is None:
            return
        if is_executable(attachment.filename, attachment.content_type) and not (
            self.confirm_open_program(display_name(attachment))
        ):
            return
        raw = self._raw
        self._run(
            lambda: open_copy(raw, attachment),
            lambda path: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))),
            f"Could not open {display_name(attachment)}",
        )

    def confirm_open_program(self, name: str) -> bool:
        """Whether the reader still wants to open ``name``, which may be a program."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Open a program?",
            f"“{name}” is a program or a script. Opening it can run it on this computer, "
            "with your rights. Open it only if you trust the sender and expected it.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        open_button = box.addButton("Open Anyway", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is open_button

    def save_selected(self) -> None:
        attachment = self._selected()
        if attachment is None:
            return
        start = Path(_downloads()) / display_name(attachment)
        chosen, _ = QFileDialog.getSaveFileName(self, "Save attachment", str(start))
        if not chosen:
            return
        raw = self._raw
        self._run(
            lambda: write_attachment(raw, attachment, Path(chosen)),
            lambda path: self.saved.emit(f"Saved {path}"),
            f"Could not save {display_name(attachment)}",
        )

    def save_everything(self) -> None:
        if not self._attachments:
            return
        chosen = QFileDialog.getExistingDirectory(self, "Save all attachments to", _downloads())
        if not chosen:
            return
        raw, attachments = self._raw, list(self._attachments)
        self._run(
            lambda: save_all(raw, attachments, Path(chosen)),
            lambda paths: self.saved.emit(f"Saved {len(paths)} attachments to {chosen}"),
            "Could not save the attachments",
        )

    def _run(self, job: Callable[[], T], done: Callable[[T], object], what: str) -> None:
        def failed(error: Exception) -> None:
            if isinstance(error, OSError) and error.strerror:
                self.failed.emit(f"{what}: {error.strerror}.")
            else:
                self.failed.emit(f"{what}. {error_text(error)}")

        run_task(self, job, done, failed, self._pool)


def _type_icon(content_type: str) -> QIcon:
    """The desktop's icon for a MIME type (application-pdf, image-x-generic...)."""
    mime = QMimeDatabase().mimeTypeForName(content_type)
    for name in (mime.iconName(), mime.genericIconName()):
        if name and QIcon.hasThemeIcon(name):
            return QIcon.fromTheme(name)
    return icon("attachment")


def _downloads() -> str:
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    with contextlib.suppress(OSError):
        if location and Path(location).is_dir():
            return location
    return str(Path.home())
