"""The command line imports the module of the command given, and only that one, and
collects no garbage while it loads."""

from __future__ import annotations

import argparse
import gc

import pytest

from mailclient.app.cli import COMMAND_MODULES, build_parser, loading, modules_needed

ALL = list(dict.fromkeys(COMMAND_MODULES.values()))


def commands_of(parser: argparse.ArgumentParser) -> set[str]:
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(subparsers.choices)


@pytest.mark.parametrize("module", ALL)
def test_each_module_registers_the_commands_the_table_gives_it(module: str) -> None:
    assert commands_of(build_parser([module])) == {
        name for name, owner in COMMAND_MODULES.items() if owner == module
    }


@pytest.mark.parametrize(
    ("args", "needed"),
    [
        (["--profile", "p", "sync", "--folder", "INBOX"], ["mailclient.app.commands_mail"]),
        (["-v", "--prof", "outbox", "list"], ["mailclient.app.commands_mail"]),  # --profile
        (["account", "add", "x"], ["mailclient.app.commands_accounts"]),
        (["--version"], []),
        (["--vers"], []),
        ([], []),  # the window
        (["--profile", "p", "--debug"], []),
        (["--help"], ALL),
        (["-h", "sync"], ALL),
        (["bogus"], ALL),  # argparse names every command in its error
        (["--profile"], ALL),  # and says what is missing
    ],
)
def test_the_modules_a_command_line_needs(args: list[str], needed: list[str]) -> None:
    assert modules_needed(args) == needed


def test_loading_collects_nothing_and_freezes_what_it_made() -> None:
    before = gc.get_freeze_count()
    with loading():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(made)

    gc.disable()  # a caller that had collection off gets it back off
    try:
        with loading():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
