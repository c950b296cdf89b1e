"""Icons come from the desktop's theme where it has them, else from our drawings."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QApplication

from mailclient.ui.widgets.icons import APP_ICON_SIZES, RESOURCES, THEME_NAMES, app_icon, icon

INDEX_THEME = """[Icon Theme]
Name=Test
Directories=24x24/actions

[24x24/actions]
Size=24
Context=Actions
Type=Fixed
"""


@pytest.fixture
def icon_theme(qapp: QApplication, tmp_path: Path) -> Iterator[Path]:
    """An empty icon theme of our own, instead of whatever the machine has installed."""
    saved = QIcon.themeSearchPaths(), QIcon.themeName(), QIcon.fallbackSearchPaths()
    theme = tmp_path / "icons" / "test"
    (theme / "24x24" / "actions").mkdir(parents=True)
    (theme / "index.theme").write_text(INDEX_THEME)
    QIcon.setThemeSearchPaths([str(tmp_path / "icons")])
    QIcon.setFallbackSearchPaths([])
    QIcon.setThemeName("test")
    yield theme
    QIcon.setThemeSearchPaths(saved[0])
    QIcon.setThemeName(saved[1])
    QIcon.setFallbackSearchPaths(saved[2])


@pytest.fixture
def text_color(qapp: QApplication) -> Iterator[QColor]:
    saved = qapp.palette()
    palette = QPalette(saved)
    color = QColor("#d01010")
    palette.setColor(QPalette.ColorRole.WindowText, color)
    qapp.setPalette(palette)
    yield color
    qapp.setPalette(saved)


def colors_in(image: QImage) -> set[str]:
    """The opaque colours of an image, ignoring antialiased edges."""
    return {
        image.pixelColor(x, y).name()
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).alpha() == 255
    }


def test_every_icon_has_a_drawing_and_every_drawing_a_name() -> None:
    folder = resources.files(RESOURCES).joinpath("icons", "fallback")
    drawings = {p.name.removesuffix(".svg") for p in folder.iterdir() if p.name.endswith(".svg")}
    assert drawings == set(THEME_NAMES)


def test_without_a_theme_icon_our_drawing_takes_the_text_colour(
    icon_theme: Path, text_color: QColor
) -> None:
    for name in THEME_NAMES:
        drawn = icon(name)
        assert drawn.name() == "", f"{name} came from a theme"
        image = drawn.pixmap(24).toImage()
        assert colors_in(image) == {text_color.name()}, name


def test_our_drawing_is_drawn_at_each_size_asked_and_greyed_when_disabled(
    icon_theme: Path, text_color: QColor
) -> None:
    drawn = icon("delete")
    for size in (16, 24, 37, 64):
        image = drawn.pixmap(size).toImage()
        assert image.size() == QSize(size, size)
        assert colors_in(image) == {text_color.name()}
    disabled = drawn.pixmap(QSize(24, 24), QIcon.Mode.Disabled).toImage()
    assert colors_in(disabled) and text_color.name() not in colors_in(disabled)


def test_a_palette_change_redraws_in_the_new_colour(
    qapp: QApplication, icon_theme: Path, text_color: QColor
) -> None:
    before = icon("reply").pixmap(24).toImage()
    palette = qapp.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor("#f0f0f0"))
    qapp.setPalette(palette)
    after = icon("reply").pixmap(24).toImage()
    assert colors_in(before) == {text_color.name()}
    assert colors_in(after) == {"#f0f0f0"}


def test_the_theme_icon_wins_where_the_theme_has_one(icon_theme: Path) -> None:
    image = QImage(24, 24, QImage.Format.Format_ARGB32)
    image.fill(QColor("#00ff00"))
    assert image.save(str(icon_theme / "24x24" / "actions" / "mail-reply-sender.png"))
    themed = icon("reply")
    assert themed.name() == "mail-reply-sender"
    assert colors_in(themed.pixmap(24).toImage()) == {"#00ff00"}
    # Another action the theme lacks still gets our drawing.
    assert icon("forward").name() == ""


def test_an_unknown_icon_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        icon("no-such-icon")


def test_app_icon_has_every_drawn_size(qapp: QApplication) -> None:
    application_icon = app_icon()
    assert application_icon.availableSizes() == [QSize(s, s) for s in APP_ICON_SIZES]
    small = application_icon.pixmap(16).toImage()
    assert small.size() == QSize(16, 16)
    assert any(small.pixelColor(8, y).alpha() == 255 for y in range(16))
