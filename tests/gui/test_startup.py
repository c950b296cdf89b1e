"""Start-up order: the message list paints before the rest of the application is loaded.

Run in a fresh interpreter, since the test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QApplication, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from mailclient.app.gui import after_first_paint

ROOT = Path(__file__).resolve().parents[2]

# What the first paint of the list does not need: account dialogs, preferences,
# notifications, the tray, writing mail, the reading pane's parts, message windows, the
# crash dialog, the outbox, and the IMAP, SMTP, TLS, network (the socket later starts
# talk to) and web engine modules.
LATER = [
    "mailclient.app.desktop",
    "mailclient.ui.mailbox.message_headers",
    "mailclient.ui.mailbox.attachments",
    "mailclient.ui.mailbox.conversation",
    "mailclient.ui.mailbox.message_window",
    "mailclient.ui.compose.undo_send",
    "mailclient.ui.window.diagnostics",
    "mailclient.store.outbox",
    "mailclient.core.outgoing",
    "mailclient.ui.accounts.controller",
    "mailclient.ui.window.notifications",
    "mailclient.ui.window.tray",
    "mailclient.ui.compose.manager",
    "mailclient.ui.compose.window",
    "mailclient.smtp.sender",
    "mailclient.imap.client",
    "imapclient",
    "keyring",
    "ssl",
    "PySide6.QtNetwork",
    "PySide6.QtWebEngineCore",
]
# What a start does not load at all, until it is asked for: spelling (Enchant), vCards,
# printing, HTML mail.
ON_DEMAND = ["enchant", "vobject", "PySide6.QtPrintSupport", "PySide6.QtWebEngineCore"]

CHILD = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QEvent, QObject
from mailclient.app.gui import open_window
from mailclient.app.services import Services
from mailclient.core.profile import Profile
from mailclient.workers.tasks import wait_for_tasks

later, on_demand = json.loads(sys.argv[2]), json.loads(sys.argv[4])
seen = {}

def sources_kept():
    import linecache
    return [name for name in linecache.cache if name.endswith(".py")]

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and "at_paint" not in seen:
            seen["at_paint"] = [name for name in later if name in sys.modules]
            seen["sources_at_paint"] = sources_kept()
        return False

def then():
    from mailclient.app.desktop import Desktop
    seen["deferred_checked"] = sum(name in sys.modules for name in later) >= 6
    seen["sources_kept"] = sources_kept()
    seen["desktop"] = Desktop.of(window) is not None
    seen["compose"] = window.compose is not None
    app.processEvents()  # what the start left to worker threads
    seen["loaded_on_demand"] = [name for name in on_demand if name in sys.modules]
    import gc
    seen["left_out_of_full_collections"] = gc.get_freeze_count() > len(gc.get_objects())
    app.quit()

profile = Path(sys.argv[1])
if sys.argv[3] == "list":
    from tests.bench.bench_window import fill_profile
    profile.mkdir()
    fill_profile(profile, 50)
services = Services.open(Profile(profile).ensure())
app, window, store = open_window(services, then=then)
watcher = FirstPaint()
watched = window.message_view.viewport() if sys.argv[3] == "list" else window.welcome
watched.installEventFilter(watcher)
app.exec()
window.close()
wait_for_tasks()  # as the application does before it ends
store.close()
print("RESULT " + json.dumps(seen))
"""


