"""mailclient.resources ships: from a built wheel, the wheel as a zip, and an editable install.

Each check runs in a fresh interpreter from a folder outside the source tree, so that only
the installation under test can provide ``mailclient``. (The PyInstaller bundle is checked
by packaging/build-bundle.sh, which is too slow for every test run.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mailclient.ui.widgets.icons import THEME_NAMES

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"

# Loads the icons the way the window does and says where they came from.
PROBE = """
import importlib.resources, json, sys
import mailclient
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([])
from mailclient.ui.widgets.icons import THEME_NAMES, app_icon, icon
print(json.dumps({
    "module": mailclient.__file__,
    "resources": str(importlib.resources.files("mailclient.resources")),
    "app_icon_sizes": [s.width() for s in app_icon().availableSizes()],
    "drawn": sorted(n for n in THEME_NAMES if not icon(n).pixmap(24).isNull()),
}))
"""


def copy_source_tree(target: Path) -> Path:
    """The project without its venv and build output: a clean checkout."""
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__")
    return Path(shutil.copytree(ROOT, target, ignore=ignore))


def run_probe(cwd: Path, pythonpath: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": pythonpath, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    probe: dict[str, object] = json.loads(result.stdout)
    return probe


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = copy_source_tree(tmp_path_factory.mktemp("src") / "mailclient")
    out = tmp_path_factory.mktemp("wheel")
    # Offline and with the test venv's setuptools: no build isolation.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("mailclient-*.whl")
    return built


def test_wheel_carries_every_resource_inside_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"mailclient/resources/{p.relative_to(RESOURCES).as_posix()}"
        for p in RESOURCES.rglob("*")
        if p.suffix in (".svg", ".png", ".json", ".py")
    }
    assert expected <= names
    assert not [n for n in names if n.startswith("resources/")]


def test_icons_load_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    probe = run_probe(tmp_path, str(site))
    assert str(probe["module"]).startswith(str(site))
    assert str(probe["resources"]).startswith(str(site))
    assert probe["app_icon_sizes"] == [16, 22, 24, 32, 48, 64, 128, 256]
    assert probe["drawn"] == sorted(THEME_NAMES)


def test_icons_load_from_the_wheel_as_a_zip(wheel: Path, tmp_path: Path) -> None:
    probe = run_probe(tmp_path, str(wheel))
    assert str(probe["module"]).startswith(str(wheel))
    assert probe["app_icon_sizes"] == [16, 22, 24, 32, 48, 64, 128, 256]
    assert probe["drawn"] == sorted(THEME_NAMES)


def test_editable_install_reads_the_source_tree(tmp_path: Path) -> None:
    source = copy_source_tree(tmp_path / "src")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from setuptools import build_meta; build_meta.build_editable({str(wheels)!r})",
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    site = tmp_path / "site"
    (editable,) = wheels.glob("*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(editable),
        ],
        check=True,
        capture_output=True,
    )
    # A file added to the source tree after installing shows up: the install points there.
    (source / "resources" / "icons" / "added-later.svg").write_text("<svg/>")
    script = (
        "import site, sys; site.addsitedir(sys.argv[1]); "
        "import importlib.resources as r; "
        "print(r.files('mailclient.resources').joinpath('icons', 'added-later.svg').read_text())"
    )
    # -S: without the test venv's own editable install, which would answer first.
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(site)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "<svg/>"


def test_committed_pngs_match_their_drawings() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "render-icons"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
