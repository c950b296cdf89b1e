"""Keywords of the server in the tag menu, beside $label1 to $label5, against the real
Dovecot: those its FLAGS list and those on messages; set and removed like the labels."""

# The fixtures of test_window_server are imported, and the tests' arguments name them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from tests.gui.test_window_server import (  # noqa: F401 (fixtures)
    WAIT,
    Harness,
    harness,
)

pytestmark = pytest.mark.mail_users("alice", "bob")


def _server_tag_texts(harness: Harness) -> list[str]:
    menu = harness.window.tag_menu
    harness.window._check_tags()
    return [a.text() for a in menu.actions() if a.objectName() == "serverTag"]


def test_the_tag_menu_offers_the_servers_keywords(qtbot: QtBot, harness: Harness) -> None:
    servers = harness.servers
    with servers.imap("alice") as client:
        client.select_folder("INBOX")
        lunch = client.search(["SUBJECT", "Lunch on Friday?"])
        client.add_flags(lunch, ["Invoice", "$Forwarded", "$label2"])
        # Set and taken off again: Dovecot still lists it in the folder's FLAGS.
        report = client.search(["SUBJECT", "Quarterly report"])
        client.add_flags(report, ["Q3&Q4"])
        client.remove_flags(report, ["Q3&Q4"])
    window = harness.window
    window.start()
    # Not the first rows shown: those may be bob's, synced before work's folders are known.
    qtbot.waitUntil(lambda: harness.store.folder_by_name("work", "INBOX") is not None, timeout=WAIT)
    harness.show_folder("work", "INBOX")
    qtbot.waitUntil(lambda: "Quarterly report" in harness.subjects(), timeout=WAIT)
    assert set(harness.store.keywords("work")) >= {"Invoice", "$Forwarded", "Q3&Q4"}

    harness.select("Quarterly report")
    # The labels stay where they were; state keywords ($Forwarded) are no tags.
    assert _server_tag_texts(harness) == ["Invoice", "Q3&&Q4"]
    invoice = next(a for a in window.tag_menu.actions() if a.data() == "Invoice")
    assert not invoice.isChecked()
    invoice.trigger()
    qtbot.waitUntil(
        lambda: "Invoice" in harness.server_flags("alice", "INBOX", "Quarterly report"),
        timeout=WAIT,
    )
    assert window.undo_action.text() == "&Undo Tag Invoice"

    def invoice_checked() -> bool:
        _server_tag_texts(harness)
        return next(a for a in window.tag_menu.actions() if a.data() == "Invoice").isChecked()

    qtbot.waitUntil(invoice_checked, timeout=WAIT)
    # The menu is filled again each time: the same entries, not twice.
    assert _server_tag_texts(harness) == ["Invoice", "Q3&&Q4"]

    harness.select("Lunch on Friday?")
    window.remove_tags()
    qtbot.waitUntil(
        lambda: (
            not {"Invoice", "$label2"} & harness.server_flags("alice", "INBOX", "Lunch on Friday?")
        ),
        timeout=WAIT,
    )
    assert "$Forwarded" in harness.server_flags("alice", "INBOX", "Lunch on Friday?")
    # The bob account's server knows none of these (other tests on this rig may have left
    # keywords of their own in its index: Dovecot keeps a folder's keywords after expunge).
    harness.show_folder("bob", "INBOX")
    qtbot.waitUntil(lambda: harness.subjects() == ["Hello Bob"], timeout=WAIT)
    harness.select("Hello Bob")
    assert not {"Invoice", "Q3&&Q4"} & set(_server_tag_texts(harness))
    assert not window.error_bar.isVisible(), window.error_bar.errors()
