"""The desktop entry and the AppStream metainfo pass the freedesktop validators and agree."""

from __future__ import annotations

import configparser
import re
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

from mailclient import APP_ID, APP_NAME, __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
FLATPAK = PACKAGING / f"{APP_ID}.yml"
ICONS = ROOT / "resources" / "icons" / "hicolor"
SCREENSHOTS = PACKAGING / "screenshots"
# Where the website publishes packaging/screenshots/ (AppStream wants web URLs).
SCREENSHOTS_URL = "https://mailclient.org/screenshots/"


def problems(output: str, markers: tuple[str, ...]) -> list[str]:
    return [line for line in output.splitlines() if any(m in line for m in markers)]


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_passes_desktop_file_validate() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert problems(output, (": error:", ": warning:")) == []


def test_metainfo_passes_appstreamcli_validate() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", "--explain", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # E: errors, W: warnings; I: (infos) and P: (pedantic hints) are advice.
    assert [line for line in output.splitlines() if line[:2] in ("E:", "W:")] == [], output


def test_desktop_entry_opens_mailto_links_and_message_files_with_our_command_and_icon() -> None:
    entry = desktop_entry()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    command, field = entry["Exec"].split()
    assert command in scripts
    assert field == "%u"
    assert {"x-scheme-handler/mailto", "message/rfc822"} <= set(entry["MimeType"].split(";"))
    assert {"Network", "Email"} <= set(entry["Categories"].split(";"))
    assert entry["Icon"] == APP_ID
    assert (ICONS / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    # X11 window managers match the window to this entry by its WM_CLASS, set by Qt from the
    # application name.
    assert entry["StartupWMClass"] == APP_NAME


def test_metainfo_names_the_entry_the_version_and_screenshots() -> None:
    component = ET.parse(METAINFO).getroot()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == DESKTOP.name
    assert component.findtext("project_license") == project["license"]
    releases = [r.get("version") for r in component.iter("release")]
    assert releases[0] == __version__, "add a <release> for the new version"
    images = [i.text or "" for i in component.iter("image")]
    assert images and all(i.startswith("https://") for i in images)


def test_flatpak_manifest_builds_this_app() -> None:
    manifest = FLATPAK.read_text()
    assert re.search(rf"^app-id: {re.escape(APP_ID)}$", manifest, re.MULTILINE)
    assert re.search(r"^command: mailclient$", manifest, re.MULTILINE)
    # It installs the files by ${FLATPAK_ID}, which is the app-id checked above.
    for installed in (DESKTOP, METAINFO):
        assert f"packaging/${{FLATPAK_ID}}{installed.name.removeprefix(APP_ID)}" in manifest


def test_metainfo_screenshots_are_the_repository_copies_at_their_size() -> None:
    component = ET.parse(METAINFO).getroot()
    images = list(component.iter("image"))
    assert images
    listed = set()
    for image in images:
        url = image.text or ""
        assert url.startswith(SCREENSHOTS_URL), url
        path = SCREENSHOTS / url.removeprefix(SCREENSHOTS_URL)
        assert path.is_file(), f"{url} has no copy at {path}"
        data = path.read_bytes()
        # PNG: the signature, then the IHDR chunk with width and height (big-endian).
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
        size = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
        assert size == (int(image.get("width", 0)), int(image.get("height", 0))), path
        # Small enough for a software centre to fetch on a phone connection.
        assert len(data) < 200_000, f"{path} is {len(data):,} bytes: optimise it"
        listed.add(path.name)
    assert listed == {p.name for p in SCREENSHOTS.iterdir()}, "a screenshot not listed"
