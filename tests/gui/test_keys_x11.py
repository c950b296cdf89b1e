"""The keyboard on a real X server: the web engine's first page must not take it.

Offscreen every window counts as active, so the key tests pass there whatever the web
engine does; on X11 its first page took the window's activation, and Down and Space went
nowhere until the list was clicked. This runs those tests again under Xvfb with Qt's xcb
platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.xserver import private_display


@pytest.mark.slow
def test_keys_keep_working_after_an_html_message_on_x11() -> None:
    with private_display("1280x900x24") as display:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                # Xvfb has no GPU: the web engine warns about Vulkan and the GPU vendor.
                "-o",
                "qt_log_level_fail=CRITICAL",
                str(Path(__file__).with_name("test_keys.py")),
                "-k",
                "fast_key_repeats or space_keeps_paging",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
