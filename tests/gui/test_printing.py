"""File ▸ Print (Ctrl+P) of the shown message, in the main window and the message window,
printed through the print dialog to a PDF file and read back."""

# The fixtures of test_main_window are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.window.main_window import MainWindow
from tests.gui.test_main_window import (  # noqa: F401 (fixtures)
    RecordingMail,
    _open,
    mail,
    profile,
    settings,
    store,
    window,
)

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def pdf_dialog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """The print dialog, answered as a person choosing "Print to File (PDF)" would."""
    printed: list[Path] = []

    def choose_pdf(dialog: QPrintDialog) -> int:
        path = tmp_path / f"printed-{len(printed)}.pdf"
        dialog.printer().setOutputFileName(str(path))  # .pdf: Qt's PDF printer
        printed.append(path)
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(QPrintDialog, "exec", choose_pdf)
    return printed


def _pdf_text(path: Path) -> str:
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    text = "".join(document.getAllText(page).text() for page in range(document.pageCount()))
    document.close()
    return text


def test_ctrl_p_prints_the_shown_message_with_its_headers(
    qtbot: QtBot, window: MainWindow, pdf_dialog: list[Path]
) -> None:
    assert [a.text() for a in window.file_menu.actions() if a.objectName() == "print"] == [
        "&Print…"
    ]
    _open(qtbot, window, "Lunch on Friday?")
    qtbot.waitUntil(lambda: window.reading_pane.prepared is not None)
    qtbot.keyClick(window.message_view, Qt.Key.Key_P, CTRL)
    [path] = pdf_dialog
    text = _pdf_text(path)
    assert "Lunch on Friday?" in text
    assert "Hi Alice," in text
    assert "From:" in text and "Subject:" in text


def test_the_message_window_prints_too(
    qtbot: QtBot, window: MainWindow, pdf_dialog: list[Path]
) -> None:
    _open(qtbot, window, "Lunch on Friday?")
    window.open_in_window()
    shown = [w for w in QApplication.topLevelWidgets() if isinstance(w, MessageWindow)]
    opened = next(w for w in shown if w.isVisible())
    qtbot.waitUntil(lambda: opened.pane.prepared is not None)
    opened.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is opened)
    assert [a.text() for a in opened.menuBar().actions()] == ["&File", "&Message"]
    qtbot.keyClick(opened, Qt.Key.Key_P, CTRL)
    [path] = pdf_dialog
    assert "Hi Alice," in _pdf_text(path)
    opened.close()


def test_nothing_shown_nothing_printed(
    qtbot: QtBot, window: MainWindow, pdf_dialog: list[Path]
) -> None:
    window.print_action.trigger()
    assert pdf_dialog == []
