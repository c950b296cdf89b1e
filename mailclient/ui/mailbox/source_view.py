"""View Source: the raw message in a window of its own, as text that shows every byte.

Control, bidi and invisible characters are written as escapes (``\\x1b``, ``\\u202e``),
bytes that are no UTF-8 as ``\\xff``: what the window shows is what the message holds. A
huge message shows its first SOURCE_SHOWN bytes. The text is made on the pool.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtGui import QFont, QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QPlainTextEdit, QWidget

from mailclient import APP_NAME
from mailclient.mime.decode import without_invisible
from mailclient.workers.tasks import run_task

SOURCE_SHOWN = 2_000_000
# Controls but tab and line breaks, DEL, C1, line/paragraph separators, bidi controls and
# the characters without_invisible() drops (bodies keep them: here they are made visible).
_ESCAPED = re.compile(
    "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u061c\\u200b-\\u200f"
    "\\u202a-\\u202e\\u2060-\\u2069\\ufeff\\u00ad\\u034f\\u180e\\u115f\\u1160\\u3164\\uffa0]"
)


def source_text(raw: bytes, limit: int = SOURCE_SHOWN) -> str:
    """``raw`` as text with everything that would not show, or would deceive, escaped."""
    text = raw[:limit].decode("utf-8", "backslashreplace")
    text = _ESCAPED.sub(_escape, text)
    if len(raw) > limit:
        text += f"\n\n[{len(raw) - limit:,} more bytes not shown]\n"
    return text


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class SourceWindow(QMainWindow):
    """A read-only window with the source of one message."""

    def __init__(
        self, raw: bytes, subject: str, pool: QThreadPool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sourceWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowFlag(Qt.WindowType.Window)
        title = without_invisible(subject)[:120] or "(no subject)"
        self.setWindowTitle(f"Source of {title} — {APP_NAME}")
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("sourceText")
        self.text.setAccessibleName("Message source")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)))
        self.text.setPlainText("Loading…")
        self.setCentralWidget(self.text)
        self.resize(860, 640)
        QShortcut(QKeySequence("Escape"), self, self.close)
        run_task(self, lambda: source_text(raw), self.text.setPlainText, pool=pool)
