"""The profile: one folder that holds all of one user's state, readable by its owner only."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mailclient.core.errors import ConfigError

log = logging.getLogger(__name__)

# Everything in a profile is private mail, addresses or settings: nobody else may read it.
FILE_MODE = 0o600
FOLDER_MODE = 0o700

ID_FILE = "profile-id"
_ID = re.compile(r"^[0-9a-f]{32}$")


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
    def keyring_backend_path(self) -> Path:
        """Which keyring backend holds the profile's secrets (accounts/credentials.py)."""
        return self.root / "keyring-backend"

    @property
    def drafts_dir(self) -> Path:
        """Drafts of open compose windows, saved every few seconds (store/drafts.py)."""
        return self.root / "drafts"

    def ensure(self) -> Profile:
        """Create the folder if need be and make it, and everything in it, private.

        Files made by an older version, or by a library that does not choose the mode of
        what it creates, are tightened here, every time the profile is opened. Raises
        ConfigError when the folder cannot be used (a file, under a file, not writable).
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
            if os.name == "posix":
                os.chmod(self.root, FOLDER_MODE)
                self._tighten()
        except FileExistsError:
            raise ConfigError(self._unusable("it is a file, not a folder")) from None
        except NotADirectoryError:
            blocker = next((p for p in self.root.parents if p.is_file()), self.root)
            raise ConfigError(self._unusable(f"{blocker} is a file, not a folder")) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise ConfigError(self._unusable(reason[:1].lower() + reason[1:])) from error
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ConfigError(self._unusable("you may not write to it"))
        return self

    def _unusable(self, reason: str) -> str:
        return (
            f"Cannot use {self.root} as the profile folder: {reason}. Choose another one "
            "with --profile or $MAILCLIENT_PROFILE."
        )

    def _tighten(self) -> None:
        for folder, folders, files in os.walk(self.root):
            for name in folders + files:
                path = os.path.join(folder, name)
                info = os.lstat(path)
                if stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o077:
                    continue
                mode = FOLDER_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE
                try:
                    os.chmod(path, mode)
                except PermissionError:
                    # Someone else's file (left by a run as root, say): say so, go on.
                    log.warning("Cannot make %s private: it belongs to another user", path)

    def id(self) -> str:
        """The profile's stable id, made the first time it is asked for.

        It keys the profile's secrets in the system keyring (CredentialKey), so that two
        profiles with accounts of the same name keep their passwords apart. Kept in its
        own file so that no edit of config.json can lose it.
        """
        path = self.root / ID_FILE
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            try:
                import uuid  # once per profile: not for every start

                text = _create_once(path, uuid.uuid4().hex + "\n")
            except OSError as error:
                raise ConfigError(
                    f"Cannot create {path}: {error.strerror}. Free some space or make the "
                    "profile folder writable, and try again; nothing was lost."
                ) from error
        except UnicodeDecodeError:
            text = ""  # damaged, said below
        except OSError as error:
            raise ConfigError(f"Cannot read {path}: {error.strerror}.") from error
        if not _ID.match(text):
            raise ConfigError(
                f"{path} is damaged: it should hold 32 hexadecimal digits, the key of this "
                "profile's passwords in the system keyring. Put the old content back, or "
                "delete it and enter the passwords again with: mailclient account password NAME"
            )
        return text


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and private unless it exists.

    For files written by libraries that keep the mode of an existing file but create new
    ones readable by all: SQLite (whose -wal and -shm files take the database's mode) and
    QSettings (which saves through QSaveFile).
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def _create_once(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` unless another process got there first; return what
    ``path`` holds then. A reader never sees a half-written file: it is linked in whole."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
    finally:
        os.unlink(temp)
    return text.strip()
