"""Waiting for something another thread, process or server does: the one wait-until of the
tests. Its timeout is a guard against hanging, never a measurement."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot


def wait_until(
    condition: Callable[[], object],
    timeout: float = 15.0,
    *,
    qtbot: QtBot | None = None,
    what: str = "",
    interval: float = 0.05,
) -> None:
    """Return once ``condition()`` is true; fail the test after ``timeout`` seconds.

    With ``qtbot`` the Qt event loop runs while waiting (pytest-qt's waitUntil), so that
    queued signals and timers of the code under test fire; without, the thread sleeps
    ``interval`` between tries. ``what`` says in the failure what did not happen.
    """
    if qtbot is not None:
        qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout * 1000))
        return
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what or 'the condition'} after {timeout} s")
        time.sleep(interval)
