"""New-mail notifications: the D-Bus conversation, the texts, the tray fallback, the tray icon.

The D-Bus tests run against the rig's private session bus (the ``secret_service``
fixture) with a stand-in notification service that checks types as strictly as GNOME
Shell does. The end-to-end test with real mail arriving over IDLE is in test_desktop.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from mailclient.core.models import MessageSummary, SpecialUse
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.new_mail import NewMail
from mailclient.ui.window.notifications import NewMailNotifier, Opening, announce
from mailclient.ui.window.tray import UnreadTray, badge_text, unread_icon
from mailclient.workers.notification_bus import Notification, NotificationBus
from tests.rig import SecretService
from tests.support.notifications import FakeNotificationService

WAIT = 10_000


@pytest.fixture
def bus(secret_service: SecretService) -> Iterator[NotificationBus]:
    bus = NotificationBus(secret_service.bus_address)
    yield bus
    bus.stop()
    assert bus.wait(WAIT)


def test_notify_goes_out_with_the_specified_types_and_clicks_come_back(
    qtbot: QtBot, secret_service: SecretService, bus: NotificationBus
) -> None:
    with FakeNotificationService(secret_service.bus_address) as service:
        with qtbot.waitSignal(bus.shown, timeout=WAIT) as shown:
            bus.notify(
                7,
                Notification(
                    app_name="Mailclient",
                    summary="Bob",
                    body="Lunch &amp; more",
                    icon="org.mailclient.Mailclient",
                    desktop_entry="org.mailclient.Mailclient",
                    category="email.arrived",
                ),
            )
        assert service.refused == []
        [call] = service.calls
        assert shown.args == [7, call.id]
        assert (call.app_name, call.summary, call.body) == ("Mailclient", "Bob", "Lunch &amp; more")
        assert call.replaces_id == 0
        assert call.actions == ["default", "Open"]
        assert call.hints["desktop-entry"] == ("s", "org.mailclient.Mailclient")
        assert call.hints["category"] == ("s", "email.arrived")
        assert call.timeout == -1

        with qtbot.waitSignal(bus.action_invoked, timeout=WAIT) as invoked:
            service.invoke(call.id)
        assert invoked.args == [call.id, "default"]

        # A second request on the same connection.
        with qtbot.waitSignal(bus.shown, timeout=WAIT) as shown:
            bus.notify(8, Notification(app_name="Mailclient", summary="Carol"))
        assert shown.args == [8, 2]


def test_without_a_notification_service_requests_are_unavailable(
    qtbot: QtBot, bus: NotificationBus
) -> None:
    with qtbot.waitSignal(bus.unavailable, timeout=WAIT) as answer:
        bus.notify(3, Notification(app_name="Mailclient", summary="Bob"))
    assert answer.args[0] == 3
    assert "ServiceUnknown" in answer.args[1]


def test_without_a_bus_requests_are_unavailable(qtbot: QtBot, tmp_path: Path) -> None:
    bus = NotificationBus(f"unix:path={tmp_path / 'no-bus'}")
    try:
        with qtbot.waitSignal(bus.unavailable, timeout=WAIT) as answer:
            bus.notify(1, Notification(app_name="Mailclient", summary="Bob"))
        assert answer.args[0] == 1
        assert bus.wait(WAIT)
        # Once known, later requests are answered at once, without a thread.
        with qtbot.waitSignal(bus.unavailable, timeout=WAIT) as answer:
            bus.notify(2, Notification(app_name="Mailclient", summary="Carol"))
        assert answer.args[0] == 2
    finally:
        bus.stop()
        bus.wait(WAIT)


# -- what the notifications say ---------------------------------------------------------------


def _summary(id_: int, sender: str, subject: str) -> MessageSummary:
    return MessageSummary(
        id=id_, account="work", folder_id=1, uid=id_, sender=sender, subject=subject
    )


def test_one_message_is_its_sender_and_subject() -> None:
    new = NewMail(1, [_summary(5, "Bob Builder <bob@example.org>", "Lunch <Friday> & more")])
    said = announce(new)
    assert said is not None
    assert said.summary == "Bob Builder"
    assert said.body == "Lunch <Friday> & more"
    assert said.markup_body == "Lunch &lt;Friday&gt; &amp; more"
    assert said.opening == Opening(5)


def test_many_messages_are_one_grouped_notification() -> None:
    newest = [
        _summary(9, "Carol <carol@example.org>", "Minutes"),
        _summary(8, "bob@example.org", ""),
        _summary(7, "Dave <dave@example.org>", "Invoice"),
    ]
    said = announce(NewMail(5, newest))
    assert said is not None
    assert said.summary == "5 new messages"
    assert said.body.splitlines() == [
        "Carol: Minutes",
        "bob@example.org: (no subject)",
        "Dave: Invoice",
        "and 2 more",
    ]
    assert said.opening == Opening(None)
    assert announce(NewMail(0, [])) is None


# -- the notifier over a store, falling back to the tray ---------------------------------------


class BalloonTray(QObject):
    """The tray's part the notifier uses, on a desktop where the tray shows balloons."""

    message_clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.balloons: list[tuple[str, str]] = []

    def can_show_messages(self) -> bool:
        return True

    def show_message(self, title: str, text: str) -> None:
        self.balloons.append((title, text))


