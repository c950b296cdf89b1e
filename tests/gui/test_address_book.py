"""The address book window, and the people it adds to completion in compose windows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from mailclient.core.contact import Contact
from mailclient.core.models import SpecialUse
from mailclient.store.contacts import CONTACTS_FILE, ContactBook
from mailclient.store.mail import MailStore, NewMessage
from mailclient.ui.compose.address_book import AddressBookWindow
from mailclient.ui.compose.manager import ComposeManager
from tests.gui.compose_helpers import DialogAnswerer, account
from tests.gui.outbox_world import World, running_world
from tests.support.waiting import wait_until

REAL_WORLD = Path(__file__).parent.parent / "data" / "contacts.vcf"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        inbox = store.add_folder("work", "INBOX", "/", SpecialUse.INBOX)
        store.add_messages(
            inbox.id,
            [
                NewMessage(1, frozenset(), sender="Carol Singer <carol@example.org>"),
                NewMessage(2, frozenset(), sender="Dave <dave@example.org>"),
            ],
        )
    yield from running_world(tmp_path)


@pytest.fixture
def manager(qtbot: QtBot, world: World) -> Iterator[ComposeManager]:
    compose = ComposeManager([account()], world.worker, world.store_path)
    yield compose
    if compose._address_book is not None:
        compose._address_book.close()


def stored(world: World) -> list[Contact]:
    with ContactBook(world.store_path.parent / CONTACTS_FILE) as book:
        return book.contacts()


def opened(qtbot: QtBot, manager: ComposeManager) -> AddressBookWindow:
    window = manager.open_address_book()
    wait_until(lambda: window.collected.count() == 2, qtbot=qtbot)
    return window


def test_people_from_mail_are_added_edited_and_found(
    qtbot: QtBot, manager: ComposeManager, world: World
) -> None:
    window = opened(qtbot, manager)
    assert [window.collected.item(i).text() for i in range(2)] == [
        "Carol Singer <carol@example.org>",
        "Dave <dave@example.org>",
    ]
    window.collected.setCurrentRow(0)
    window.add_collected_button.click()
    wait_until(lambda: window.list.count() == 1 and window.collected.count() == 1, qtbot=qtbot)
    assert stored(world) == [Contact("Carol Singer", ("carol@example.org",), "", 1)]

    window.list.setCurrentRow(0)
    assert window.name_edit.text() == "Carol Singer"
    window.addresses_edit.setPlainText("carol@example.org\ncarol.home@example")
    window.notes_edit.setPlainText("Choir on Tuesdays")
    window.save_button.click()
    wait_until(lambda: stored(world)[0].notes == "Choir on Tuesdays", qtbot=qtbot)
    assert stored(world)[0].addresses == ("carol@example.org", "carol.home@example")

    window.addresses_edit.setPlainText("carol@example.org\nnot an address")
    window.save_button.click()
    assert window.problem.text() == (
        "Addresses: 'not an address' is not an address like ann@example.org"
    )
    qtbot.keyClicks(window.search, "choir")
    wait_until(lambda: window.list.count() == 1 and window.collected.count() == 0, qtbot=qtbot)
    window.search.clear()
    qtbot.keyClicks(window.search, "nobody")
    wait_until(lambda: window.list.count() == 0, qtbot=qtbot)


def test_merge_delete_import_and_export(
    qtbot: QtBot, manager: ComposeManager, world: World, tmp_path: Path
) -> None:
    window = opened(qtbot, manager)
    window.import_file(REAL_WORLD)
    wait_until(lambda: window.list.count() == 3, qtbot=qtbot)
    assert window.statusBar().currentMessage() == "Imported 3 contacts"
    texts = [window.list.item(i).text() for i in range(3)]
    assert texts[0] == "Ayşe Öztürk  <ayse@example.com.tr>"

    window.list.item(0).setSelected(True)
    window.list.item(1).setSelected(True)
    assert window.merge_action.isEnabled()
    window.merge_action.trigger()
    wait_until(lambda: window.list.count() == 2, qtbot=qtbot)
    merged = next(c for c in stored(world) if c.name == "Ayşe Öztürk")
    assert merged.addresses == ("ayse@example.com.tr", "bob@work.example", "bob@home.example")

    exported = tmp_path / "out.vcf"
    window.list.clearSelection()
    window.export_file(exported)
    wait_until(
        lambda: exported.exists() and exported.read_text().count("BEGIN:VCARD") == 2, qtbot=qtbot
    )

    window.list.setCurrentRow(0)
    window.list.item(0).setSelected(True)
    answers = DialogAnswerer(qtbot).answer("Yes")
    qtbot.keyClick(window.list, Qt.Key.Key_Delete)
    assert answers.done() and "Delete Ayşe Öztürk" in answers.seen[0]
    wait_until(lambda: window.list.count() == 1, qtbot=qtbot)
    assert [c.name for c in stored(world)] == ["Jörg Müller"]


def test_contacts_are_offered_first_in_address_fields(
    qtbot: QtBot, manager: ComposeManager, world: World
) -> None:
    manager.refresh_completions()
    wait_until(lambda: manager.completions.rowCount() == 2, qtbot=qtbot)
    manager.contacts.add("Dave Davies", "dave@example.org")
    manager.contacts.add("Zoe", "zoe@example.org")
    wait_until(lambda: manager.completions.rowCount() == 3, qtbot=qtbot)
    assert manager.completions.stringList() == [
        "Dave Davies <dave@example.org>",
        "Zoe <zoe@example.org>",
        "Carol Singer <carol@example.org>",
    ]
