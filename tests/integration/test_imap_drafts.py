"""The Drafts folder on a real Dovecot: saving replaces the previous version, removing works."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from pathlib import Path

import pytest

from mailclient.accounts.signin import FixedPassword
from mailclient.core.draft import Draft
from mailclient.core.models import DRAFT, SEEN
from mailclient.imap.drafts import DraftsFolder
from mailclient.imap.sync import AccountSync
from mailclient.mime.drafts import draft_from_message, draft_message
from mailclient.store.mail import MailStore
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


def test_appenduid_puts_the_copy_into_a_synced_store_only(
    servers: MailServers, tmp_path: Path
) -> None:
    password = FixedPassword(servers.user("alice").password)
    account = rig_account(servers, "alice", name="alice")
    store_path = tmp_path / "mail.sqlite3"
    draft = Draft(account="alice", sender="alice@example.org", to="bob@", subject="kept")
    folder = DraftsFolder.open(account, password, store_path=store_path)
    try:
        # A store that never synced the folder: nothing to lay it over, a sync brings it.
        assert not folder.save(draft_message(draft), draft.key)
    finally:
        folder.close()
    with MailStore.open(store_path) as store:
        engine = AccountSync(account, password, store)
        engine.sync(["Drafts"])
        engine.close()
        drafts = store.folder_by_name("alice", "Drafts")
        assert drafts is not None
        [first] = store.message_ids([drafts.id])
    folder = DraftsFolder.open(account, password, store_path=store_path)
    try:
        assert folder.save(draft_message(replace(draft, subject="kept, again")), draft.key)
    finally:
        folder.close()
    with MailStore.open(store_path) as store:
        [again] = store.summaries(store.message_ids([drafts.id]))
        assert again.id != first and again.subject == "kept, again"
        assert again.flags == {DRAFT, SEEN}
        assert b"kept, again" in (store.body(again.id) or b"")
        # What the next sync finds is what the store has already: nothing new, nothing gone.
        engine = AccountSync(account, password, store)
        [result] = engine.sync(["Drafts"])
        engine.close()
        assert (result.new, result.removed) == (0, 0)
        assert store.message_ids([drafts.id]) == [again.id]
