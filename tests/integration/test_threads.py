"""Threads against the rig's Dovecot: a conversation over INBOX and Sent, as a user lists it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.imap.sync import AccountSync, SyncOptions
from mailclient.store import mail
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account, message
from tests.integration.test_mail_cli import USER, Run, add_account, cli  # noqa: F401
from tests.rig import MailServers

pytestmark = pytest.mark.mail_users(USER)


def conversation(number: int) -> bytes:
    """Message ``number`` of a five-message conversation; each answers the one before."""
    earlier = " ".join(f"<m{n}@example.org>" for n in range(1, number))
    headers = (
        f"In-Reply-To: <m{number - 1}@example.org>\r\nReferences: {earlier}\r\n"
        if number > 1
        else ""
    )
    return message(number, "Plan" if number == 1 else "Re: Plan", extra_headers=headers)


def listed(cli: Run, folder: str) -> list[dict[str, object]]:  # noqa: F811
    result = cli("list", "work", "--folder", folder, "--threads", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("missing", [None, 3])
def test_a_conversation_over_inbox_and_sent_is_one_thread(
    cli: Run,  # noqa: F811
    servers: MailServers,
    missing: int | None,
) -> None:
    # Mine (2 and 4) in Sent, the others' in INBOX; with one in the middle never received.
    for number in range(1, 6):
        if number != missing:
            servers.append(USER, "Sent" if number % 2 == 0 else "INBOX", conversation(number))
    servers.append(USER, "INBOX", message(9, "Something else", minutes=99))
    add_account(cli, servers)
    assert cli("sync", "work").returncode == 0

    inbox, sent = listed(cli, "INBOX"), listed(cli, "Sent")
    threads = {row["subject"] == "Something else": row["thread"] for row in inbox}
    conversation_rows = [r for r in inbox + sent if r["subject"] != "Something else"]
    assert len(conversation_rows) == (4 if missing else 5)
    assert {r["thread"] for r in conversation_rows} == {threads[False]}
    assert threads[True] != threads[False]
    # The newest thread first; in the inbox, replies hang under their nearest ancestor there.
    replies = [("Re: Plan", 1)] if missing else [("Re: Plan", 1), ("Re: Plan", 2)]
    assert [(r["subject"], r["depth"]) for r in inbox] == [
        ("Something else", 0),
        ("Plan", 0),
        *replies,
    ]

    text = cli("list", "work", "--folder", "INBOX", "--threads")
    lines = text.stdout.splitlines()
    assert lines[1].endswith("\tPlan") and lines[2].endswith("\t  Re: Plan")


def test_a_first_fill_threaded_at_its_end_holds_the_conversation_together(
    servers: MailServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big enough to count as a first fill (threaded when it ends), in batches of two, newest
    # first; message 3 is missing.
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 3)
    for number in (1, 2, 4, 5):
        servers.append(USER, "INBOX", conversation(number))
    servers.append(USER, "INBOX", message(9, "Something else", minutes=99))
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        engine = AccountSync(
            account(servers, USER),
            FixedPassword(servers.user(USER).password),
            store,
            SyncOptions(first_batch=2, batch=2),
        )
        [result] = engine.sync(["INBOX"])
        engine.close()
        inbox = store.folder_by_name("test", "INBOX")
        assert result.new == 5 and inbox is not None
        placed = store.threaded([inbox.id])
        subjects = {s.id: s.subject for s in store.summaries([p.id for p in placed])}
    assert [(subjects[p.id], p.depth) for p in placed] == [
        ("Something else", 0),
        ("Plan", 0),
        ("Re: Plan", 1),
        ("Re: Plan", 2),
        ("Re: Plan", 3),
    ]
    assert len({p.thread for p in placed}) == 2
