"""The log file in the profile, the hooks that route every unexpected error into it, and
the problem report a user can send.

The window and the command line each keep a rotating log in the profile's ``logs`` folder
(``mailclient.log`` and ``cli.log``; a few MB, rotated files kept a few days), at INFO, or
DEBUG with ``--debug`` or ``MAILCLIENT_DEBUG=1``: then the IMAP and SMTP conversations are
logged too, with every credential redacted. A record at ERROR or above that carries a
traceback means a bug of ours: the window shows it to the user (mailclient.ui.window.diagnostics).
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import logging
import logging.handlers
import os
import platform
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from mailclient import __version__

log = logging.getLogger(__name__)

LOG_DIR = "logs"
DEBUG_ENV = "MAILCLIENT_DEBUG"
MAX_BYTES = 1024 * 1024
BACKUPS = 3  # so at most 4 MB per log
KEEP_DAYS = 7  # rotated files older than this are removed at start
FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"
# Loggers that write the protocol conversations: never part of a problem report.
CONVERSATION_LOGGERS = (
    "mailclient.imap.conversation",
    "mailclient.smtp.conversation",
    "imapclient",
)

# What a line of the log file starts with (FORMAT's asctime, level, thread, logger name).
_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[[^\]]*\] (\S+): ")
# Credentials on a logged command line, whoever logged it: IMAP LOGIN and AUTHENTICATE
# (RFC 3501 §6.2) after a tag, SMTP AUTH with an initial response (RFC 4954 §4). The
# SMTP continuation lines carry no keyword; mailclient.smtp.conversation hides those.
_IMAP_CREDENTIALS = re.compile(r"(\b[A-Za-z0-9.]+ (?:LOGIN|AUTHENTICATE)) .*")
# Not in the server's EHLO reply ("250-AUTH PLAIN LOGIN"), which is worth seeing.
_SMTP_CREDENTIALS = re.compile(r"(?<!\d[- ])(\bAUTH [A-Za-z0-9_-]+) .*")
REDACTED = "<redacted>"
# OAuth2 secrets wherever they appear: an Authorization header, a token endpoint's JSON
# answer, a form or query (RFC 6749 §4.1.3, §6; RFC 7636 §4.5).
_TOKENS = re.compile(
    r"(\bBearer\s+|\b(?:access_token|refresh_token|id_token|code|code_verifier|"
    r"client_secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+",
    re.IGNORECASE,
)
# Mail addresses (and Message-IDs, which look alike): no report carries them. Nor mailto:
# URLs, which carry a subject and a body besides.
_ADDRESS = re.compile(r"[\w.+%'-]+@[\w.-]+", re.UNICODE)
_MAILTO = re.compile(r"mailto:[^\s'\"\]]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` without the arguments of any IMAP LOGIN/AUTHENTICATE or SMTP AUTH in it,
    and without OAuth2 tokens, codes and client secrets."""
    if "LOGIN" in text or "AUTH" in text:
        text = _IMAP_CREDENTIALS.sub(rf"\1 {REDACTED}", text)
        text = _SMTP_CREDENTIALS.sub(rf"\1 {REDACTED}", text)
    if "earer" in text or "_token" in text or "code" in text or "secret" in text:
        text = _TOKENS.sub(rf"\1{REDACTED}", text)
    return text


def scrub(text: str) -> str:
    """``text`` with mail addresses and mailto: URLs replaced, for a report that leaves
    this computer."""
    return _ADDRESS.sub("<address>", _MAILTO.sub("mailto:<…>", text))


class RedactingFormatter(logging.Formatter):
    """Redacts credentials in the whole formatted record, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PrivateLogFile(logging.handlers.RotatingFileHandler):
    """A rotating log file that only its owner can read (it names accounts and folders)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if os.name == "posix":
            # An older file may have been made with other permissions.
            os.fchmod(fd, 0o600)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)

    # A log that cannot be written (a full disk, say) must not print tracebacks over, or
    # take the place of, what the user is being told: what cannot be written is dropped.
    def handleError(self, record: logging.LogRecord) -> None:
        return

    def flush(self) -> None:
        with contextlib.suppress(OSError):
            super().flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            super().close()


def _not_imaplib_parsing(record: logging.LogRecord) -> bool:
    """imaplib's trace of its own parsing (imapclient turns it on) repeats each response
    two more times; the conversation itself stays."""
    message = str(record.msg)
    return not message.startswith(("\tmatched ", "untagged_responses[", "\tuntagged_responses"))


def debug_requested(flag: bool) -> bool:
    """``--debug``, or ``MAILCLIENT_DEBUG`` set to 1 (or yes/true/on)."""
    value = os.environ.get(DEBUG_ENV, "").strip().lower()
    return flag or value in ("1", "yes", "true", "on")


