"""Printing the shown message (File ▸ Print, Ctrl+P): its headers and its body, through the
system's print dialog (which also prints to a PDF file).

The body is laid out by a QTextDocument from what the reading pane shows: the sanitized
HTML or the plain text; nothing is loaded from the network for it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QDialog, QWidget

from mailclient.mime.decode import without_invisible

if TYPE_CHECKING:
    from PySide6.QtPrintSupport import QPrinter

    from mailclient.workers.reading import PreparedMessage


def printable_html(prepared: PreparedMessage) -> str:
    """The message as one HTML document: a table of its headers above the body."""
    parsed = prepared.parsed
    date = parsed.date.strftime("%a, %d %b %Y %H:%M") if parsed.date else ""
    rows = "".join(
        f"<tr><td><b>{name}:</b></td><td>{html.escape(without_invisible(value))}</td></tr>"
        for name, value in (
            ("Subject", parsed.subject or "(no subject)"),
            ("From", parsed.sender),
            ("To", parsed.to),
            ("Cc", parsed.cc),
            ("Date", date),
        )
        if value
    )
    if prepared.safe_html is not None:
        body = prepared.safe_html.document
    else:
        body = prepared.plain_html or ""
    return f"<table cellspacing='2'>{rows}</table><hr/>{body}"


def print_message(prepared: PreparedMessage, printer: QPrinter) -> None:
    """Lay the message out for ``printer`` and print it (a PDF file where it is set so)."""
    document = QTextDocument()
    document.setHtml(printable_html(prepared))
    document.print_(printer)


def ask_and_print(parent: QWidget, prepared: PreparedMessage | None) -> bool:
    """The print dialog for the shown message; prints if the user says so."""
    if prepared is None:
        return False
    # Qt's printing module is loaded when first asked for, not with the window.
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    subject = prepared.parsed.subject or "message"
    printer.setDocName(without_invisible(subject)[:100])
    dialog = QPrintDialog(printer, parent)
    dialog.setObjectName("printDialog")
    dialog.setWindowTitle("Print Message")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    print_message(prepared, dialog.printer())
    return True
