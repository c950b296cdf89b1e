"""New-mail notifications: who wrote and about what, and a click that opens the message.

NewMailNotifier asks the store what arrived in an inbox since its last look
(mailclient.store.new_mail) after every sync and store change, and tells the desktop: one
message as its sender and subject, several at once as one "5 new messages" notification
listing the newest. It talks to the desktop's notification service (NotificationBus) and,
where there is none, shows the tray icon's balloon instead. Clicking a notification asks
the window, through ``open_requested``, to show the message (or the inboxes, for a group).
"""

from __future__ import annotations

import html
import itertools
import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal

from mailclient import APP_ID, APP_NAME
from mailclient.mime.decode import without_invisible
from mailclient.store.db import StoreError
from mailclient.store.mail import MailStore
from mailclient.store.new_mail import NewMail, NewMailTracker
from mailclient.ui.mailbox.message_model import sender_name
from mailclient.ui.window.tray import UnreadTray
from mailclient.workers.notification_bus import Notification, NotificationBus

log = logging.getLogger(__name__)

LISTED = 3  # messages named in a grouped notification
# Writes from other processes and a sync's batches arrive as several store changes: one
# look after they settle gives one notification for what arrived together.
SETTLE_MS = 500


@dataclass(frozen=True)
class Opening:
    """What clicking a notification shows: one message, or (None) the inboxes."""

    message_id: int | None


@dataclass(frozen=True)
class Announcement:
    """The text of one notification (plain text; ``markup_body`` for the D-Bus service)."""

    summary: str
    body: str
    opening: Opening

    @property
    def markup_body(self) -> str:
        # The specification's body may hold a little markup: what came in mail must not.
        return html.escape(self.body, quote=False)


def _subject(subject: str) -> str:
    return without_invisible(subject).strip() or "(no subject)"


def announce(new: NewMail) -> Announcement | None:
    """How to tell about ``new``; None when nothing arrived."""
    if new.count <= 0 or not new.newest:
        return None
    if new.count == 1:
        message = new.newest[0]
        return Announcement(
            sender_name(message.sender) or "Unknown sender",
            _subject(message.subject),
            Opening(message.id),
        )
    lines = [f"{sender_name(m.sender)}: {_subject(m.subject)}" for m in new.newest[:LISTED]]
    if new.count > len(lines):
        lines.append(f"and {new.count - len(lines):,} more")
    return Announcement(f"{new.count:,} new messages", "\n".join(lines), Opening(None))


class NewMailNotifier(QObject):
    """Watches the store for new mail in the inboxes and tells the desktop about it."""

    open_requested = Signal(Opening)

    def __init__(
        self,
        store: MailStore,
        bus: NotificationBus | None,
        tray: UnreadTray | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._bus = bus
        self._tray = tray
        self.enabled = True
        self._tracker = NewMailTracker(store)
        self._tokens = itertools.count(1)
        self._requested: dict[int, Announcement] = {}  # token -> what was asked
        self._shown: dict[int, Opening] = {}  # the service's notification id -> opening
        self._balloon: Opening | None = None
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.check)
        if bus is not None:
            bus.shown.connect(self._shown_by_service)
            bus.unavailable.connect(self._service_unavailable)
            bus.action_invoked.connect(self._action_invoked)
            bus.closed.connect(self._closed)
        if tray is not None:
            tray.message_clicked.connect(self._balloon_clicked)

    def set_enabled(self, enabled: bool) -> None:
        """Off: nothing is shown, but what arrives meanwhile still counts as announced."""
        self.enabled = enabled

    def check_soon(self) -> None:
        self._settle.start()

    def check(self) -> None:
        """Look for new mail now and announce it."""
        self._settle.stop()
        try:
            new = self._tracker.check(self._store)
        except StoreError as error:
            log.warning("Cannot look for new mail: %s", error)
            return
        announcement = announce(new)
        if announcement is None or not self.enabled:
            return
        if self._bus is None:
            self._show_in_tray(announcement)
            return
        token = next(self._tokens)
        self._requested[token] = announcement
        self._bus.notify(
            token,
            Notification(
                app_name=APP_NAME,
                summary=announcement.summary,
                body=announcement.markup_body,
                icon=APP_ID,
                desktop_entry=APP_ID,
                category="email.arrived",
            ),
        )

    def _shown_by_service(self, token: int, notification_id: int) -> None:
        announcement = self._requested.pop(token, None)
        if announcement is not None:
            self._shown[notification_id] = announcement.opening

    def _service_unavailable(self, token: int, reason: str) -> None:
        announcement = self._requested.pop(token, None)
        if announcement is not None:
            log.info("No desktop notification (%s); trying the tray.", reason)
            self._show_in_tray(announcement)

    def _show_in_tray(self, announcement: Announcement) -> None:
        if self._tray is None or not self._tray.can_show_messages():
            return
        self._balloon = announcement.opening
        self._tray.show_message(announcement.summary, announcement.body)

    def _action_invoked(self, notification_id: int, action: str) -> None:
        opening = self._shown.get(notification_id)
        if opening is not None and action == "default":
            self.open_requested.emit(opening)

    def _closed(self, notification_id: int) -> None:
        self._shown.pop(notification_id, None)

    def _balloon_clicked(self) -> None:
        if self._balloon is not None:
            self.open_requested.emit(self._balloon)
