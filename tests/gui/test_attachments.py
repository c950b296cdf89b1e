"""Attachments: written under a safe name, opened from a private folder, saved all at once."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThreadPool, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from pytestqt.qtbot import QtBot

from mailclient.mime.parse import parse_message
from mailclient.ui.mailbox import attachments
from mailclient.ui.mailbox.attachments import AttachmentPanel, open_copy, private_temp_dir, save_all


def _raw() -> bytes:
    message = EmailMessage()
    message["Subject"] = "files"
    message.set_content("see attached")
    message.add_attachment(
        b"first", maintype="application", subtype="octet-stream", filename="../../etc/evil.sh"
    )
    message.add_attachment(
        b"second", maintype="application", subtype="octet-stream", filename="evil.sh"
    )
    message.add_attachment(
        b"%PDF", maintype="application", subtype="pdf", filename="r\u202efdp.exe"
    )
    return message.as_bytes(policy=SMTP)


def test_save_all_sanitizes_and_never_overwrites(tmp_path: Path) -> None:
    raw = _raw()
    parsed = parse_message(raw)
    (tmp_path / "evil.sh").write_bytes(b"already here")
    written = save_all(raw, list(parsed.attachments), tmp_path)
    assert [p.name for p in written] == ["evil (2).sh", "evil (3).sh", "rfdp.exe"]
    assert all(p.parent == tmp_path for p in written)
    assert (tmp_path / "evil.sh").read_bytes() == b"already here"
    assert written[0].read_bytes() == b"first"
    assert not (tmp_path.parent / "etc").exists()


def test_a_link_planted_at_the_target_is_not_followed(tmp_path: Path) -> None:
    raw = _raw()
    parsed = parse_message(raw)
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "out").mkdir()
    os.symlink(victim, tmp_path / "out" / "evil.sh")
    with pytest.raises(OSError):
        attachments.write_attachment(raw, parsed.attachments[1], tmp_path / "out" / "evil.sh")
    assert victim.read_bytes() == b"keep"


def test_open_copy_is_private_and_read_only() -> None:
    raw = _raw()
    parsed = parse_message(raw)
    path = open_copy(raw, parsed.attachments[0])
    assert path.name == "evil.sh"
    assert path.read_bytes() == b"first"
    assert private_temp_dir() in path.parents
    assert stat.S_IMODE(private_temp_dir().stat().st_mode) == 0o700
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IXUSR | stat.S_IRWXO)


class _Opened(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_panel_lists_opens_and_saves(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = QThreadPool()
    panel = AttachmentPanel(pool)
    qtbot.addWidget(panel)
    raw = _raw()
    panel.show_attachments(raw, parse_message(raw))
    panel.show()
    names = [panel.list.topLevelItem(i).text(0) for i in range(panel.list.topLevelItemCount())]
    assert names == ["evil.sh", "evil.sh", "rfdp.exe"]
    assert panel.list.topLevelItem(2).text(1) == "application/pdf"
    assert "3 attachments" in panel.title.text()

    asked: list[str] = []
    monkeypatch.setattr(panel, "confirm_open_program", lambda name: asked.append(name) or True)
    opened = _Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        panel.open_selected()
        qtbot.waitUntil(lambda: len(opened.urls) == 1)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert Path(opened.urls[0].toLocalFile()).read_bytes() == b"first"
    assert asked == ["evil.sh"]

    target = tmp_path / "chosen.bin"
    monkeypatch.setattr(
        attachments.QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "")
    )
    with qtbot.waitSignal(panel.saved):
        panel.save_selected()
    assert target.read_bytes() == b"first"

    monkeypatch.setattr(
        attachments.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path)
    )
    with qtbot.waitSignal(panel.saved) as saved:
        panel.save_everything()
    assert saved.args == [f"Saved 3 attachments to {tmp_path}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "chosen.bin",
        "evil (2).sh",
        "evil.sh",
        "rfdp.exe",
    ]
    pool.waitForDone()


def test_failures_become_a_sentence(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = QThreadPool()
    panel = AttachmentPanel(pool)
    qtbot.addWidget(panel)
    raw = _raw()
    panel.show_attachments(raw, parse_message(raw))
    missing = tmp_path / "no such folder" / "x.bin"
    monkeypatch.setattr(
        attachments.QFileDialog, "getSaveFileName", lambda *a, **k: (str(missing), "")
    )
    with qtbot.waitSignal(panel.failed) as failed:
        panel.save_selected()
    assert failed.args[0] == "Could not save evil.sh: No such file or directory."
    pool.waitForDone()


def _files(*names_and_types: tuple[str, str]) -> bytes:
    message = EmailMessage()
    message["Subject"] = "files"
    message.set_content("see attached")
    for name, content_type in names_and_types:
        maintype, subtype = content_type.split("/")
        message.add_attachment(b"data", maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=SMTP)


@pytest.mark.parametrize(
    ("name", "content_type", "asks"),
    [
        ("setup.exe", "application/octet-stream", True),
        ("invoice.pdf\u200b.exe", "application/pdf", True),
        ("start.desktop", "application/x-desktop", True),
        ("program", "application/x-executable", True),
        ("report.pdf", "application/pdf", False),
    ],
)
def test_opening_a_program_asks_first(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, name: str, content_type: str, asks: bool
) -> None:
    pool = QThreadPool()
    panel = AttachmentPanel(pool)
    qtbot.addWidget(panel)
    raw = _files((name, content_type))
    panel.show_attachments(raw, parse_message(raw))
    asked: list[str] = []
    monkeypatch.setattr(panel, "confirm_open_program", lambda shown: asked.append(shown) or False)
    opened = _Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        panel.open_selected()
        if not asks:
            qtbot.waitUntil(lambda: len(opened.urls) == 1)
        pool.waitForDone()
        qtbot.wait(20)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert len(asked) == int(asks)
    assert len(opened.urls) == int(not asks)  # refused: nothing written, nothing opened


def test_the_question_names_the_program_and_defaults_to_cancel(qtbot: QtBot) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    panel = AttachmentPanel(QThreadPool())
    qtbot.addWidget(panel)
    seen: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(50, answer)
    assert panel.confirm_open_program("setup.exe") is False
    assert seen and "setup.exe" in seen[0]


def test_copies_left_by_runs_that_are_over_are_removed(tmp_path: Path) -> None:
    import subprocess

    dead = subprocess.Popen(["true"])  # its pid names no process once it has been waited for
    dead.wait()
    stale = tmp_path / f"mailclient-open-{dead.pid}-abc"
    (stale / "part-1").mkdir(parents=True)
    (stale / "part-1" / "evil.sh").write_bytes(b"x")
    (stale / "part-1" / "evil.sh").chmod(0o400)
    stale.chmod(0o700)
    running = tmp_path / f"mailclient-open-{os.getppid()}-def"
    running.mkdir()
    mine = tmp_path / f"mailclient-open-{os.getpid()}-ghi"
    mine.mkdir()
    other = tmp_path / "mailclient-opened-notes"
    other.mkdir()
    assert attachments.remove_stale_copies(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [running.name, mine.name, other.name]
    )


def test_the_private_folder_names_this_run() -> None:
    assert private_temp_dir().name.startswith(f"mailclient-open-{os.getpid()}-")
