"""Text from mail and servers in Qt widgets that would otherwise guess it is rich text.

QLabel, QMessageBox and tooltips show text that looks like HTML (Qt.mightBeRichText) as
HTML: a subject such as ``<img src='/dev/zero'>`` would make Qt read a local file. Labels
that show received text are set to Qt.TextFormat.PlainText; tooltips, which have no such
setting, are escaped here.
"""

from __future__ import annotations

from PySide6 import QtGui
from PySide6.QtCore import Qt


def tooltip(text: str) -> str:
    """A tooltip that shows ``text`` exactly, whatever it looks like."""
    if not text:
        return ""
    return QtGui.Qt.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)
