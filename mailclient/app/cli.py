"""The command line: ``mailclient [--profile DIR] COMMAND ...``; no command opens the window."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mailclient import APP_NAME, __version__
from mailclient.app import commands_accounts, commands_mail, commands_search, commands_send
from mailclient.app.services import Services, resolve_profile
from mailclient.app.terminal import printable
from mailclient.core.errors import MailclientError

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug of ours


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailclient",
        description=f"{APP_NAME}: a fast, safe desktop email client. With no command it "
        "opens the window; a mailto: link as argument opens a compose window.",
    )
    parser.add_argument("--version", action="version", version=f"mailclient {__version__}")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="the profile folder holding all state (default: $MAILCLIENT_PROFILE, "
        "else the platform's data folder)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands_accounts.register(commands)
    commands_mail.register(commands)
    commands_send.register(commands)
    commands_search.register(commands)
    return parser


def split_url(argv: Sequence[str]) -> tuple[list[str], str | None]:
    """Take a ``mailto:`` argument out of argv (argparse cannot mix it with subcommands)."""
    rest, url = [], None
    for arg in argv:
        if url is None and arg.lower().startswith("mailto:"):
            url = arg
        else:
            rest.append(arg)
    return rest, url


def run(argv: Sequence[str] | None = None) -> int:
    args_list, url = split_url(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        services = Services.open(resolve_profile(args.profile))
        if args.command is None:
            from mailclient.app.gui import run_gui

            return run_gui(services, url)
        result: int = args.func(services, args)
        return result
    except MailclientError as error:
        print(printable(f"mailclient: {error}"), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # A bug of ours: one line for the person; the traceback is logged at INFO, which
        # -v shows, for the report.
        log.info("Unexpected error", exc_info=True)
        problem = f"{type(error).__name__}: {error}"
        print(printable(f"mailclient: internal error: {problem}; please report"), file=sys.stderr)
        return EXIT_INTERNAL
