"""Saving sent messages into the account's Sent folder with IMAP APPEND (RFC 3501 §6.3.11).

The folder is the one the sync knows as Sent (flagged ``\\Sent`` in any case, RFC 6154, else
one with a usual name below the personal namespace, RFC 2342); only when there is none is
"Sent" created there.
"""

from __future__ import annotations

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator
from mailclient.core.models import SEEN, SpecialUse
from mailclient.imap.client import close_quietly, open_special_folder, translate_error
from mailclient.imap.connection import Connection

DEFAULT_SENT_NAME = "Sent"


class SentFolder:
    """An IMAP connection with the Sent folder found; ``open`` it, ``append``, ``close``."""

    def __init__(self, account: Account, client: Connection, folder: str) -> None:
        self._account = account
        self._client = client
        self.folder = folder

    @classmethod
    def open(cls, account: Account, auth: Authenticator) -> SentFolder:
        """Log in and find (or create) the Sent folder. Raises our NetworkErrors."""
        client, folder = open_special_folder(account, auth, SpecialUse.SENT, DEFAULT_SENT_NAME)
        return cls(account, client, folder)

    def append(self, raw: bytes, message_id: str, *, may_exist: bool = False) -> None:
        """Store ``raw`` flagged \\Seen; with ``may_exist``, first look for its Message-ID.

        ``may_exist`` is for a retry after an attempt whose outcome is unknown: the copy
        is then saved only when the folder does not hold it yet.
        """
        try:
            if may_exist and message_id:
                self._client.select_folder(self.folder, readonly=True)
                if self._client.search(["HEADER", "Message-ID", message_id]):
                    return
            self._client.append(self.folder, raw, flags=[SEEN])
        except Exception as error:
            raise translate_error(self._account, error) from error

    def close(self) -> None:
        try:
            self._client.logout()
        except Exception:
            close_quietly(self._client)
