"""The command line: ``mailclient [--profile DIR] COMMAND ...``; no command opens the window."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mailclient import APP_NAME, __version__
from mailclient.app.services import Services, resolve_profile
from mailclient.app.terminal import printable
from mailclient.core import diagnostics
from mailclient.core.errors import MailclientError

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug of ours

# The module that defines each command (its register() adds the command's parser). Only
# the module of the command given is imported: between them they bring in the IMAP and
# SMTP modules, the store and server discovery, which one command, or the window, does
# not all need and would wait for at every start.
COMMAND_MODULES = {
    "account": "mailclient.app.commands_accounts",
    "sync": "mailclient.app.commands_mail",
    "list": "mailclient.app.commands_mail",
    "send": "mailclient.app.commands_send",
    "outbox": "mailclient.app.commands_send",
    "search": "mailclient.app.commands_search",
}


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Around code that imports modules: no cyclic garbage collection while it runs, and
    what it made is frozen (gc.freeze) when it ends.

    Modules live as long as the process. Each full collection walks all their objects to
    find nothing, and the interpreter walks them once more in its collections at exit:
    some 20 ms of CPU time for a sync that finds nothing new, a fifth of its own. Frozen,
    they are left out of every later collection.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def build_parser(modules: Iterable[str]) -> argparse.ArgumentParser:
    """The parser, with the commands of ``modules`` (see modules_needed)."""
    parser = argparse.ArgumentParser(
        prog="mailclient",
        description=f"{APP_NAME}: a fast, safe desktop email client. With no command it "
        "opens the window; a mailto: link as argument opens a compose window, a .eml file "
        "a message window.",
    )
    parser.add_argument("--version", action="version", version=f"mailclient {__version__}")
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in modules:
        importlib.import_module(module).register(commands)
    return parser


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="the profile folder holding all state (default: $MAILCLIENT_PROFILE, "
        "else the platform's data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also show the log on stderr")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log in detail, with the IMAP and SMTP conversations (passwords left out); "
        f"also ${diagnostics.DEBUG_ENV}=1",
    )


def modules_needed(args: Sequence[str]) -> list[str]:
    """The modules whose commands parsing ``args`` needs: the module of the command they
    give; none for ``--version`` or without a command (the window); all of them for
    ``--help`` or a command that is none (argparse then lists them all)."""
    every = list(dict.fromkeys(COMMAND_MODULES.values()))
    global_options = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    global_options.add_argument("--version", action="store_true")
    _add_global_options(global_options)
    try:
        known, rest = global_options.parse_known_args(args)
    except argparse.ArgumentError:
        return every  # "--profile" without a folder, say: the whole parser says what
    if known.version or not rest:
        return []
    if rest[0] in COMMAND_MODULES:
        return [COMMAND_MODULES[rest[0]]]
    return every


def split_url(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Take what the window is to open out of argv (argparse cannot mix it with
    subcommands): ``mailto:`` links, and message files (``.eml`` paths or ``file:`` URLs, as
    a file manager passes them) made absolute, for a running window started elsewhere.
    Arguments after a command are the command's."""
    rest: list[str] = []
    targets: list[str] = []
    for arg in argv:
        if rest and any(a in COMMAND_MODULES for a in rest):
            rest.append(arg)
        elif arg.lower().startswith("mailto:") and not any(
            t.startswith("mailto:") for t in targets
        ):
            targets.append(arg)
        elif arg.lower().startswith("file:") or (
            not arg.startswith("-") and arg.lower().endswith(".eml")
        ):
            targets.append(str(message_file_path(arg)))
        else:
            rest.append(arg)
    return rest, targets


def message_file_path(argument: str) -> Path:
    """The absolute path a message file argument names (a path or a ``file:`` URL)."""
    if argument.lower().startswith("file:"):
        parsed = urlsplit(argument)
        return Path(unquote(parsed.path))
    return Path(argument).expanduser().absolute()


def run(argv: Sequence[str] | None = None) -> int:
    args_list, targets = split_url(list(sys.argv[1:] if argv is None else argv))
    with loading():
        parser = build_parser(modules_needed(args_list))
    args = parser.parse_args(args_list)
    debug = diagnostics.debug_requested(args.debug)
    stderr_level = logging.WARNING
    if args.verbose:
        stderr_level = logging.DEBUG if debug else logging.INFO
    diagnostics.configure(None, "", debug, stderr_level)
    restore_hooks: Callable[[], None] = lambda: None  # noqa: E731
    log_path = None
    try:
        profile = resolve_profile(args.profile)
        # The window and the commands keep separate logs: both may run at once.
        name = "mailclient" if args.command is None else "cli"
        log_path = diagnostics.configure(profile.root, name, debug, stderr_level)
        restore_hooks = diagnostics.install_hooks()
        log.info("mailclient %s: %s", __version__, args.command or "the window")
        services = Services.open(profile)
        if args.command is None:
            from mailclient.app.gui import run_gui

            return run_gui(services, targets)
        result: int = args.func(services, args)
        return result
    except MailclientError as error:
        print(printable(f"mailclient: {error}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # A bug of ours: one line for the person, the traceback in the log for the report.
        log.error("Unexpected error", exc_info=True, extra=diagnostics.FILE_ONLY)
        problem = f"{type(error).__name__}: {error}"
        where = f" (details in {log_path})" if log_path else ""
        print(
            printable(f"mailclient: internal error: {problem}; please report it{where}"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        restore_hooks()
        diagnostics.unconfigure()
