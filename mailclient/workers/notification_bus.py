"""Desktop notifications through org.freedesktop.Notifications, on a thread of its own.

The Desktop Notifications Specification (1.2): ``Notify(app_name s, replaces_id u,
app_icon s, summary s, body s, actions as, hints a{sv}, expire_timeout i) -> u``; the
server later emits ``ActionInvoked(id u, action_key s)`` when the user clicks the
notification (action "default") or one of its buttons, and ``NotificationClosed(id u,
reason u)``. Servers check the signature strictly, and PySide6's QtDBus cannot marshal a
uint32 from Python (an int always goes out as "i"), so the conversation uses jeepney, a
pure-Python D-Bus library, on a thread that owns the connection. Nothing here blocks the
GUI thread: notify() only queues, and results come back as queued signals.

Where there is no session bus or nobody owns the notification service, every request is
answered with ``unavailable`` so that the window can fall back (to the tray's balloon).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from jeepney import DBusAddress, HeaderFields, Message, MessageType, new_method_call
from jeepney.bus_messages import MatchRule, message_bus
from jeepney.io.threading import DBusConnection, ReceiveStopped, open_dbus_connection
from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
NOTIFICATIONS = DBusAddress(PATH, bus_name=SERVICE, interface=INTERFACE)


@dataclass(frozen=True)
class Notification:
    """One notification as the specification describes it (body: its small markup subset)."""

    app_name: str
    summary: str
    body: str = ""
    icon: str = ""  # an icon name from the theme, or a file:// URI
    actions: tuple[tuple[str, str], ...] = (("default", "Open"),)  # (key, label)
    desktop_entry: str = ""  # our .desktop file's name without the suffix
    category: str = ""  # e.g. "email.arrived"
    timeout_ms: int = -1  # -1: the server's default

    def message(self) -> Message:
        actions = [part for pair in self.actions for part in pair]
        hints: dict[str, tuple[str, Any]] = {}
        if self.desktop_entry:
            hints["desktop-entry"] = ("s", self.desktop_entry)
        if self.category:
            hints["category"] = ("s", self.category)
        return new_method_call(
            NOTIFICATIONS,
            "Notify",
            NOTIFY_SIGNATURE,
            (
                self.app_name,
                0,
                self.icon,
                self.summary,
                self.body,
                actions,
                hints,
                self.timeout_ms,
            ),
        )


class _Stop:
    """Ends the thread's loop."""


class NotificationBus(QThread):
    """Sends notifications and reports what the user did with them."""

    shown = Signal(int, int)  # request token, the server's notification id
    unavailable = Signal(int, str)  # request token, why it could not be shown
    action_invoked = Signal(int, str)  # notification id, action key ("default": clicked)
    closed = Signal(int)  # notification id

    def __init__(self, address: str = "SESSION", parent: Any = None) -> None:
        """``address``: a D-Bus address, or "SESSION" for $DBUS_SESSION_BUS_ADDRESS."""
        super().__init__(parent)
        self.setObjectName("notification-bus")
        self._address = address
        self._queue: queue.Queue[tuple[int, Notification] | _Stop] = queue.Queue()
        self._connection: DBusConnection | None = None
        self._lock = threading.Lock()
        self._failure = ""  # set when the bus cannot be used at all
        self._pending: dict[int, int] = {}  # our call's serial -> request token

    def notify(self, token: int, notification: Notification) -> None:
        """Show ``notification``; ``shown`` or ``unavailable`` answers with ``token``."""
        with self._lock:
            failure = self._failure
            if not failure:
                self._queue.put((token, notification))
                if self._connection is not None:
                    self._connection.interrupt()  # wake the receive loop to send it
        if failure:
            self.unavailable.emit(token, failure)
        elif not self.isRunning() and not self.isFinished():
            self.start()

    def stop(self) -> None:
        with self._lock:
            self._queue.put(_Stop())
            if self._connection is not None:
                self._connection.interrupt()

    def run(self) -> None:
        try:
            connection = open_dbus_connection(bus=self._address)
        except Exception as error:  # no bus address, no socket, refused: all mean "no bus"
            log.info("No D-Bus session bus for notifications: %s", error)
            self._give_up(f"There is no desktop session bus ({error}).")
            return
        with self._lock:
            self._connection = connection
        try:
            rule = MatchRule(type="signal", interface=INTERFACE, path=PATH)
            connection.send(message_bus.AddMatch(rule))
            self._loop(connection)
        except OSError as error:
            log.warning("The D-Bus connection for notifications failed: %s", error)
            self._give_up(f"The desktop session bus went away ({error}).")
        finally:
            with self._lock:
                self._connection = None
            connection.close()

    def _loop(self, connection: DBusConnection) -> None:
        while True:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    return
                token, notification = item
                serial = next(connection.outgoing_serial)
                self._pending[serial] = token
                connection.send(notification.message(), serial=serial)
            try:
                message = connection.receive()
            except ReceiveStopped:
                connection.reset_interrupt()
                continue
            self._dispatch(message)

    def _dispatch(self, message: Message) -> None:
        header = message.header
        if header.message_type in (MessageType.method_return, MessageType.error):
            token = self._pending.pop(header.fields.get(HeaderFields.reply_serial, -1), None)
            if token is None:
                return  # the reply to AddMatch
            if header.message_type is MessageType.method_return:
                self.shown.emit(token, int(message.body[0]))
            else:
                name = header.fields.get(HeaderFields.error_name, "")
                detail = message.body[0] if message.body else ""
                log.info("Notify failed: %s %s", name, detail)
                self.unavailable.emit(token, f"The desktop did not show it ({name}).")
        elif header.message_type is MessageType.signal:
            if header.fields.get(HeaderFields.interface) != INTERFACE:
                return
            member = header.fields.get(HeaderFields.member)
            if member == "ActionInvoked":
                self.action_invoked.emit(int(message.body[0]), str(message.body[1]))
            elif member == "NotificationClosed":
                self.closed.emit(int(message.body[0]))

    def _give_up(self, reason: str) -> None:
        with self._lock:
            self._failure = reason
            waiting = []
            while True:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
        tokens = [item[0] for item in waiting if not isinstance(item, _Stop)]
        tokens += self._pending.values()
        self._pending.clear()
        for token in tokens:
            self.unavailable.emit(token, reason)
