"""Workers talk to the window only through QtCore signals: no widgets, no GUI types."""

from __future__ import annotations

import ast
from pathlib import Path

WORKERS = Path(__file__).resolve().parents[2] / "mailclient" / "workers"


def test_workers_import_only_qtcore_from_qt() -> None:
    offenders = []
    for path in WORKERS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "PySide6":
                    names = [f"PySide6.{a.name}" for a in node.names]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.startswith("PySide6") and n not in ("PySide6", "PySide6.QtCore")
            ]
    assert offenders == []
