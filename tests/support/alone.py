"""Tests marked ``alone`` run while no other test runs, also with parallel workers.

A test that measures the machine (a stall of the GUI thread, say) would measure the other
workers instead. Every test of a parallel run holds a shared lock while it runs; an
``alone`` test holds it exclusively. A second lock, the gate, keeps new tests from
starting while an ``alone`` test waits for the running ones to end, so it is not starved.
Both are ``flock`` locks on files that all workers of one run share; the kernel drops
them when a worker dies.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def _flock(path: Path, operation: int) -> Iterator[None]:
    with path.open("a") as file:
        fcntl.flock(file, operation)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@contextlib.contextmanager
def turn(directory: Path, alone: bool) -> Iterator[None]:
    """Hold the run's lock in ``directory`` for one test: exclusively if ``alone``."""
    gate, running = directory / "alone-gate.lock", directory / "alone-running.lock"
    if alone:
        with _flock(gate, fcntl.LOCK_EX), _flock(running, fcntl.LOCK_EX):
            yield
        return
    with _flock(gate, fcntl.LOCK_EX):
        pass
    with _flock(running, fcntl.LOCK_SH):
        yield
