"""The log file in the profile, the hooks into it, redaction and the problem report."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core import diagnostics


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    diagnostics.unconfigure()
    root.setLevel(level)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def read(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text("utf-8")


def test_the_log_is_private_and_at_info_unless_debug_is_asked_for(
    tmp_path: Path, restore_logging: None
) -> None:
    old_umask = os.umask(0)
    try:
        (tmp_path / "logs").mkdir(mode=0o755)
        (tmp_path / "logs" / "cli.log").write_text("from an older version\n")
        os.chmod(tmp_path / "logs" / "cli.log", 0o644)
        path = diagnostics.configure(tmp_path, "cli")
    finally:
        os.umask(old_umask)
    assert path == tmp_path / "logs" / "cli.log"
    assert mode(path) == 0o600 and mode(tmp_path / "logs") == 0o700
    logging.getLogger("mailclient.test").debug("a detail")
    logging.getLogger("mailclient.test").info("a step")
    text = read(path)
    assert "a step" in text and "a detail" not in text
    assert diagnostics.log_file() == path

    fresh = tmp_path / "fresh"
    path = diagnostics.configure(fresh, "mailclient", debug=True)
    assert path is not None and mode(path) == 0o600 and mode(fresh / "logs") == 0o700
    logging.getLogger("mailclient.test").debug("a detail")
    assert "DEBUG [MainThread] mailclient.test: a detail" in read(path)


def test_debug_is_asked_for_by_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(diagnostics.DEBUG_ENV, raising=False)
    assert not diagnostics.debug_requested(False)
    assert diagnostics.debug_requested(True)
    for value, wanted in (("1", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv(diagnostics.DEBUG_ENV, value)
        assert diagnostics.debug_requested(False) is wanted


def test_the_log_rotates_and_old_files_go(
    tmp_path: Path, restore_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    old, recent = logs / "cli.log.3", logs / "cli.log.2"
    old.write_text("old\n")
    recent.write_text("recent\n")
    weeks_ago = time.time() - (diagnostics.KEEP_DAYS + 1) * 86400
    os.utime(old, (weeks_ago, weeks_ago))
    monkeypatch.setattr(diagnostics, "MAX_BYTES", 2000)
    path = diagnostics.configure(tmp_path, "cli")
    assert path is not None
    assert not old.exists() and recent.exists()
    for number in range(200):
        logging.getLogger("mailclient.test").info("line %d of some length", number)
    names = sorted(p.name for p in logs.iterdir() if p.name.startswith("cli.log"))
    assert names == ["cli.log", "cli.log.1", "cli.log.2", "cli.log.3"]
    assert all(mode(logs / name) == 0o600 for name in names)
    assert all((logs / name).stat().st_size <= 2000 for name in names)


@pytest.mark.parametrize(
    ("line", "kept", "hidden"),
    [
        ("> b'KDHL3 LOGIN carol@example.org \"s3cret\"\\r\\n'", "KDHL3 LOGIN", "s3cret"),
        ("> b'KDHL3 LOGIN **REDACTED**", "KDHL3 LOGIN", "REDACTED*"),
        ("> b'A1 AUTHENTICATE PLAIN AGNhcm9sAHMzY3JldA==\\r\\n'", "A1 AUTHENTICATE", "AGNh"),
        ("send: 'AUTH PLAIN AGNhcm9sAHMzY3JldA==\\r\\n'", "AUTH PLAIN", "AGNh"),
        ("host > AUTH b'LOGIN' <redacted>", "AUTH b'LOGIN'", "zzz"),
    ],
)
def test_credentials_on_a_command_line_are_redacted(line: str, kept: str, hidden: str) -> None:
    redacted = diagnostics.redact(line)
    assert kept in redacted and hidden not in redacted and "<redacted>" in redacted


@pytest.mark.parametrize(
    "line",
    [
        "< b'* CAPABILITY IMAP4rev1 LOGIN-REFERRALS AUTH=PLAIN AUTH=LOGIN IDLE'",
        "smtp < 250 b'host\\nAUTH PLAIN LOGIN\\nSIZE 1000'",
        "reply: b'250-AUTH PLAIN LOGIN\\r\\n'",
        "The IMAP server rejected the password for carol (LOGIN failed).",
    ],
)
def test_what_carries_no_credentials_is_left_alone(line: str) -> None:
    assert diagnostics.redact(line) == line


def test_redaction_covers_tracebacks(tmp_path: Path, restore_logging: None) -> None:
    path = diagnostics.configure(tmp_path, "cli")
    assert path is not None
    try:
        raise ValueError("sent b'A7 LOGIN carol hunter2'")
    except ValueError:
        logging.getLogger("mailclient.test").exception("Failed")
    text = read(path)
    assert "ValueError" in text and "hunter2" not in text


def test_uncaught_exceptions_of_any_thread_land_in_the_log(
    tmp_path: Path, restore_logging: None
) -> None:
    path = diagnostics.configure(tmp_path, "mailclient")
    assert path is not None
    before = sys.excepthook, threading.excepthook
    restore = diagnostics.install_hooks()
    try:

        def broken_in_thread() -> None:
            raise KeyError("in a thread")

        thread = threading.Thread(target=broken_in_thread, name="worker-7")
        thread.start()
        thread.join()
        try:
            raise ZeroDivisionError("on the main thread")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        restore()
    text = read(path)
    assert "CRITICAL [worker-7] mailclient.core.diagnostics: Uncaught exception in thread" in text
    assert "in broken_in_thread\n    raise KeyError" in text
    assert "CRITICAL [MainThread]" in text and "ZeroDivisionError: on the main thread" in text
    assert (sys.excepthook, threading.excepthook) == before


def test_a_fatal_error_is_kept_and_moved_into_the_log_at_the_next_start(tmp_path: Path) -> None:
    program = textwrap.dedent(
        f"""
        import faulthandler
        from pathlib import Path
        from mailclient.core import diagnostics
        diagnostics.configure(Path({str(tmp_path)!r}), "mailclient")
        diagnostics.install_hooks()
        faulthandler._sigsegv()
        """
    )
    crashed = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60)
    assert crashed.returncode != 0
    fatal = tmp_path / "logs" / "mailclient-fatal.txt"
    assert "Fatal Python error" in fatal.read_text() and mode(fatal) == 0o600
    again = program.replace("faulthandler._sigsegv()", "")
    subprocess.run([sys.executable, "-c", again], check=True, timeout=60)
    text = (tmp_path / "logs" / "mailclient.log").read_text()
    assert "ERROR [MainThread] mailclient.core.diagnostics: The last run ended in a fatal" in text
    assert "Fatal Python error" in text
    assert fatal.read_text() == ""


def test_the_report_has_versions_traceback_and_log_but_no_address_or_conversation(
    tmp_path: Path, restore_logging: None
) -> None:
    path = diagnostics.configure(tmp_path, "mailclient", debug=True)
    logging.getLogger("mailclient.imap.sync").info("carol@example.org/INBOX: 3 new")
    logging.getLogger("mailclient.imap.conversation").debug("> b'A1 UID FETCH 1:* (BODY[])'")
    logging.getLogger("imapclient.imaplib").debug("< b'* 1 FETCH (ENVELOPE (\"Secret plan\"))'")
    logging.getLogger("mailclient.smtp.conversation").debug("> b'RCPT TO:<bob@example.org>'")
    logging.getLogger("mailclient.app.gui").info("Asked to open mailto:x?subject=Our%20secret")
    logging.getLogger("mailclient.workers.mail").warning("Last line")
    try:
        raise RuntimeError("no folder for dave@example.net")
    except RuntimeError as error:
        details = diagnostics.traceback_text(error)
    report = diagnostics.problem_report(
        "Uncaught exception", details, diagnostics.versions({"Qt": "6.9"}), path
    )
    assert "mailclient: " in report and "Python: " in report and "Qt: 6.9" in report
    assert "OpenSSL: OpenSSL" in report and "Platform: " in report
    assert "RuntimeError: no folder for <address>" in report
    assert "<address>/INBOX: 3 new" in report and "Last line" in report
    assert "@example" not in report
    assert "UID FETCH" not in report and "Secret plan" not in report and "RCPT" not in report
    assert "Asked to open mailto:<…>\n" in report and "secret" not in report


def test_the_command_line_tells_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    from mailclient import __version__
    from mailclient.app.cli import run

    with pytest.raises(SystemExit) as exited:
        run(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mailclient {__version__}\n"
