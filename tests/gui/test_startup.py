"""Start-up order: the message list paints before the rest of the application is loaded.

Run in a fresh interpreter, since the test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What the first paint of the list does not need: account dialogs, preferences,
# notifications, the tray, writing mail, and the IMAP, SMTP and web engine modules.
LATER = [
    "mailclient.app.desktop",
    "mailclient.ui.accounts.controller",
    "mailclient.ui.window.notifications",
    "mailclient.ui.window.tray",
    "mailclient.ui.compose.manager",
    "mailclient.ui.compose.window",
    "mailclient.smtp.sender",
    "mailclient.imap.client",
    "imapclient",
    "keyring",
    "PySide6.QtWebEngineCore",
]

CHILD = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QEvent, QObject
from mailclient.app.gui import open_window
from mailclient.app.services import Services
from mailclient.core.profile import Profile

later = json.loads(sys.argv[2])
seen = {}

class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and "at_paint" not in seen:
            seen["at_paint"] = [name for name in later if name in sys.modules]
        return False

def then():
    import linecache
    from mailclient.app.desktop import Desktop
    # The deferred modules were imported on this thread before the cache was cleared; a
    # module that a worker thread imports meanwhile (the spelling dictionary) may be kept.
    deferred = [sys.modules[name] for name in later if name in sys.modules]
    seen["deferred_checked"] = len(deferred) >= 6
    seen["deferred_sources_kept"] = [m.__name__ for m in deferred if m.__file__ in linecache.cache]
    seen["desktop"] = Desktop.of(window) is not None
    seen["compose"] = window.compose is not None
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
store.close()
print("RESULT " + json.dumps(seen))
"""


@pytest.mark.parametrize("first", ["list", "welcome"])
def test_the_window_paints_before_dialogs_notifications_tray_and_compose_load(
    tmp_path: Path, first: str
) -> None:
    """With mail, the message list paints first; on a first run, the welcome page."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "profile"), json.dumps(LATER), first],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    seen = json.loads(lines[-1][len("RESULT ") :])
    # PySide6's import hook reads every module's source into linecache: 4 MiB let go.
    assert seen == {
        "at_paint": [],
        "desktop": True,
        "compose": True,
        "deferred_checked": True,
        "deferred_sources_kept": [],
    }
