"""The ``mailclient`` console entry point."""

from __future__ import annotations

from mailclient.app.cli import run


def main() -> int:
    return run()
