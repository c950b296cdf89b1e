"""A loopback TCP proxy that kills a process at a chosen point of a conversation.

It forwards bytes both ways without looking into them (TLS stays end to end, so the
certificate checks run for real) and counts what the server sends. Armed with a pid and a
number n, it SIGKILLs that process when the server's n-th chunk arrives, before passing
it on: the client dies without hearing that reply, even when the server has already
acted on the command before it, such as the end of the message data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading


class KillProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._kill_at = 0
        self.server_chunks = 0  # chunks the server sent since the last arm()
        self.killed = threading.Event()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, pid: int | None, kill_at: int = 0) -> None:
        """Count from zero again; SIGKILL ``pid`` at the server's ``kill_at``-th chunk."""
        with self._lock:
            self._pid, self._kill_at = pid, kill_at
            self.server_chunks = 0
            self.killed.clear()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_server and self._count_and_maybe_kill():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _count_and_maybe_kill(self) -> bool:
        with self._lock:
            self.server_chunks += 1
            if self._pid is None or self.server_chunks != self._kill_at:
                return False
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._pid = None
            self.killed.set()
            return True
