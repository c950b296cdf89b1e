"""Attachment file names made safe to create on disk."""

from __future__ import annotations

import pytest

from mailclient.mime.filename import MAX_BYTES, is_executable, safe_filename, unique_path_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\evil.exe", "evil.exe"),
        ("/absolute/path.txt", "path.txt"),
        ("..", "attachment"),
        ("...", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        (".bashrc", "bashrc"),
        ("name\x00with\x1fcontrols\x7f.txt", "namewithcontrols.txt"),
        ("line\r\nbreak.txt", "line break.txt"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override spoof
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("Grüße März.pdf", "Grüße März.pdf"),
        ("trailing dots...", "trailing dots"),
        ("tab\tand  spaces.txt", "tab and spaces.txt"),
    ],
)
def test_safe_filename(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_filename("ü" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode("utf-8")) <= MAX_BYTES
    assert name.startswith("ü")


def test_fallback_is_used_when_nothing_is_left() -> None:
    assert safe_filename("/", fallback="part-2.bin") == "part-2.bin"


def test_unique_names() -> None:
    assert unique_path_name("a.txt", set()) == "a.txt"
    assert unique_path_name("a.txt", {"a.txt", "a (2).txt"}) == "a (3).txt"
    assert unique_path_name("README", {"README"}) == "README (2)"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # U+2024 ONE DOT LEADER looks like a full stop: "photo.jpg" that has no extension.
        ("photo\u2024jpg", "photo_jpg"),
        ("invoice\uff0epdf\u2024exe", "invoice_pdf_exe"),
        ("pay\u200bpal\u200d.pdf\ufeff", "paypal.pdf"),
        ("\u2066report\u2069.pdf", "report.pdf"),
        ("-rf", "_-rf"),
        ("--help.txt", "_--help.txt"),
        ("~", "_~"),
        ("~root.txt", "_~root.txt"),
        ("start.desktop", "start.desktop.txt"),
        ("START.Desktop", "START.Desktop.txt"),
        ("x.desktop\u200b", "x.desktop.txt"),
        ("a-b~c.desktop.pdf", "a-b~c.desktop.pdf"),
    ],
)
def test_look_alike_and_dangerous_names_are_neutralised(given: str, expected: str) -> None:
    assert safe_filename(given) == expected


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("setup.exe", "application/octet-stream", True),
        ("SETUP.EXE", "application/octet-stream", True),
        ("run.sh", "text/plain", True),
        ("start.desktop", "text/plain", True),
        ("invoice.pdf\u200b.exe", "application/pdf", True),
        ("program.exe.", "application/octet-stream", True),
        ("program", "application/x-executable", True),
        ("tool", "application/x-msdownload", True),
        ("report.pdf", "application/pdf", False),
        ("photo\u2024exe", "image/png", False),
        ("notes.txt", "text/plain", False),
        ("exe", "application/octet-stream", False),
    ],
)
def test_executables_by_name_or_type(name: str, content_type: str, expected: bool) -> None:
    assert is_executable(name, content_type) is expected
