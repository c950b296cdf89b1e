"""Special folders as servers list them: flags in any case, names below a personal namespace
prefix, servers that flag some folders and not others; and Del without a Trash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.core.models import SpecialUse
from mailclient.imap import changes
from mailclient.imap.client import classify_folders, find_special
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder


def uses(folders: list[RemoteFolder]) -> dict[str, SpecialUse | None]:
    return {f.name: f.special_use for f in folders}


def test_names_below_the_personal_prefix_are_recognised_without_special_use() -> None:
    listed = [
        (name, ".", ["\\HasNoChildren"])
        for name in (
            "INBOX",
            "INBOX.Sent",
            "INBOX.Drafts",
            "INBOX.Trash",
            "INBOX.Junk",
            "INBOX.Archive",
            "INBOX.Projects.Trash",
            "Trash",
        )
    ]
    found = uses(classify_folders(listed, set(), ["INBOX."]))
    assert found == {
        "INBOX": SpecialUse.INBOX,
        "INBOX.Sent": SpecialUse.SENT,
        "INBOX.Drafts": SpecialUse.DRAFTS,
        "INBOX.Trash": SpecialUse.TRASH,
        "INBOX.Junk": SpecialUse.JUNK,
        "INBOX.Archive": SpecialUse.ARCHIVE,
        # Nested deeper, or outside the personal namespace: a folder like any other.
        "INBOX.Projects.Trash": None,
        "Trash": None,
    }


def test_the_prefix_matches_inbox_in_any_case() -> None:
    listed = [("Inbox.Deleted Items", ".", []), ("inbox", ".", [])]
    found = uses(classify_folders(listed, set(), ["INBOX."]))
    assert found == {"Inbox.Deleted Items": SpecialUse.TRASH, "inbox": SpecialUse.INBOX}


def test_lower_case_flags_win_over_usual_names() -> None:
    listed = [
        ("INBOX", "/", []),
        ("Gesendet", "/", ["\\sent"]),
        ("Entwürfe", "/", ["\\DRAFTS"]),
        ("Sent", "/", []),  # an old folder of that name: not where copies go
        ("Trash", "/", []),  # no folder is flagged \Trash: the name tells
    ]
    folders = classify_folders(listed, {"Gesendet"}, [""])
    assert uses(folders) == {
        "INBOX": SpecialUse.INBOX,
        "Gesendet": SpecialUse.SENT,
        "Entwürfe": SpecialUse.DRAFTS,
        "Sent": None,
        "Trash": SpecialUse.TRASH,
    }
    sent = find_special(folders, SpecialUse.SENT)
    assert sent is not None and sent.name == "Gesendet" and sent.subscribed
    assert find_special(folders, SpecialUse.JUNK) is None


def test_one_folder_per_use_guessed() -> None:
    listed = [("Sent", "/", []), ("Sent Items", "/", [])]
    assert uses(classify_folders(listed, set())) == {"Sent": SpecialUse.SENT, "Sent Items": None}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def test_delete_without_a_trash_deletes_nothing(store: MailStore) -> None:
    [inbox, _] = store.sync_folder_list(
        "work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder("Sent", "/")]
    )
    store.reset_folder(inbox.id, uidvalidity=1)
    store.add_messages(inbox.id, [NewMessage(uid=1, flags=frozenset())])
    ids = store.message_ids(inbox.id)

    with pytest.raises(changes.NoTrash, match="no Trash folder"):
        changes.delete_messages(store, ids)
    assert store.message_ids(inbox.id) == ids
    assert store.pending_changes() == []
