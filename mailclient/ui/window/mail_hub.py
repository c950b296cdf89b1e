"""What the main window asks of the mail workers, and a stand-in that reaches no server.

MailWorkers (mailclient.workers.mail) is the hub the application hands the window. A window
built without the network (a test that only looks at cached mail) gets OfflineMail: it
accepts every request and does nothing, and its signals never fire.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Signal, SignalInstance

from mailclient.core.models import MessageSummary
from mailclient.workers.commands import ChangeFolder, UndoChanges
from mailclient.workers.events import (
    BodyFailed,
    BodyFetched,
    SyncFinished,
    SyncProgress,
    WorkFailed,
)


class MailHub(Protocol):
    """The network side of the window: requests go in, results come back as signals."""

    @property
    def progressed(self) -> SignalInstance:
        """A SyncProgress: how far an account's sync has come."""

    @property
    def synced(self) -> SignalInstance:
        """A SyncFinished: an account's sync is done."""

    @property
    def failed(self) -> SignalInstance:
        """A WorkFailed: a request could not be carried out (it may be retried)."""

    @property
    def body_fetched(self) -> SignalInstance:
        """A BodyFetched: a message's body is in the store now."""

    @property
    def body_failed(self) -> SignalInstance:
        """A BodyFailed: a message's body could not be downloaded."""

    @property
    def committed(self) -> SignalInstance:
        """A store change counter value (0: unknown) after a write."""

    @property
    def flags_written(self) -> SignalInstance:
        """The ids (a tuple) of a flag change asked with set_flags(), now in the store or
        failed."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def sync_all(self) -> None: ...

    def sync(self, account: str, folders: Sequence[str] | None = None) -> None: ...

    def fetch_body(self, summary: MessageSummary) -> None: ...

    def set_flags(
        self, ids: Sequence[int], add: frozenset[str], remove: frozenset[str]
    ) -> None: ...

    def move(self, ids: Sequence[int], target_folder_id: int) -> None: ...

    def transfer(self, ids: Sequence[int], target_folder_id: int, copy: bool = False) -> None:
        """Copy or move to a folder of another account (APPEND there, then delete here)."""

    def delete(self, ids: Sequence[int]) -> None: ...

    def expunge(self, ids: Sequence[int]) -> None: ...

    def change_folder(self, change: ChangeFolder) -> None: ...

    def undo(self, change: UndoChanges) -> None: ...

    def retry(self, failure: WorkFailed) -> None: ...


class OfflineMail(QObject):
    """A MailHub without servers: every request is dropped, no signal ever fires."""

    progressed = Signal(SyncProgress)
    synced = Signal(SyncFinished)
    failed = Signal(WorkFailed)
    body_fetched = Signal(BodyFetched)
    body_failed = Signal(BodyFailed)
    committed = Signal(int)
    flags_written = Signal(object)

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def sync_all(self) -> None:
        """No server to ask."""

    def sync(self, account: str, folders: Sequence[str] | None = None) -> None:
        """No server to ask."""

    def fetch_body(self, summary: MessageSummary) -> None:
        """No server to download from."""

    def set_flags(self, ids: Sequence[int], add: frozenset[str], remove: frozenset[str]) -> None:
        """Changes go nowhere."""

    def move(self, ids: Sequence[int], target_folder_id: int) -> None:
        """Changes go nowhere."""

    def transfer(self, ids: Sequence[int], target_folder_id: int, copy: bool = False) -> None:
        """Changes go nowhere."""

    def delete(self, ids: Sequence[int]) -> None:
        """Changes go nowhere."""

    def expunge(self, ids: Sequence[int]) -> None:
        """Changes go nowhere."""

    def change_folder(self, change: ChangeFolder) -> None:
        """Changes go nowhere."""

    def undo(self, change: UndoChanges) -> None:
        """Changes go nowhere."""

    def retry(self, failure: WorkFailed) -> None:
        """Nothing ever fails here, so nothing is retried."""
