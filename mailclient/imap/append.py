"""Saving sent messages into the account's Sent folder with IMAP APPEND (RFC 3501 §6.3.11).

The folder is the one the sync knows as Sent (flagged ``\\Sent`` in any case, RFC 6154, else
one with a usual name below the personal namespace, RFC 2342); only when there is none is
"Sent" created there.
"""

from __future__ import annotations

from pathlib import Path

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.models import SEEN, SpecialUse
from mailclient.imap.appended import store_appended
from mailclient.imap.client import appenduid, close_quietly, open_special_folder, translate_error
from mailclient.imap.connection import Connection

DEFAULT_SENT_NAME = "Sent"


class SentFolder:
    """An IMAP connection with the Sent folder found; ``open`` it, ``append``, ``close``."""

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
    ) -> SentFolder:
        """Log in and find (or create) the Sent folder. Raises our NetworkErrors.

        With ``store_path``, each copy is put into that store at once where the server
        says where it went (APPENDUID)."""
        client, folder = open_special_folder(account, auth, SpecialUse.SENT, DEFAULT_SENT_NAME)
        return cls(account, client, folder, store_path)

    def append(self, raw: bytes, message_id: str, *, may_exist: bool = False) -> bool:
        """Store ``raw`` flagged \\Seen; with ``may_exist``, first look for its Message-ID.

        ``may_exist`` is for a retry after an attempt whose outcome is unknown: the copy
        is then saved only when the folder does not hold it yet. Returns whether the store
        shows the copy already (else the folder wants a sync).
        """
        try:
            if may_exist and message_id:
                self._client.select_folder(self.folder, readonly=True)
                if self._client.search(["HEADER", "Message-ID", message_id]):
                    return False
            answer = self._client.append(self.folder, raw, flags=[SEEN])
        except Exception as error:
            raise translate_error(self._account, error) from error
        if self._store_path is None:
            return False
        appended = appenduid(answer if isinstance(answer, bytes) else str(answer).encode())
        return store_appended(
            self._store_path, self._account.name, self.folder, appended, raw, [SEEN]
        )

    def close(self) -> None:
        try:
            self._client.logout()
        except Exception:
            close_quietly(self._client)
