"""A message file (``mailclient message.eml``) in a message window: shown, answered, never
moved or deleted; and the command line that hands such a file to the window."""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import os
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from mailclient.app.cli import split_url
from mailclient.app.gui import open_arguments
from mailclient.ui.mailbox.message_file import MessageFileWindow, read_message_file
from mailclient.ui.window.main_window import MainWindow
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    RecordingMail,
    mail,
    profile,
    settings,
    store,
    window,
)
from tests.gui.test_message_window import RecordingCompose

CTRL = Qt.KeyboardModifier.ControlModifier


def _eml(folder: Path, name: str = "offer.eml") -> Path:
    message = EmailMessage()
    message["From"] = "Carol <carol@example.net>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Our offer, saved"
    message.set_content("Hi Alice,\nthe offer as promised.\n")
    path = folder / name
    path.write_bytes(bytes(message))
    return path


def _file_window(qtbot: QtBot) -> MessageFileWindow:
    def shown() -> MessageFileWindow | None:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MessageFileWindow)]
        return next((w for w in found if w.isVisible()), None)

    qtbot.waitUntil(lambda: shown() is not None)
    opened = shown()
    assert opened is not None
    return opened


def test_a_message_file_opens_read_only_and_can_be_answered(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    compose = RecordingCompose()
    window.compose = compose  # type: ignore[assignment]
    path = _eml(tmp_path)
    open_arguments(window, [str(path)])
    opened = _file_window(qtbot)
    qtbot.waitUntil(lambda: opened.pane.prepared is not None)
    assert opened.windowTitle().startswith("Our offer, saved")
    assert opened.windowFilePath() == str(path)
    assert [a.iconText() for a in opened.toolbar.actions()] == ["Reply", "Reply All", "Forward"]
    # The file has no Date: no empty Date row.
    headers = opened.pane.headers
    assert headers.values["From"].isVisible() and not headers.values["Date"].isVisible()
    names = {a.objectName() for a in opened.actions()}
    assert not names & {"delete", "archive", "junk", "toggleRead", "toggleFlag"}
    opened.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is opened)
    qtbot.keyClick(opened, Qt.Key.Key_R, CTRL)
    qtbot.keyClick(opened, Qt.Key.Key_L, CTRL)
    qtbot.keyClick(opened, Qt.Key.Key_Delete)
    # No account of its own: the compose window answers from the one it was sent to.
    assert compose.calls == [("reply", "", False, True), ("forward", "", True)]
    assert opened.isVisible()
    opened.close()


def test_a_missing_message_file_says_so(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.open_message_file(tmp_path / "gone.eml")
    opened = _file_window(qtbot)
    qtbot.waitUntil(lambda: "No such file" in opened.pane.placeholder.text())
    assert opened.pane.prepared is None
    opened.close()


def test_the_command_line_takes_message_files_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rest, targets = split_url(["--profile", "p", "saved/Offer.EML"])
    assert rest == ["--profile", "p"]
    assert targets == [str(tmp_path / "saved" / "Offer.EML")]
    # A file manager passes a file: URL for %u.
    _, from_url = split_url(["file:///home/alice/My%20Mail/offer.eml", "mailto:bob@example.org"])
    assert from_url == ["/home/alice/My Mail/offer.eml", "mailto:bob@example.org"]
    # After a command, its arguments are its own.
    rest, targets = split_url(["account", "add", "x.eml", "--email", "x@example.org"])
    assert targets == []
    assert rest == ["account", "add", "x.eml", "--email", "x@example.org"]


def test_a_message_file_that_is_a_pipe_is_refused_without_waiting(tmp_path: Path) -> None:
    """A named pipe called offer.eml (unpacked from an archive, say) would hold one of the
    window's two reading threads until something writes to it: it is refused at once."""
    path = tmp_path / "offer.eml"
    os.mkfifo(path)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            read_message_file(path)
        except OSError as error:
            errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(10)
    if reader.is_alive():
        with open(path, "wb"):  # lets the blocked reader go
            pass
        reader.join()
    assert [str(e) for e in errors] == ["it is not a file"]
