"""The Drafts folder on a real Dovecot: saving replaces the previous version, removing works."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.draft import Draft
from mailclient.core.models import DRAFT, SEEN
from mailclient.imap.drafts import DraftsFolder
from mailclient.mime.drafts import draft_from_message, draft_message
from tests.integration.imap_helpers import account as rig_account
from tests.rig import MailServers

pytestmark = pytest.mark.mail_users("alice")


def drafts_in(servers: MailServers) -> list[tuple[Draft, set[bytes]]]:
    found = []
    with servers.imap("alice") as client:
        client.select_folder("Drafts", readonly=True)
        uids = client.search("ALL")
        for _uid, data in sorted(client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]).items()):
            found.append((draft_from_message(data[b"BODY[]"], "alice"), set(data[b"FLAGS"])))
    return found


def test_each_save_replaces_the_previous_version(servers: MailServers) -> None:
    password = servers.user("alice").password
    draft = Draft(account="alice", sender="alice@example.org", to="bob@", subject="first")
    folder = DraftsFolder.open(rig_account(servers, "alice", name="alice"), FixedPassword(password))
    try:
        assert folder.folder == "Drafts"
        folder.save(draft_message(draft), draft.key)
        second = Draft(**{**draft.__dict__, "subject": "second", "to": "bob@example.org"})
        folder.save(draft_message(second), second.key)
    finally:
        folder.close()

    [(stored, flags)] = drafts_in(servers)
    assert (stored.key, stored.subject, stored.to) == (draft.key, "second", "bob@example.org")
    assert {DRAFT.encode(), SEEN.encode()} <= flags


def test_a_draft_opened_from_the_folder_replaces_its_copy(servers: MailServers) -> None:
    other = email.message.EmailMessage(policy=email.policy.SMTP)
    other["From"] = "alice@example.org"
    other["Subject"] = "written elsewhere"
    other["Message-ID"] = "<elsewhere@example.org>"
    other.set_content("text")
    servers.append("alice", "Drafts", other.as_bytes(), flags=[DRAFT])
    unrelated = Draft(account="alice", sender="alice@example.org", subject="keep me")
    servers.append("alice", "Drafts", draft_message(unrelated))

    [opened] = [d for d, _ in drafts_in(servers) if d.subject == "written elsewhere"]
    assert opened.replaces == "<elsewhere@example.org>"
    folder = DraftsFolder.open(
        rig_account(servers, "alice", name="alice"), FixedPassword(servers.user("alice").password)
    )
    try:
        folder.save(draft_message(opened), opened.key, opened.replaces)
        assert sorted(d.subject for d, _ in drafts_in(servers)) == [
            "keep me",
            "written elsewhere",
        ]
        assert folder.remove(opened.key) == 1
    finally:
        folder.close()
    assert [d.subject for d, _ in drafts_in(servers)] == ["keep me"]
