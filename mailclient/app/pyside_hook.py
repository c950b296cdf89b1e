"""PySide6's import hook, answered from each module's file instead of from linecache.

PySide6 (6.11) looks at every module imported after it for the word "PySide6" (to know
whether the module may select a ``__feature__``), through inspect.getsource(), which keeps
every line of every such module in linecache: 6 MiB by the time the window first paints,
10 MiB once the rest of the application is loaded, held for the life of the process. The
same question is answered here from the bytes of the module's file, read and let go; a
module without a source file is still asked of PySide6's own check. Importing this module
installs it: app.gui imports it before the modules of the window.
"""

from __future__ import annotations

import linecache
import sys
from collections.abc import Callable
from types import ModuleType

import PySide6  # noqa: F401  (it installs the hook replaced here)

# PySide6's hook lives in this module of its own (embedded in shiboken6).
FEATURE_MODULE = "shibokensupport.feature"


def install() -> bool:
    """Replace PySide6's source check with one that reads the file; whether it could."""
    feature = sys.modules.get(FEATURE_MODULE)
    check: Callable[[ModuleType], bool] | None = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or check is None or getattr(check, "reads_files", False):
        return False
    original = check

    def uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass
        return original(module)

    uses_pyside.reads_files = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = uses_pyside  # type: ignore[attr-defined]
    # What PySide6's check read until now (the modules named by import statements since
    # PySide6 came: enum, typing...).
    linecache.clearcache()
    return True


install()