def run_child(source: str, *args: str) -> Any:
    """Run ``source`` in a fresh offscreen process; what it printed after "RESULT "."""
    # A crash says where.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    done = subprocess.run(
        [sys.executable, "-c", source, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.mark.parametrize("first", ["list", "welcome"])
def test_the_window_paints_before_dialogs_notifications_tray_and_compose_load(
    tmp_path: Path, first: str
) -> None:
    """With mail, the message list paints first; on a first run, the welcome page."""
    seen = run_child(
        CHILD, str(tmp_path / "profile"), json.dumps(LATER), first, json.dumps(ON_DEMAND)
    )
    # PySide6's import hook would keep every module's source in linecache (10 MiB).
    assert seen == {
        "at_paint": [],
        "sources_at_paint": [],
        "desktop": True,
        "compose": True,
        "deferred_checked": True,
        "sources_kept": [],
        "loaded_on_demand": [],
        "left_out_of_full_collections": True,
    }


KEY_CHILD = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from mailclient.app.gui import open_window
from mailclient.app.services import Services
from mailclient.core.profile import Profile
from mailclient.workers.tasks import wait_for_tasks
from tests.bench.bench_window import fill_profile

profile = Path(sys.argv[1])
profile.mkdir()
fill_profile(profile, 50)
seen = {}

def press():
    seen["attached_before"] = window.compose is not None
    seen["active"] = QApplication.activeWindow() is window
    QTest.keyClick(window.message_view, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    seen["compose_windows"] = len(window.compose.windows) if window.compose else 0
    app.quit()

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and watched is viewport and "painted" not in seen:
            seen["painted"] = True
            # Installed after open_window()'s own watch, this filter sees the paint first:
            # the key comes before the turn of the loop that builds the rest.
            QTimer.singleShot(0, press)
        return False

services = Services.open(Profile(profile).ensure())
app, window, store = open_window(services, then=lambda: None)
viewport = window.message_view.viewport()
watcher = FirstPaint()
app.installEventFilter(watcher)
app.exec()
for opened in list(window.compose.windows if window.compose else []):
    opened.close()
window.close()
wait_for_tasks()  # as the application does before it ends
store.close()
print("RESULT " + json.dumps(seen))
"""


def test_a_key_pressed_as_the_list_first_paints_is_not_lost(tmp_path: Path) -> None:
    """Ctrl+N belongs to writing mail, attached after the first paint; pressed before
    that, it is handled once writing is attached, and opens a compose window."""
    seen = run_child(KEY_CHILD, str(tmp_path / "profile"))
    assert seen == {
        "painted": True,
        "attached_before": False,
        "active": True,
        "compose_windows": 1,
    }


def test_work_left_for_after_the_first_paint_comes_before_a_click_that_comes_sooner(
    qtbot: QtBot,
) -> None:
    """The work waits for the turn of the event loop after the first paint, unless a click
    (on any widget) is handled before that turn: then it is done first."""
    window = QWidget()
    qtbot.addWidget(window)
    button = QPushButton("Later", window)
    list_view = QWidget(window)
    window.show()
    qtbot.waitExposed(window)
    built: list[str] = []
    clicked_after: list[list[str]] = []
    button.clicked.connect(lambda: clicked_after.append(list(built)))
    after_first_paint(list_view, lambda: built.append("actions"))
    # Painted now, as the first paint of a window paints it; the loop has not turned since.
    QApplication.sendEvent(list_view, QPaintEvent(list_view.rect()))
    assert built == []
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert clicked_after == [["actions"]]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert built == ["actions"]  # once


def test_pyside_learns_which_modules_use_it_without_keeping_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import linecache

    from mailclient.app import pyside_hook

    feature = sys.modules[pyside_hook.FEATURE_MODULE]
    (tmp_path / "startup_uses_qt.py").write_text("import PySide6.QtCore\n")
    (tmp_path / "startup_plain.py").write_text("import json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("startup_uses_qt", "startup_plain"):
        monkeypatch.delitem(sys.modules, name, raising=False)
        monkeypatch.delitem(feature.pyside_feature_dict, name, raising=False)
    assert not pyside_hook.install()  # once is enough: the window's start-up did it
    __import__("startup_uses_qt")
    __import__("startup_plain")
    # As PySide6's own check answers: 0, may select a __feature__; -1, left alone.
    assert feature.pyside_feature_dict["startup_uses_qt"] == 0
    assert feature.pyside_feature_dict["startup_plain"] == -1
    assert not [name for name in linecache.cache if name.startswith(str(tmp_path))]
