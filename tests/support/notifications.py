"""A stand-in desktop notification service on a test D-Bus bus, recording what it is asked.

It owns org.freedesktop.Notifications like a notification daemon does, checks Notify's
signature as strictly as GNOME Shell does (a call with an int32 replaces_id is refused),
answers with increasing notification ids, and can play the user: invoke() sends
ActionInvoked to the application that asked for that notification, as GNOME Shell and
KDE Plasma do.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.threading import DBusConnection, ReceiveStopped, open_dbus_connection

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
SIGNATURE = "susssasa{sv}i"


@dataclass(frozen=True)
class NotifyCall:
    sender: str  # the caller's unique bus name
    id: int  # the id this service gave the notification
    app_name: str
    replaces_id: int
    icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]
    timeout: int


@dataclass
class FakeNotificationService:
    """Run with ``with``; ``calls`` fills as Notify calls come in."""

    address: str
    calls: list[NotifyCall] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # signatures of refused calls
    _connection: DBusConnection | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> FakeNotificationService:
        self._connection = open_dbus_connection(bus=self.address)
        # Name requests are answered before anything else is read: no thread yet.
        reply = self._call(message_bus.RequestName(NAME, 4))  # 4: DO_NOT_QUEUE
        assert reply.body == (1,), f"could not own {NAME}: {reply.body}"
        self._thread = threading.Thread(target=self._serve, name="fake-notifications", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._connection is not None and self._thread is not None
        self._connection.interrupt()
        self._thread.join(10)
        self._connection.close()

    def _call(self, message: Message) -> Message:
        assert self._connection is not None
        serial = next(self._connection.outgoing_serial)
        self._connection.send(message, serial=serial)
        while True:
            answer = self._connection.receive(timeout=10)
            if answer.header.fields.get(HeaderFields.reply_serial) == serial:
                return answer

    def _serve(self) -> None:
        assert self._connection is not None
        while not self._stop.is_set():
            try:
                message = self._connection.receive()
            except ReceiveStopped:
                self._connection.reset_interrupt()
                continue
            except OSError:
                return
            header = message.header
            if header.message_type is not MessageType.method_call:
                continue
            member = header.fields.get(HeaderFields.member)
            signature = header.fields.get(HeaderFields.signature, "")
            if member != "Notify":
                self._connection.send(
                    new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", (member,))
                )
            elif signature != SIGNATURE:
                with self._lock:
                    self.refused.append(signature)
                self._connection.send(
                    new_error(
                        message,
                        "org.freedesktop.DBus.Error.InvalidArgs",
                        "s",
                        (f"Type of message, '({signature})', does not match '({SIGNATURE})'",),
                    )
                )
            else:
                with self._lock:
                    call = NotifyCall(
                        header.fields[HeaderFields.sender],
                        len(self.calls) + 1,
                        *message.body,
                    )
                    self.calls.append(call)
                self._connection.send(new_method_return(message, "u", (call.id,)))

    def invoke(self, notification_id: int, action: str = "default") -> None:
        """The user clicks the notification (``default``) or one of its buttons."""
        call = next(c for c in self.calls if c.id == notification_id)
        signal = new_signal(
            DBusAddress(PATH, interface=NAME), "ActionInvoked", "us", (notification_id, action)
        )
        signal.header.fields[HeaderFields.destination] = call.sender
        assert self._connection is not None
        self._connection.send(signal)
