"""One running window per profile: a later start hands its arguments to the first and exits.

The first start of a profile takes a lock file in the profile folder and keeps it for its
whole run; Qt's lock file records the process, so once that process is gone (even after a
crash) the lock counts as stale and the next start takes it over. The holder listens on a
local socket named after the profile. A later start of the same profile finds the lock
taken, connects, sends its arguments as one line of JSON and waits for ``ok``. Different
profiles have different locks and sockets, so they run side by side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, Signal

from mailclient.core.errors import ProfileInUse, ProfileLockFailed
from mailclient.core.profile import FILE_MODE

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

LOCK_FILE_NAME = "instance.lock"
ACKNOWLEDGEMENT = b"ok\n"
# A list of a few URLs and paths; anything bigger is not one of ours.
MAX_MESSAGE_BYTES = 1 << 20
# Long enough for a first start that has the lock but is still building its window.
SEND_TIMEOUT_SECONDS = 10.0
RETRY_INTERVAL_SECONDS = 0.1


def server_name(profile_root: Path) -> str:
    """The local socket of a profile: per user and profile folder, short enough for AF_UNIX."""
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{user}\0{profile_root.resolve()}".encode()).hexdigest()[:20]
    name = f"mailclient-{digest}"
    # The runtime folder belongs to the user alone; Qt's default, the temp folder, does not.
    # Inside a Flatpak only the app's own subfolder is shared by all of its instances.
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime_dir or not os.path.isdir(runtime_dir):
        return name
    flatpak_id = os.environ.get("FLATPAK_ID")
    app_dir = os.path.join(runtime_dir, "app", flatpak_id) if flatpak_id else ""
    return os.path.join(app_dir if app_dir and os.path.isdir(app_dir) else runtime_dir, name)


def encode_arguments(arguments: list[str]) -> bytes:
    return json.dumps({"arguments": arguments}).encode() + b"\n"


def decode_arguments(line: bytes) -> list[str]:
    """The arguments in one message line; ValueError when it is not a message of ours."""
    message = json.loads(line)
    arguments = message.get("arguments") if isinstance(message, dict) else None
    if not isinstance(arguments, list) or not all(isinstance(a, str) for a in arguments):
        raise ValueError("not a list of strings")
    return arguments


class SingleInstance(QObject):
    """The lock and the socket of one profile; see the module docstring for the protocol."""

    arguments_received = Signal(list)

    def __init__(self, profile_root: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile_root = profile_root
        self.server_name = server_name(profile_root)
        self._lock = QLockFile(str(profile_root / LOCK_FILE_NAME))
        # Stale only when its process is gone, never by age: a run may last for weeks.
        self._lock.setStaleLockTime(0)
        self._server: QLocalServer | None = None

    def claim(self) -> bool:
        """Become the profile's running instance; False when another start already is."""
        if self._lock.tryLock(0):
            # QLockFile makes the file anew, readable by all; nothing in a profile is.
            os.chmod(self._lock.fileName(), FILE_MODE)
            return True
        if self._lock.error() == QLockFile.LockError.LockFailedError:
            return False
        reason = (
            "permission denied"
            if self._lock.error() == QLockFile.LockError.PermissionError
            else "unknown error"
        )
        raise ProfileLockFailed(str(self.profile_root), reason)

    def release(self) -> None:
        """Give the profile up again (after ``claim()``): a command that needed it alone."""
        self._lock.unlock()

    def listen(self) -> None:
        """Accept later starts (after ``claim()``, once the QApplication exists)."""
        # Qt's network module is loaded here, after the window's first paint.
        from PySide6.QtNetwork import QLocalServer

        # We hold the lock, so a socket found here was left by a run that crashed.
        QLocalServer.removeServer(self.server_name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.server_name):
            # The window works without it; later starts then say that this one does not answer.
            log.warning("Cannot listen for later starts: %s", server.errorString())
            return
        server.newConnection.connect(self._accept)
        self._server = server
        log.info("Listening for later starts on %s", server.fullServerName())

    def _accept(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            buffer = bytearray()
            socket.readyRead.connect(lambda s=socket, b=buffer: self._read(s, b))
            socket.disconnected.connect(socket.deleteLater)
            if socket.bytesAvailable():
                self._read(socket, buffer)

    def _read(self, socket: QLocalSocket, buffer: bytearray) -> None:
        buffer += bytes(socket.readAll().data())
        if b"\n" not in buffer:
            if len(buffer) > MAX_MESSAGE_BYTES:
                log.warning("Dropped an oversized message from a later start")
                socket.abort()
            return
        line = bytes(buffer[: buffer.index(b"\n")])
        try:
            arguments = decode_arguments(line)
        except ValueError:
            log.warning("Dropped a malformed message from a later start")
            socket.abort()
            return
        socket.write(ACKNOWLEDGEMENT)
        socket.disconnectFromServer()
        log.info("A later start sent %s", arguments)
        self.arguments_received.emit(arguments)

    def send(self, arguments: list[str], timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        """Hand ``arguments`` to the running instance (blocking; no QApplication needed)."""
        from PySide6.QtNetwork import QLocalSocket

        deadline = time.monotonic() + timeout

        def remaining_ms() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

        socket = QLocalSocket()
        while True:
            socket.connectToServer(self.server_name)
            if socket.waitForConnected(remaining_ms()):
                break
            # It holds the lock but is not listening yet (or any more): it may be starting.
            if time.monotonic() >= deadline:
                raise ProfileInUse(str(self.profile_root), socket.errorString())
            time.sleep(RETRY_INTERVAL_SECONDS)
        socket.write(encode_arguments(arguments))
        reply = b""
        while b"\n" not in reply:
            if not socket.waitForReadyRead(remaining_ms()):
                raise ProfileInUse(str(self.profile_root), "no acknowledgement")
            reply += bytes(socket.readAll().data())
        if reply != ACKNOWLEDGEMENT:
            raise ProfileInUse(str(self.profile_root), "an unexpected reply")
        socket.disconnectFromServer()
