"""The first window a person sees."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from mailclient.accounts.model import Account
from mailclient.ui.main_window import MainWindow


def test_no_accounts_says_how_to_add_one(qtbot: QtBot) -> None:
    window = MainWindow([])
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "Mailclient"
    assert "No accounts" in window.status_label.text()
    assert "mailclient account add" in window.hint_label.text()
    assert window.hint_label.isVisible()


def test_lists_accounts(qtbot: QtBot) -> None:
    account = Account(name="work", email="alice@example.org", imap_host="h", smtp_host="h")
    window = MainWindow([account])
    qtbot.addWidget(window)
    window.show()
    assert "alice@example.org" in window.status_label.text()
    assert not window.hint_label.isVisible()
