"""The profile folder: its stable id, private modes, and folders that cannot be used."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mailclient.core.errors import ConfigError
from mailclient.core.profile import ID_FILE, Profile, create_private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_id_is_made_once_and_kept(tmp_path: Path) -> None:
    profile = Profile(tmp_path / "p").ensure()
    first = profile.id()
    assert len(first) == 32 and int(first, 16) >= 0
    assert Profile(tmp_path / "p").ensure().id() == first
    assert mode(profile.root / ID_FILE) == 0o600
    assert Profile(tmp_path / "other").ensure().id() != first
    # No temporary file is left behind.
    assert sorted(p.name for p in profile.root.iterdir()) == [ID_FILE]


def test_starts_at_the_same_time_agree_on_one_id(tmp_path: Path) -> None:
    profile = Profile(tmp_path).ensure()
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        ids.append(profile.id())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 8 and len(set(ids)) == 1
    assert (tmp_path / ID_FILE).read_text().strip() == ids[0]


def test_a_damaged_id_is_not_replaced(tmp_path: Path) -> None:
    profile = Profile(tmp_path).ensure()
    (tmp_path / ID_FILE).write_text("not an id\n")
    with pytest.raises(ConfigError, match=f"{ID_FILE} is damaged.*account password"):
        profile.id()
    assert (tmp_path / ID_FILE).read_text() == "not an id\n"


def test_opening_makes_every_file_private(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "drafts").mkdir(parents=True, mode=0o755)
    for name in ("config.json", "mail.sqlite3", "mail.sqlite3-wal", "drafts/1.json"):
        (root / name).write_text("x")
        os.chmod(root / name, 0o644)
    outside = tmp_path / "outside"
    outside.write_text("x")
    os.chmod(outside, 0o644)
    (root / "link").symlink_to(outside)
    os.chmod(root, 0o755)

    Profile(root).ensure()

    assert mode(root) == 0o700
    assert mode(root / "drafts") == 0o700
    for name in ("config.json", "mail.sqlite3", "mail.sqlite3-wal", "drafts/1.json"):
        assert mode(root / name) == 0o600, name
    assert mode(outside) == 0o644  # a link is not followed out of the profile


def test_create_private_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        create_private_file(tmp_path / "new")
    finally:
        os.umask(old)
    assert mode(tmp_path / "new") == 0o600
    (tmp_path / "kept").write_text("content")
    create_private_file(tmp_path / "kept")
    assert (tmp_path / "kept").read_text() == "content"


def test_a_file_is_no_profile_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="file as the profile folder: it is a file, not a folder"):
        Profile(tmp_path / "file").ensure()
    with pytest.raises(ConfigError, match=f"{tmp_path / 'file'} is a file, not a folder"):
        Profile(tmp_path / "file" / "below" / "deeper").ensure()
