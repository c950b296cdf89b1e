"""Helpers for the IMAP integration tests: accounts on the rig, messages, server checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from mailclient.accounts.model import Account, Security
from mailclient.store.mail import MailStore
from tests.rig import MailServers

EPOCH = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def account(
    servers: MailServers,
    user: str,
    port: int | None = None,
    name: str = "test",
    *,
    host: str | None = None,
    **changes: object,
) -> Account:
    """An account for ``user`` of the rig: IMAPS on the rig's Dovecot (or on another
    ``port``), submission with STARTTLS, certificates checked against the test CA.

    ``host`` names both servers another way (the certificate also holds "localhost");
    ``changes`` set any other field.
    """
    values: dict[str, object] = {
        "name": name,
        "email": servers.user(user).address,
        "imap_host": host or servers.host,
        "imap_port": port or servers.imaps_port,
        "imap_security": Security.SSL,
        "smtp_host": host or servers.host,
        "smtp_port": servers.submission_port,
        "ca_file": str(servers.ca_file),
    }
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


def message(
    number: int,
    subject: str | None = None,
    sender: str = "Bob Example <bob@example.org>",
    minutes: int | None = None,
    extra_headers: str = "",
    attachment: bool = False,
) -> bytes:
    """A small message; its Date is ``minutes`` (default: ``number``) after EPOCH."""
    date = format_datetime(EPOCH + timedelta(minutes=number if minutes is None else minutes))
    head = (
        f"Date: {date}\r\nFrom: {sender}\r\nTo: someone@example.org\r\n"
        f"Subject: {subject if subject is not None else f'Message {number}'}\r\n"
        f"Message-ID: <m{number}@example.org>\r\nMIME-Version: 1.0\r\n{extra_headers}"
    )
    if attachment:
        return (
            head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            "--b\r\nContent-Type: application/pdf\r\n"
            "Content-Disposition: attachment; filename=a.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
        ).encode()
    return (head + f"Content-Type: text/plain; charset=utf-8\r\n\r\nBody {number}\r\n").encode()


def server_state(servers: MailServers, user: str, folder: str) -> dict[int, frozenset[str]]:
    """UID -> flags of ``folder`` as the server has them (\\Recent left out)."""
    with servers.imap(user) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        if not uids:
            return {}
        fetched = client.fetch(uids, ["FLAGS"])
    return {
        uid: frozenset(f.decode() for f in data[b"FLAGS"]) - {"\\Recent"}
        for uid, data in fetched.items()
    }


def store_state(store: MailStore, account_name: str, folder: str) -> dict[int, frozenset[str]]:
    """UID -> flags of ``folder`` as the store has them."""
    found = store.folder_by_name(account_name, folder)
    assert found is not None, f"{folder} is not in the store"
    return {s.uid: s.flags for s in store.summaries(store.message_ids(found.id))}


def subjects(store: MailStore, account_name: str, folder: str) -> list[str]:
    """Subjects of a stored folder, newest first."""
    found = store.folder_by_name(account_name, folder)
    assert found is not None
    return [s.subject for s in store.summaries(store.message_ids(found.id))]


def uids_of(store: MailStore, ids: Sequence[int]) -> list[int]:
    return [s.uid for s in store.summaries(ids)]
