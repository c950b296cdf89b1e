"""Small process and network helpers shared by the rig's servers.

Several engineers run the suite at the same time on one machine, so nothing here uses a
fixed port or path: ports come from the kernel, files live in a per-session directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
ALT_LOOPBACK = "127.0.0.2"


class RigError(RuntimeError):
    """A server of the rig could not be set up."""


class PortInUse(RigError):
    """A port picked as free was taken by someone else before the server bound it."""


def free_ports(count: int, hosts: Sequence[str] = (LOOPBACK, ALT_LOOPBACK)) -> list[int]:
    """Return ``count`` distinct ports that are free on every address in ``hosts``.

    The probe sockets stay open until all ports are chosen so that the kernel cannot hand
    out the same port twice; there is still a short race with other processes between
    closing them and the server binding, which callers handle by retrying (PortInUse).
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            first = socket.socket()
            held.append(first)
            first.bind((hosts[0], 0))
            port = first.getsockname()[1]
            try:
                for host in hosts[1:]:
                    other = socket.socket()
                    held.append(other)
                    other.bind((host, port))
            except OSError:
                continue
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def wait_until_listening(
    process: subprocess.Popen[bytes],
    endpoints: Iterable[tuple[str, int]],
    log_files: Sequence[Path],
    what: str,
    timeout: float = 15.0,
) -> None:
    """Wait until every endpoint accepts connections; fail early if ``process`` dies."""
    pending = list(endpoints)
    deadline = time.monotonic() + timeout
    while pending:
        if process.poll() is not None:
            _raise_start_failure(what, log_files, f"exited with status {process.returncode}")
        if time.monotonic() > deadline:
            _raise_start_failure(what, log_files, f"not listening on {pending} after {timeout}s")
        if port_open(*pending[0]):
            pending.pop(0)
        else:
            time.sleep(0.02)


def _raise_start_failure(what: str, log_files: Sequence[Path], reason: str) -> None:
    logs = "\n".join(tail(path) for path in log_files)
    error = PortInUse if "Address already in use" in logs else RigError
    raise error(f"{what} failed to start: {reason}\n{logs}")


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- {path} ---\n" + "\n".join(text)


class ServerProcess:
    """Base for a server whose master runs in its own session (process group)."""

    _process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The master's pid, which is also its process group id; None when stopped."""
        return self._process.pid if self._process is not None else None

    def _spawn(self, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as output:
            self._process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        return self._process

    def stop(self) -> None:
        if self._process is not None:
            stop_process_group(self._process)
            self._process = None


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server started with ``start_new_session=True``, and everything it started.

    SIGTERM to the master is the servers' own way to shut down: it passes the signal on to
    its children. Postfix' master does not wait for them, so we wait until no member of
    the process group is left (zombies aside: orphans are reaped by PID 1, which may take
    its time), and SIGKILL whatever ignores SIGTERM. Only then are the ports free again.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    if not _wait_group_gone(process.pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        _wait_group_gone(process.pid, timeout)


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_reaped(pgids: Iterable[int], timeout: float = 5.0) -> None:
    """Wait until even the zombies of these process groups are gone.

    Children that outlive their master are reparented to PID 1, which reaps them; in some
    containers PID 1 does so only about once a second. Waiting for it at the end of a
    session means a ``pgrep`` right after the run finds nothing.
    """
    deadline = time.monotonic() + timeout
    for pgid in pgids:
        while group_members(pgid, zombies=True) and time.monotonic() < deadline:
            time.sleep(0.05)


def group_members(pgid: int, zombies: bool = False) -> list[int]:
    """Pids of the processes in group ``pgid``; exited ones (zombies) only if asked."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text()
        except OSError:
            continue
        # After the parenthesised command name: state, ppid, pgrp, ...
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and (zombies or state != "Z"):
            members.append(int(entry))
    return members
