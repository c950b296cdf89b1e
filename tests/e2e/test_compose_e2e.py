"""The whole application as a separate process on a real X server (Xvfb), driven by xdotool.

``mailclient "mailto:..."`` opens a compose window that Ctrl+Return sends to the rig's
Postfix; a second start hands its link to the running one; and a draft typed into the
window survives the application being killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
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
from urllib.parse import quote

import pytest

from tests.integration.sending import make_profile, parse
from tests.rig import MailServers
from tests.support.waiting import wait_until
from tests.support.xserver import private_display

TIMEOUT = 60.0  # seconds: two cores shared by several test runs; only a guard


pytestmark = [pytest.mark.mail_users("alice", "bob"), pytest.mark.usefixtures("secret_service")]


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    if shutil.which("xdotool") is None:
        pytest.fail("the end-to-end tests need Xvfb and xdotool (tools/apt-packages.txt)")
    with private_display() as name:
        yield name


@pytest.fixture
def env(display: str) -> Iterator[dict[str, str]]:
    # A short private runtime folder: the single-instance socket must fit AF_UNIX's limit.
    runtime = tempfile.mkdtemp(prefix="mc-")
    yield {
        **os.environ,  # with the rig's Secret Service bus
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_RUNTIME_DIR": runtime,
        "PYTHONUNBUFFERED": "1",
    }
    shutil.rmtree(runtime, ignore_errors=True)


class App:
    """A running ``python -m mailclient -v``; its log lines can be awaited."""

    def __init__(self, env: dict[str, str], profile: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailclient", "-v", "--profile", str(profile), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)

    def text(self) -> str:
        with contextlib.suppress(queue.Empty):
            while True:
                self.log.append(self._lines.get_nowait())
        return "".join(self.log)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)


StartApp = Callable[..., App]


@pytest.fixture
def start(env: dict[str, str]) -> Iterator[StartApp]:
    apps: list[App] = []

    def start_app(profile: Path, *args: str) -> App:
        app = App(env, profile, *args)
        apps.append(app)
        return app

    yield start_app
    for app in apps:
        app.stop()


def xdotool(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["xdotool", *args], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    return done.stdout.strip()


def wait_for(what: str, condition: Callable[[], object], app: App | None = None) -> None:
    exited = False

    def done() -> object:
        nonlocal exited
        exited = app is not None and app.process.poll() is not None
        return exited or condition()

    try:
        wait_until(done, TIMEOUT, what=what, interval=0.2)
    except pytest.fail.Exception:
        if app is None:
            raise
        pytest.fail(f"gave up waiting for {what}\n{app.text()}")
    if exited:
        assert app is not None
        pytest.fail(f"mailclient exited while waiting for {what}:\n{app.text()}")


def window_named(env: dict[str, str], title: str, app: App) -> str:
    """The X window id of the window titled exactly ``title``, once it is shown."""
    found: list[str] = []

    def look() -> bool:
        ids = xdotool(env, "search", "--onlyvisible", "--name", f"^{title}$").split()
        found[:] = ids
        return bool(ids)

    wait_for(f"a window titled {title!r}", look, app)
    return found[-1]


def focus(env: dict[str, str], window: str) -> None:
    # No window manager runs on the test display: give the window the keyboard ourselves.
    xdotool(env, "windowfocus", "--sync", window)


def mailto(subject: str, body: str = "") -> str:
    url = f"mailto:bob@example.org?subject={quote(subject)}"
    return url + (f"&body={quote(body)}" if body else "")


def received(servers: MailServers, subject: str) -> list[bytes]:
    return [r for r in servers.fetch_all("bob") if parse(r)["Subject"] == subject]


def test_the_display_does_not_reset_when_its_last_client_leaves(env: dict[str, str]) -> None:
    """An X server resets when its last client leaves, as when a test kills the app: a
    client connecting meanwhile cannot open the display, so the app started again at
    once may not come up. A reset also drops what was set on the root window."""
    name = "_MAILCLIENT_TEST_MARK"
    xprop = ["xprop", "-root"]
    subprocess.run(
        [*xprop, "-f", name, "8s", "-set", name, "kept"], env=env, check=True, timeout=TIMEOUT
    )
    # That xprop was the display's only client.
    shown = subprocess.run(
        [*xprop, name], env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f'{name}(STRING) = "kept"'


def test_mailto_start_opens_a_compose_window_and_ctrl_return_sends(
    start: StartApp, env: dict[str, str], servers: MailServers, tmp_path: Path
) -> None:
    profile = make_profile(tmp_path / "profile", servers, "alice").root
    subject = "Hello from a mailto: link"
    app = start(profile, mailto(subject, "Sent from the end-to-end test."))
    window = window_named(env, f"Write: {subject}", app)
    focus(env, window)
    xdotool(env, "key", "--clearmodifiers", "ctrl+Return")
    wait_for("the message in bob's INBOX", lambda: received(servers, subject), app)
    [raw] = received(servers, subject)
    message = parse(raw)
    assert message["To"] == "bob@example.org"
    assert message["From"] == "Alice <alice@example.org>"
    assert "Sent from the end-to-end test." in message.get_body(("plain",)).get_content()
    wait_for(
        "the compose window to close",
        lambda: not xdotool(env, "search", "--onlyvisible", "--name", f"^Write: {subject}$"),
        app,
    )


def test_a_second_start_opens_the_link_in_the_running_window(
    start: StartApp, env: dict[str, str], servers: MailServers, tmp_path: Path
) -> None:
    profile = make_profile(tmp_path / "profile", servers, "alice").root
    first = start(profile)
    wait_for("the first start to listen", lambda: "Listening for later starts" in first.text())
    subject = "Handed to the running window"
    second = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), mailto(subject)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert second.returncode == 0, second.stderr
    window = window_named(env, f"Write: {subject}", first)
    focus(env, window)
    xdotool(env, "key", "--clearmodifiers", "ctrl+Return")
    wait_for("the message in bob's INBOX", lambda: received(servers, subject), first)


def test_a_draft_survives_sigkill_and_is_offered_at_the_next_start(
    start: StartApp, env: dict[str, str], servers: MailServers, tmp_path: Path
) -> None:
    profile = make_profile(tmp_path / "profile", servers, "alice").root
    subject = "Words that must not be lost"
    words = "I typed this before the crash."
    app = start(profile, mailto(subject))
    window = window_named(env, f"Write: {subject}", app)
    focus(env, window)
    xdotool(env, "key", "--clearmodifiers", "Tab", "Tab")  # To, Subject, then the text
    xdotool(env, "type", "--delay", "20", words)
    drafts = profile / "drafts"

    def autosaved() -> bool:
        return any(words in p.read_text("utf-8") for p in drafts.glob("*.json"))

    wait_for("the autosave", autosaved, app)
    app.process.send_signal(signal.SIGKILL)
    app.process.wait(timeout=TIMEOUT)

    again = start(profile)
    offer = window_named(env, "Unsent drafts", again)
    focus(env, offer)
    xdotool(env, "key", "Return")  # "Open", the default
    window = window_named(env, f"Write: {subject}", again)
    focus(env, window)
    xdotool(env, "key", "--clearmodifiers", "ctrl+Return")
    wait_for("the recovered draft in bob's INBOX", lambda: received(servers, subject), again)
    [raw] = received(servers, subject)
    assert words in parse(raw).get_body(("plain",)).get_content()
    wait_for("the local draft to go once sent", lambda: not list(drafts.glob("*.json")), again)
