"""packaging/install-desktop.sh puts the entry, metainfo and icons where a desktop finds them."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from mailclient import APP_ID

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "install-desktop.sh"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def run_script(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the script with a private data folder and an xdg-mime that records its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    xdg_mime = bin_dir / "xdg-mime"
    xdg_mime.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "xdg-mime.log"}\n')
    xdg_mime.chmod(xdg_mime.stat().st_mode | stat.S_IXUSR)
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "share"),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True)


def installed_files(share: Path) -> set[str]:
    return {p.relative_to(share).as_posix() for p in share.rglob("*") if p.is_file()}


def test_installs_entry_metainfo_and_icons_and_claims_mailto(tmp_path: Path) -> None:
    result = run_script(tmp_path)
    assert result.returncode == 0, result.stderr
    share = tmp_path / "share"
    expected = {
        f"applications/{APP_ID}.desktop",
        f"metainfo/{APP_ID}.metainfo.xml",
        f"icons/hicolor/scalable/apps/{APP_ID}.svg",
        *(f"icons/hicolor/{s}x{s}/apps/{APP_ID}.png" for s in SIZES),
    }
    assert expected <= installed_files(share)
    entry = share / "applications" / f"{APP_ID}.desktop"
    validated = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True)
    assert validated.returncode == 0, validated.stdout
    # update-desktop-database indexed the entry as a mailto: handler ...
    cache = (share / "applications" / "mimeinfo.cache").read_text()
    assert f"x-scheme-handler/mailto={APP_ID}.desktop;" in cache
    assert f"message/rfc822={APP_ID}.desktop;" in cache  # offered for .eml files
    # ... and xdg-mime made it the default one.
    log = (tmp_path / "xdg-mime.log").read_text()
    assert log == f"default {APP_ID}.desktop x-scheme-handler/mailto\n"


def test_exec_names_a_bundle_path_with_spaces(tmp_path: Path) -> None:
    bundle = tmp_path / "my apps" / "mailclient"
    bundle.mkdir(parents=True)
    executable = bundle / "mailclient"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    result = run_script(tmp_path, "--exec", str(executable))
    assert result.returncode == 0, result.stderr
    entry = (tmp_path / "share" / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{executable}" %u\n' in entry
    validated = subprocess.run(
        ["desktop-file-validate", str(tmp_path / "share" / "applications" / f"{APP_ID}.desktop")],
        capture_output=True,
    )
    assert validated.returncode == 0, validated.stdout


def test_exec_that_is_not_executable_is_refused(tmp_path: Path) -> None:
    result = run_script(tmp_path, "--exec", str(tmp_path / "nothing-here"))
    assert result.returncode != 0
    assert "not executable" in result.stderr
    assert not (tmp_path / "share" / "applications" / f"{APP_ID}.desktop").exists()


def test_uninstall_removes_what_it_installed(tmp_path: Path) -> None:
    assert run_script(tmp_path).returncode == 0
    result = run_script(tmp_path, "--uninstall")
    assert result.returncode == 0, result.stderr
    # Only the desktop database's own index is left, now without us.
    share = tmp_path / "share"
    assert installed_files(share) == {"applications/mimeinfo.cache"}
    assert APP_ID not in (share / "applications" / "mimeinfo.cache").read_text()
