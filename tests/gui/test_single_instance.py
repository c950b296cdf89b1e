"""The single-instance lock and socket of a profile, in one process."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from pytestqt.qtbot import QtBot

from mailclient.app.single_instance import (
    LOCK_FILE_NAME,
    SingleInstance,
    decode_arguments,
    encode_arguments,
    server_name,
)
from mailclient.core.errors import ProfileInUse
from mailclient.ui.window.main_window import SETTINGS_FILE, window_settings


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private XDG_RUNTIME_DIR with a short path: AF_UNIX paths end at 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="mc-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.delenv("FLATPAK_ID", raising=False)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    folder.mkdir()
    return folder


def test_server_name_is_per_profile_folder(runtime_dir: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert server_name(a) != server_name(b)
    assert server_name(a) == server_name(tmp_path / "b" / ".." / "a")
    assert Path(server_name(a)).parent == runtime_dir


def test_inside_a_flatpak_the_socket_goes_where_all_instances_see_it(
    runtime_dir: Path, profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = runtime_dir / "app" / "org.mailclient.Mailclient"
    shared.mkdir(parents=True)
    monkeypatch.setenv("FLATPAK_ID", "org.mailclient.Mailclient")
    assert Path(server_name(profile)).parent == shared


def test_only_the_first_claim_of_a_profile_succeeds(
    runtime_dir: Path, profile: Path, tmp_path: Path
) -> None:
    first = SingleInstance(profile)
    assert first.claim()
    assert not SingleInstance(profile).claim()
    other = tmp_path / "other"
    other.mkdir()
    assert SingleInstance(other).claim()


def test_arguments_arrive_and_malformed_messages_are_dropped(
    qtbot: QtBot, runtime_dir: Path, profile: Path
) -> None:
    instance = SingleInstance(profile)
    assert instance.claim()
    instance.listen()
    received: list[list[str]] = []
    instance.arguments_received.connect(received.append)

    def send_raw(data: bytes) -> bytes:
        socket = QLocalSocket()
        socket.connectToServer(instance.server_name)
        qtbot.waitUntil(lambda: socket.state() == QLocalSocket.LocalSocketState.ConnectedState)
        socket.write(data)
        qtbot.waitUntil(lambda: socket.state() == QLocalSocket.LocalSocketState.UnconnectedState)
        return bytes(socket.readAll().data())

    assert send_raw(b'{"arguments": "not a list"}\n') == b""
    assert send_raw(b"\xff not json\n") == b""
    assert received == []
    url = "mailto:bob@example.org?subject=Hi"
    assert send_raw(encode_arguments([url])) == b"ok\n"
    assert received == [[url]]


def test_send_gives_up_readably_when_the_first_does_not_answer(
    runtime_dir: Path, profile: Path
) -> None:
    first = SingleInstance(profile)
    assert first.claim()
    # Something listens but never answers: a hung first instance.
    silent = QLocalServer()
    assert silent.listen(first.server_name)
    with pytest.raises(ProfileInUse, match="does not answer"):
        SingleInstance(profile).send(["mailto:bob@example.org"], timeout=0.3)
    silent.close()
    # Nothing listens at all.
    with pytest.raises(ProfileInUse, match="If it hangs, end it"):
        SingleInstance(profile).send([], timeout=0.3)


def test_messages_round_trip() -> None:
    arguments = ["mailto:a@example.org?subject=Grüße", "--x", ""]
    line = encode_arguments(arguments)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_arguments(line.rstrip(b"\n")) == arguments
    for bad in (b"[]", b'{"arguments": [1]}', b"{}"):
        with pytest.raises(ValueError):
            decode_arguments(bad)


def test_the_lock_and_the_window_settings_are_private(profile: Path) -> None:
    old = os.umask(0o022)
    try:
        instance = SingleInstance(profile)
        assert instance.claim()
        settings = window_settings(profile)
        settings.setValue("geometry", "somewhere")
        settings.sync()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(profile / LOCK_FILE_NAME).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(profile / SETTINGS_FILE).st_mode) == 0o600
