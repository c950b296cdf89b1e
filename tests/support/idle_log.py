"""How tests see that push listens: the line IdleWatcher logs at each IDLE it starts."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from mailclient.imap.idle import LISTENING

IDLE_LOGGER = "mailclient.imap.idle"


class IdleLog(logging.Handler):
    """Counts, by account name, the IDLE commands the watchers started."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._started: Counter[str] = Counter()
        self._counting = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == LISTENING and isinstance(record.args, tuple):
            with self._counting:
                self._started[str(record.args[0])] += 1

    def started(self, account: str) -> int:
        """How many IDLE commands the watcher of ``account`` started so far."""
        with self._counting:
            return self._started[account]

    def wait_started(self, account: str, more_than: int = 0, timeout: float = 15.0) -> bool:
        """Wait until ``account``'s watcher started more than ``more_than`` IDLEs."""
        deadline = time.monotonic() + timeout
        while self.started(account) <= more_than:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


@contextmanager
def idle_log() -> Iterator[IdleLog]:
    """An IdleLog listening to the watchers for the ``with`` block."""
    logger = logging.getLogger(IDLE_LOGGER)
    handler = IdleLog()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
