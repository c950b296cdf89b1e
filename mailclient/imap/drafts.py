"""Drafts in the account's Drafts folder: save a new version, remove the old ones.

The folder is the one the sync knows as Drafts (flagged ``\\Drafts`` in any case, RFC 6154,
or named so below the personal namespace), else "Drafts" is created. A version is stored
with APPEND (RFC 3501 §6.3.11) flagged ``\\Draft \\Seen``; older versions of the same draft
(found by our header's key, or by the Message-ID of a draft opened from the folder) are
then flagged ``\\Deleted`` and expunged, by UID where the server has UIDPLUS (RFC 4315) so
that nothing else marked deleted goes with them.
"""

from __future__ import annotations

from pathlib import Path

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.models import DELETED, DRAFT, SEEN, SpecialUse
from mailclient.imap.appended import store_appended
from mailclient.imap.client import appenduid, close_quietly, open_special_folder, translate_error
from mailclient.imap.connection import Connection
from mailclient.mime.drafts import DRAFT_HEADER

DEFAULT_DRAFTS_NAME = "Drafts"


class DraftsFolder:
    """An IMAP connection with the Drafts folder selected; ``open``, ``save``, ``close``."""

    def __init__(
        self, account: Account, client: Connection, folder: str, store_path: Path | None = None
    ) -> None:
        self._account = account
        self._client = client
        self.folder = folder
        self._store_path = store_path

    @classmethod
    def open(
        cls, account: Account, auth: Authenticator, store_path: Path | None = None
    ) -> DraftsFolder:
        """Log in and find (or create) the Drafts folder. Raises our NetworkErrors.

        With ``store_path``, a saved version replaces the older ones in that store at once
        where the server says where it went (APPENDUID)."""
        client, folder = open_special_folder(account, auth, SpecialUse.DRAFTS, DEFAULT_DRAFTS_NAME)
        return cls(account, client, folder, store_path)

    def _copies(self, key: str, message_id: str) -> set[int]:
        self._client.select_folder(self.folder)
        uids: set[int] = set()
        if key:
            uids.update(self._client.search(["HEADER", DRAFT_HEADER, f"key={key}"]))
        if message_id:
            uids.update(self._client.search(["HEADER", "Message-ID", message_id]))
        return uids

    def _expunge(self, uids: set[int]) -> None:
        if not uids:
            return
        self._client.add_flags(sorted(uids), [DELETED], silent=True)
        if self._client.has_capability("UIDPLUS"):
            self._client.uid_expunge(sorted(uids))
        else:
            self._client.expunge()

    def save(self, raw: bytes, key: str, replaces: str = "") -> bool:
        """Store this version of draft ``key``; earlier ones (and ``replaces``) go away.

        Returns whether the store shows the folder so already (else it wants a sync)."""
        try:
            older = self._copies(key, replaces)
            answer = self._client.append(self.folder, raw, flags=[DRAFT, SEEN])
            self._expunge(older)
        except Exception as error:
            raise translate_error(self._account, error) from error
        if self._store_path is None:
            return False
        appended = appenduid(answer if isinstance(answer, bytes) else str(answer).encode())
        return store_appended(
            self._store_path,
            self._account.name,
            self.folder,
            appended,
            raw,
            [DRAFT, SEEN],
            removed_uids=older,
        )

    def remove(self, key: str, replaces: str = "") -> int:
        """Remove every version of draft ``key`` (and ``replaces``); returns how many."""
        try:
            copies = self._copies(key, replaces)
            self._expunge(copies)
        except Exception as error:
            raise translate_error(self._account, error) from error
        return len(copies)

    def close(self) -> None:
        try:
            self._client.logout()
        except Exception:
            close_quietly(self._client)
