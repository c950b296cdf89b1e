"""The profile: one folder that holds all of one user's state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    """Paths inside a profile folder. Passwords are never stored here."""

    root: Path

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def store_path(self) -> Path:
        return self.root / "mail.sqlite3"

    @property
    def drafts_dir(self) -> Path:
        """Drafts of open compose windows, saved every few seconds (store/drafts.py)."""
        return self.root / "drafts"

    def ensure(self) -> Profile:
        """Create the folder, readable by its owner only (it holds private mail)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            os.chmod(self.root, 0o700)
        return self
