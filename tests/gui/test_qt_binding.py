"""The Qt binding keeps Python's reference counts straight where the models rely on it.

PySide6 6.12.0 dropped a reference to None each time a Python data() override returned
None to C++; the message list does that thousands of times per screen, and the process
aborted ("deallocating None") after a few minutes of scrolling. pyproject.toml keeps that
version out; this test fails on any version that brings the bug back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()


class _Empty(QAbstractTableModel):
    def rowCount(self, parent: Index = _TOP) -> int:
        return 10

    def columnCount(self, parent: Index = _TOP) -> int:
        return 2

    def data(self, index: Index, role: int = 0) -> object:
        return None


def test_returning_none_from_data_keeps_none_alive() -> None:
    model = _Empty()
    index = model.index(1, 1)
    before = sys.getrefcount(None)
    for _ in range(20_000):
        assert index.data() is None  # through C++ QModelIndex::data, into the override
    assert abs(sys.getrefcount(None) - before) < 100
