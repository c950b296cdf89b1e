"""A private X server (Xvfb) for tests that need a real one.

Xvfb picks a free display number itself and tells it through ``-displayfd``, atomically:
test runs in parallel (pytest-xdist workers, other engineers' runs) never race for one,
as they can with ``xvfb-run -a``, which looks for a free number first and starts later.

-noreset: the server stays up, unchanged, when its last client leaves (a test kills the
app); a reset would turn away the app started again at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def private_display(screen: str = "1280x800x24") -> Iterator[str]:
    """Run Xvfb with one ``screen`` (WxHxDepth) and yield its display name (":N")."""
    if shutil.which("Xvfb") is None:
        pytest.fail("this test needs Xvfb (the xvfb package, tools/apt-packages.txt)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            screen,
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as announced:
        number = announced.readline().strip()
    if not number:
        server.kill()
        server.wait(timeout=30)
        pytest.fail("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=30)