def configure(
    profile_root: Path | None,
    name: str,
    debug: bool = False,
    stderr_level: int = logging.WARNING,
) -> Path | None:
    """Log to ``<profile>/logs/<name>.log`` and to stderr; returns the log file's path.

    Without a profile folder (or when it cannot be written) only stderr gets the log.
    """
    unconfigure()
    root = logging.getLogger()
    level = logging.DEBUG if debug else logging.INFO
    root.setLevel(level)
    formatter = RedactingFormatter(FORMAT)
    if sys.stderr is not None:  # None when started without one (pythonw, some launchers)
        stderr = _Stderr(sys.stderr)
        stderr.setLevel(stderr_level)
        stderr.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(stderr)
    imaplib_log = logging.getLogger("imapclient.imaplib")
    if _not_imaplib_parsing not in imaplib_log.filters:
        imaplib_log.addFilter(_not_imaplib_parsing)
    if profile_root is None:
        return None
    folder = profile_root / LOG_DIR
    path = folder / f"{name}.log"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if os.name == "posix":
            os.chmod(folder, 0o700)
        _remove_old(folder, name)
        file_handler = PrivateLogFile(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError as error:
        log.warning("No log file in %s: %s", folder, error)
        return None
    file_handler.setFormatter(formatter)
    file_handler.setLevel(level)
    root.addHandler(file_handler)
    return path


def unconfigure() -> None:
    """Remove (and close) what configure() installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, PrivateLogFile | _Stderr):
            root.removeHandler(handler)
            handler.close()


# ``extra`` for a record that stderr shows only with -v: the person got one line already.
FILE_ONLY = {"file_only": True}


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler configure() installs (and replaces when called again)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "file_only", False) and self.level > logging.INFO:
            return False
        return bool(super().filter(record))


def _remove_old(folder: Path, name: str) -> None:
    cutoff = time.time() - KEEP_DAYS * 86400
    for rotated in folder.glob(f"{name}.log.*"):
        with contextlib.suppress(OSError):
            if rotated.stat().st_mtime < cutoff:
                rotated.unlink()


def log_file() -> Path | None:
    """The log file configure() opened, if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrivateLogFile):
            return Path(handler.baseFilename)
    return None


# --- hooks ---------------------------------------------------------------------------------

_fault_file: IO[str] | None = None


def install_hooks() -> Callable[[], None]:
    """Route uncaught exceptions (any thread) and fatal signals into the log.

    Returns a function that puts the previous hooks back.
    """
    previous_hook, previous_thread_hook = sys.excepthook, threading.excepthook

    def excepthook(
        kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            log.info("Interrupted")
            return
        log.critical("Uncaught exception", exc_info=(kind, error, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or issubclass(args.exc_type, SystemExit):
            return
        name = args.thread.name if args.thread is not None else "?"
        log.critical(
            "Uncaught exception in thread %s",
            name,
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    faulthandler_was_on = faulthandler.is_enabled()
    _enable_faulthandler()

    def restore() -> None:
        sys.excepthook = previous_hook
        threading.excepthook = previous_thread_hook
        if faulthandler_was_on:
            faulthandler.enable(sys.__stderr__ or sys.stderr)
        else:
            faulthandler.disable()

    return restore


def _enable_faulthandler() -> None:
    """A crash of the interpreter itself (a segfault in Qt, say) leaves its Python stack in
    ``<log>-fatal.txt``; the next start moves that into the log."""
    global _fault_file
    path = log_file()
    if path is None:
        return
    fatal = path.with_name(path.stem + "-fatal.txt")
    with contextlib.suppress(OSError):
        earlier = fatal.read_text("utf-8", "replace").strip()
        if earlier:
            log.error("The last run ended in a fatal error:\n%s", earlier)
    try:
        fd = os.open(fatal, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)
    except OSError as error:
        log.warning("No record of fatal errors: %s", error)
        return
    earlier_file, _fault_file = _fault_file, open(fd, "w", encoding="utf-8")  # noqa: SIM115
    # faulthandler writes to the descriptor at the moment of the crash: it stays open.
    faulthandler.enable(_fault_file, all_threads=True)
    if earlier_file is not None:
        earlier_file.close()


# --- reports -------------------------------------------------------------------------------


def versions(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The versions a bug report needs; ``extra`` adds the upper layers' (Qt, SQLite)."""
    import ssl  # here: OpenSSL (4 MiB) is loaded by the first connection, not at start

    return {
        "mailclient": __version__,
        "Python": platform.python_version(),
        **(extra or {}),
        "OpenSSL": ssl.OPENSSL_VERSION,
        "Platform": platform.platform(),
    }


def format_versions(found: Mapping[str, str]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in found.items())


def traceback_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def last_lines(path: Path | None, count: int = 40) -> list[str]:
    """The last ``count`` lines of the log, without the protocol conversations, scrubbed."""
    if path is None:
        return []
    try:
        with open(path, "rb") as file:
            start = max(0, file.seek(0, os.SEEK_END) - 256 * 1024)
            file.seek(start)
            lines = file.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    # Reading from the middle of the file starts inside a line.
    kept = list(_without_conversation(lines[1:] if start else lines))
    return [scrub(line) for line in kept[-count:]]


def _without_conversation(lines: Iterable[str]) -> Iterator[str]:
    keep = True
    for line in lines:
        start = _RECORD_START.match(line)
        if start:
            keep = not start.group(1).startswith(CONVERSATION_LOGGERS)
        if keep:
            yield line


def problem_report(
    what: str, details: str, found_versions: Mapping[str, str], path: Path | None
) -> str:
    """A plain-text report: what happened, versions, the traceback and the last log lines.

    Addresses are scrubbed and the protocol conversations left out: no mail content and
    no address leaves the computer with it.
    """
    parts = [
        "Mailclient problem report",
        f"When: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"What happened: {what}",
        "",
        format_versions(found_versions),
        "",
        details.rstrip(),
        "",
        f"Last lines of the log ({path.name if path else 'no log file'}):",
        *last_lines(path),
    ]
    return scrub("\n".join(parts)) + "\n"
