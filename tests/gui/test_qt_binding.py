"""The Qt binding keeps Python's reference counts straight where the models rely on it.

PySide6 6.12.0 dropped a reference to None each time a Python data() override returned
None to C++; the message list does that thousands of times per screen, and on Python 3.11
the process aborted ("deallocating None") after a few minutes of scrolling. pyproject.toml
keeps that version out; this test fails on any version that brings the bug back.

From Python 3.12 None is immortal: its count never moves, so a lost reference can neither
abort the process nor be seen. Other objects returned from data() were never affected
(6.12.0 keeps their counts), so there is nothing to observe there and the test says so.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()


def _none_is_counted() -> bool:
    before = sys.getrefcount(None)
    held = [None] * 1000
    counted = sys.getrefcount(None) - before >= len(held)
    del held
    return counted


class _Empty(QAbstractTableModel):
    def rowCount(self, parent: Index = _TOP) -> int:
        return 10

    def columnCount(self, parent: Index = _TOP) -> int:
        return 2

    def data(self, index: Index, role: int = 0) -> object:
        return None


@pytest.mark.skipif(
    not _none_is_counted(),
    reason="None is immortal here (Python 3.12+): a lost reference cannot harm or be counted",
)
def test_returning_none_from_data_keeps_none_alive() -> None:
    model = _Empty()
    index = model.index(1, 1)
    before = sys.getrefcount(None)
    # Few enough calls that a binding with the bug is caught before None's count (some
    # thousands in a fresh interpreter) reaches zero and aborts the whole run.
    for _ in range(2_000):
        assert index.data() is None  # through C++ QModelIndex::data, into the override
    assert abs(sys.getrefcount(None) - before) < 100
