"""Put mail straight into Maildir files: the fast way to fill a mailbox for a test.

Going through IMAP APPEND or LMTP costs a round trip and an index update per message;
writing the files and letting Dovecot index them once afterwards fills 50,000 messages in
a few seconds. The files follow the Maildir rules Dovecot relies on:

- written to ``tmp/`` and renamed into ``cur/``, so Dovecot never sees half a message;
- named ``<secs>.M<n>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>``. Dovecot gives
  new files their UIDs in the order of the time and then the ``M`` (microseconds) part
  of the name, so a counter there keeps UIDs in the order the messages were given;
  S= and W= (size with CRLF line ends) spare Dovecot from reading a file for its size;
- owned by the vmail user, like everything Dovecot writes there.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from .dovecot import FOLDER_SEPARATOR, Vmail

# IMAP system flags and their Maildir letters (a name lists them in ASCII order).
FLAG_LETTERS = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}

# Process-wide, so that messages of later calls also sort after earlier ones.
_sequence = itertools.count(1)
_HOST = socket.gethostname().replace("/", r"\057").replace(":", r"\072")


def folder_directory(maildir: Path, folder: str) -> Path:
    """The directory of ``folder`` in a Maildir++ layout (what Dovecot uses by default)."""
    if folder.upper() == "INBOX":
        return maildir
    if not folder.isascii() or "." in folder:
        # Non-ASCII names are stored mUTF-7 encoded and dots are Maildir++'s own
        # separator; neither is needed by the tests so far.
        raise ValueError(f"fill_maildir supports plain ASCII folder names, not {folder!r}")
    return maildir / ("." + folder.replace(FOLDER_SEPARATOR, "."))


def flag_letters(flags: Sequence[str]) -> str:
    try:
        return "".join(sorted(FLAG_LETTERS[flag] for flag in flags))
    except KeyError as error:
        raise ValueError(f"only system flags can be written to Maildir names: {error}") from None


def _make_dir(path: Path, vmail: Vmail) -> None:
    if not path.exists():
        path.mkdir(mode=0o700)
        os.chown(path, vmail.uid, vmail.gid)


def prepare_folder(maildir: Path, folder: str, vmail: Vmail) -> Path:
    """Create the Maildir directories of ``folder`` (and the user's root) if missing."""
    directory = folder_directory(maildir, folder)
    # <mail_root>/<domain>/<user>/Maildir[/.<folder>]: all but mail_root may be missing.
    for path in (maildir.parent.parent, maildir.parent, maildir, directory):
        _make_dir(path, vmail)
    for sub in ("cur", "new", "tmp"):
        _make_dir(directory / sub, vmail)
    if directory != maildir:
        marker = directory / "maildirfolder"  # marks a Maildir++ subfolder
        marker.touch()
        os.chown(marker, vmail.uid, vmail.gid)
    return directory


def write_messages(
    directory: Path, messages: Iterable[bytes], vmail: Vmail, flags: Sequence[str] = ()
) -> int:
    """Write ``messages`` into the Maildir folder ``directory``; return how many."""
    letters = flag_letters(flags)
    seconds = int(time.time())
    pid = os.getpid()
    tmp, cur = directory / "tmp", directory / "cur"
    count = 0
    for raw in messages:
        data = raw.replace(b"\r\n", b"\n")  # Maildir files use LF, like Dovecot's own
        vsize = len(data) + data.count(b"\n")
        name = f"{seconds}.M{next(_sequence)}P{pid}.{_HOST},S={len(data)},W={vsize}"
        fd = os.open(tmp / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(fd, "wb") as file:
            file.write(data)
            os.fchown(fd, vmail.uid, vmail.gid)
        os.rename(tmp / name, cur / f"{name}:2,{letters}")
        count += 1
    return count
