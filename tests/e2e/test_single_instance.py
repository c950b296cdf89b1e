"""A second ``mailclient`` hands its arguments to the running one and exits.

The app runs as a real subprocess (offscreen); the first instance's log (``-v``) shows what
it received. The compose window that a mailto: URL opens belongs to the compose issue.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailclient.app.single_instance import LOCK_FILE_NAME

URL = "mailto:bob@example.org?subject=Hi"
LISTENING = "Listening for later starts"
# Generous: two cores shared by several test runs. Only a guard against hanging forever.
STARTUP_TIMEOUT = 60


class App:
    """A running ``python -m mailclient`` whose stderr lines can be awaited."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailclient", "-v", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, text: str) -> None:
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=STARTUP_TIMEOUT))
            except queue.Empty:
                pytest.fail(f"never logged {text!r}; log so far:\n{''.join(self.seen)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


StartApp = Callable[..., App]


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    # A short private runtime folder: the socket path must fit AF_UNIX's 107 bytes.
    runtime = tempfile.mkdtemp(prefix="mc-")
    yield {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": runtime,
        "PYTHONUNBUFFERED": "1",
    }
    shutil.rmtree(runtime)


@pytest.fixture
def start(env: dict[str, str]) -> Iterator[StartApp]:
    apps: list[App] = []

    def start_app(profile: Path, *args: str) -> App:
        app = App(env, "--profile", str(profile), *args)
        apps.append(app)
        return app

    yield start_app
    for app in apps:
        app.stop()


def run_second(env: dict[str, str], profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )


def test_second_start_hands_its_mailto_url_to_the_first_and_exits(
    start: StartApp, env: dict[str, str], tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    first = start(profile)
    first.wait_for(LISTENING)
    second = run_second(env, profile, URL)
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    first.wait_for(f"Asked to open {URL}")
    assert first.process.poll() is None


def test_second_start_hands_a_message_file_by_its_absolute_path(
    start: StartApp, env: dict[str, str], tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    first = start(profile)
    first.wait_for(LISTENING)
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "offer.eml").write_bytes(b"Subject: offer\r\n\r\nHi\r\n")
    # Started from another folder than the first, with a path relative to its own.
    second = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), "saved/offer.eml"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert second.returncode == 0, second.stderr
    first.wait_for(f"Asked to open {saved / 'offer.eml'}")
    assert first.process.poll() is None


def test_two_profiles_run_side_by_side(
    start: StartApp, env: dict[str, str], tmp_path: Path
) -> None:
    first = start(tmp_path / "one")
    first.wait_for(LISTENING)
    other = start(tmp_path / "two")
    other.wait_for(LISTENING)
    assert first.process.poll() is None and other.process.poll() is None


def test_a_crashed_first_start_does_not_block_the_next(
    start: StartApp, env: dict[str, str], tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    crashed = start(profile)
    crashed.wait_for(LISTENING)
    crashed.process.send_signal(signal.SIGKILL)
    crashed.process.wait(timeout=30)
    # What a crash leaves behind: the lock file and the socket file.
    assert (profile / LOCK_FILE_NAME).exists()
    assert list(Path(env["XDG_RUNTIME_DIR"]).glob("mailclient-*"))
    after = start(profile)
    after.wait_for(LISTENING)
    second = run_second(env, profile, URL)
    assert second.returncode == 0, second.stderr
    after.wait_for(f"Asked to open {URL}")
