"""The window started on a store it cannot open: the reason shows in a window, since a
desktop start has no terminal to read it in."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from mailclient.app.gui import run_gui
from mailclient.app.services import Services
from mailclient.core.profile import Profile
from mailclient.store.db import StoreUnavailable


def test_a_store_that_cannot_be_opened_is_shown_in_a_window(qtbot: QtBot, tmp_path: Path) -> None:
    profile = Profile(tmp_path / "profile").ensure()
    profile.store_path.mkdir()  # a folder where the file should be
    services = Services.open(profile)  # the keyring is not reached: nothing starts
    shown: list[str] = []

    def answer() -> None:
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)), None)
        if box is None or not box.isVisible():
            QTimer.singleShot(20, answer)
            return
        shown.append(box.text())
        box.accept()

    QTimer.singleShot(0, answer)
    with pytest.raises(StoreUnavailable) as raised:
        run_gui(services)
    assert shown == [str(raised.value)]
    assert shown[0] == (
        f"mailclient cannot open {profile.store_path}: it is a folder, not a file. Move it "
        "away and try again; nothing was lost."
    )
