"""Every window a screen reader can read: no interactive control without a name.

The walk (tests/support/accessibility.py) asks Qt's accessibility layer, as a screen
reader does, for the name of each control a person can reach: its own accessible name,
its text, or the label it is the buddy of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.identities import identities_of
from mailclient.accounts.preferences import Preferences
from mailclient.accounts.store import AccountStore
from mailclient.core.draft import Draft
from mailclient.discovery import Network
from mailclient.ui.accounts.add_dialog import AddAccountDialog
from mailclient.ui.accounts.manage_dialog import ManageAccountsDialog
from mailclient.ui.compose.manager import ComposeManager
from mailclient.ui.compose.spelling import Spelling
from mailclient.ui.compose.window import ComposeWindow
from mailclient.ui.mailbox.message_window import MessageWindow
from mailclient.ui.window.diagnostics import AboutDialog, CrashDialog, Problem
from mailclient.ui.window.main_window import MainWindow
from mailclient.ui.window.preferences import SettingsDialog
from tests.gui.compose_helpers import account
from tests.gui.outbox_world import World, running_world
from tests.gui.test_main_window import mail, profile, settings, store, window  # noqa: F401
from tests.support.accessibility import unnamed_controls
from tests.support.loopback import loopback_route, no_srv_records
from tests.support.waiting import wait_until


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path)


def compose_window(world: World) -> QWidget:
    identities = identities_of([account(), account("home", "alice@home.example")])
    draft = Draft(account="work", sender=identities[0].sender, to="bob@example.org, bad", cc="x")
    return ComposeWindow(draft, identities, spelling=Spelling(world.store_path.parent))


def address_book(world: World) -> QWidget:
    manager = ComposeManager([account()], world.worker, world.store_path)
    return manager.open_address_book()


def crash_dialog(world: World) -> QWidget:
    return CrashDialog(Problem("Uncaught exception", "KeyError: 'x'", "Traceback …", True))


WINDOWS: dict[str, Callable[[World], QWidget]] = {
    "compose": compose_window,
    "address book": address_book,
    "preferences": lambda world: SettingsDialog(Preferences(), tray_available=True),
    "about": lambda world: AboutDialog(),
    "crash": crash_dialog,
    "outbox": lambda world: world.outbox_view(),
}


@pytest.mark.parametrize("name", list(WINDOWS))
def test_every_control_has_a_name(qtbot: QtBot, world: World, name: str) -> None:
    shown = WINDOWS[name](world)
    qtbot.addWidget(shown)
    shown.show()
    qtbot.waitExposed(shown)
    wait_until(shown.isVisible, qtbot=qtbot)
    assert unnamed_controls(shown) == []


def test_the_main_and_message_windows(qtbot: QtBot, window: MainWindow) -> None:  # noqa: F811
    assert unnamed_controls(window) == []
    window.message_view.setFocus()
    window.message_view.setCurrentIndex(window.message_model.index(0, 2))
    window.open_in_window()
    [message_window] = window.findChildren(MessageWindow)
    qtbot.waitExposed(message_window)
    assert unnamed_controls(message_window) == []
    message_window.close()


def test_the_account_dialogs(
    qtbot: QtBot, accounts: AccountStore, credentials: CredentialStore
) -> None:
    offline = Network(
        route=loopback_route({}), srv_lookup=no_srv_records, imap_guesses=(), smtp_guesses=()
    )
    accounts.add(account())  # so that Manage accounts shows its editor too
    for dialog in (
        AddAccountDialog(accounts, credentials, network=offline),
        ManageAccountsDialog(accounts, credentials),
    ):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert unnamed_controls(dialog) == []
        dialog.close()
    QThreadPool.globalInstance().waitForDone(30_000)
