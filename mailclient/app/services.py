"""The services of one profile, built once and handed to the CLI and the window."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import MailclientError
from mailclient.core.profile import Profile

if TYPE_CHECKING:
    from mailclient.smtp.sender import OutboxSender

log = logging.getLogger(__name__)

PROFILE_ENV = "MAILCLIENT_PROFILE"


def resolve_profile(option: str | None) -> Profile:
    """``--profile`` beats ``$MAILCLIENT_PROFILE`` beats the platform's data folder."""
    chosen = option or os.environ.get(PROFILE_ENV)
    if chosen:
        root = Path(chosen).expanduser()
    else:
        import platformdirs  # not with this module, which every start imports

        root = Path(platformdirs.user_data_dir("mailclient"))
    return Profile(root.absolute()).ensure()


@dataclass
class Services:
    profile: Profile
    accounts: AccountStore
    credentials: CredentialStore
    sign_in: SignIn

    @classmethod
    def open(cls, profile: Profile) -> Services:
        accounts = AccountStore(profile.config_path)
        credentials = CredentialStore(
            profile_id=profile.id(), remembered=profile.keyring_backend_path
        )

        def clients(provider: str) -> tuple[str, str] | None:
            # Imported at first use: the window starts without server discovery.
            from mailclient.discovery.providers import oauth_client

            return oauth_client(provider, accounts.setting("oauth_clients"))

        return cls(profile, accounts, credentials, SignIn(credentials, clients))

    def move_account_data(self, old: str, new: str) -> None:
        """Let the stored mail, outbox and drafts of account ``old`` belong to ``new``."""
        from mailclient.store.renaming import rename_account_data

        rename_account_data(self.profile.store_path, self.profile.drafts_dir, old, new)

    def finish_account_rename(self) -> None:
        """Finish or undo an account rename that a killed process left part-done. Only
        while holding the profile's instance lock: no rename runs then."""
        from mailclient.accounts.lifecycle import finish_rename

        try:
            finished = finish_rename(self.accounts, self.credentials, self.move_account_data)
        except MailclientError as error:
            # Tried again at the next start; until then the account keeps a consistent name.
            log.warning("An interrupted account rename is not finished yet: %s", error)
            return
        if finished is not None and finished.renamed:
            from mailclient.ui.window.renamed_account import rename_in_settings
            from mailclient.ui.window.state import window_settings

            rename_in_settings(window_settings(self.profile.root), finished.old, finished.new)

    def outbox_sender(self) -> OutboxSender:
        """The outbox of this profile, saving sent copies with the IMAP module."""
        # Imported here: the window starts without the IMAP and SMTP modules.
        from mailclient.imap.append import SentFolder
        from mailclient.smtp.sender import OutboxSender

        # The command line never writes the mail cache (a damaged one would be set aside
        # without a word, a busy one waited for): its Sent copies come with the next sync.
        return OutboxSender(
            self.profile.store_path, self.accounts.get, self.sign_in, SentFolder.open
        )