def _store_with_inbox(path: Path) -> tuple[MailStore, int]:
    store = MailStore.open(path)
    store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    inbox = store.folder_by_name("work", "INBOX")
    assert inbox is not None
    store.reset_folder(inbox.id, 1)
    store.apply_changes(inbox.id, uidnext=1)
    return store, inbox.id


def _arrive(store: MailStore, folder: int, uid: int, subject: str) -> None:
    store.add_messages(
        folder,
        [NewMessage(uid, frozenset(), sender="Bob <bob@example.org>", subject=subject, date=uid)],
    )
    store.apply_changes(folder, uidnext=uid + 1)


def test_without_a_service_the_tray_balloon_tells_and_opens(
    qtbot: QtBot, tmp_path: Path, bus: NotificationBus
) -> None:
    store, inbox = _store_with_inbox(tmp_path / "mail.sqlite3")
    tray = BalloonTray()
    notifier = NewMailNotifier(store, bus, tray)  # type: ignore[arg-type]
    try:
        _arrive(store, inbox, 1, "Hello")
        notifier.check()
        # The bus answers that there is no notification service; then the tray shows it.
        qtbot.waitUntil(lambda: tray.balloons == [("Bob", "Hello")], timeout=WAIT)
        with qtbot.waitSignal(notifier.open_requested) as opened:
            tray.message_clicked.emit()
        assert opened.args == [Opening(store.message_ids(inbox)[0])]

        # Switched off: nothing is shown, and what arrived meanwhile is not kept for later.
        notifier.set_enabled(False)
        _arrive(store, inbox, 2, "Quiet")
        notifier.check()
        notifier.set_enabled(True)
        notifier.check()
        qtbot.wait(200)
        assert tray.balloons == [("Bob", "Hello")]
    finally:
        store.close()


# -- the tray icon ----------------------------------------------------------------------------


def test_the_tray_icon_carries_the_unread_count(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QWidget

    window = QWidget()
    qtbot.addWidget(window)
    tray = UnreadTray(window)
    assert tray.tooltip() == "Mailclient: no unread mail"
    tray.set_unread(3)
    assert tray.tooltip() == "Mailclient: 3 unread messages"
    assert badge_text(120) == "99+"
    plain = unread_icon(0).pixmap(22, 22).toImage()
    badged = unread_icon(3).pixmap(22, 22).toImage()
    assert plain.size() == badged.size()
    # The badge sits in the lower right corner and is red.
    corner = badged.pixelColor(20, 17)
    assert corner.red() > 180 and corner.green() < 90, corner.name()
    assert plain.pixelColor(20, 17) != corner
    assert isinstance(badged, QImage)
    # No tray on the offscreen platform: the icon stays hidden whatever the user wants.
    tray.set_wanted(True)
    assert tray.icon.isVisible() == UnreadTray.available()
