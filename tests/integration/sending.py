"""Helpers for the sending tests: a profile with an account on the rig, and reading back."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core.profile import Profile
from mailclient.imap.append import SentFolder
from mailclient.smtp.sender import OutboxSender
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers

CLI = [sys.executable, "-m", "mailclient"]


@dataclass
class SendingProfile:
    """A profile holding one account for a rig user, its passwords in the real keyring."""

    root: Path
    account: Account
    accounts: AccountStore
    credentials: CredentialStore

    @property
    def store_path(self) -> Path:
        return Profile(self.root).store_path

    def sender(self) -> OutboxSender:
        return OutboxSender(
            self.store_path, self.accounts.get, SignIn(self.credentials), SentFolder.open
        )

    def cli(
        self, *args: str, stdin: str = "", timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "--profile", str(self.root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def make_profile(
    root: Path,
    servers: MailServers,
    user: str = "alice",
    *,
    security: Security = Security.STARTTLS,
    smtp_port: int | None = None,
    smtp_password: str | None = None,
    **changes: object,
) -> SendingProfile:
    rig_user = servers.user(user)
    port = smtp_port or (
        servers.submission_port if security is Security.STARTTLS else servers.smtps_port
    )
    changes.setdefault("display_name", user.capitalize())
    account = rig_account(
        servers, user, name=user, smtp_port=port, smtp_security=security, **changes
    )
    profile = Profile(root).ensure()
    accounts = AccountStore(profile.config_path)
    accounts.add(account)
    credentials = CredentialStore(profile_id=profile.id())
    credentials.set_password(user, "imap", rig_user.password)
    credentials.set_password(
        user, "smtp", rig_user.password if smtp_password is None else smtp_password
    )
    return SendingProfile(root, account, accounts, credentials)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def by_message_id(messages: list[bytes]) -> dict[str, int]:
    """How many copies of each Message-ID a mailbox holds."""
    counts: dict[str, int] = {}
    for raw in messages:
        message_id = str(parse(raw)["Message-ID"])
        counts[message_id] = counts.get(message_id, 0) + 1
    return counts
