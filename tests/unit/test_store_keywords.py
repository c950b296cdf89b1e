"""The keywords the tag menu offers: from the server's FLAGS and from stored messages, kept
per account, also gathered from the mail of an upgraded store."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailclient.core.models import SEEN, SpecialUse
from mailclient.store import schema
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from tests.support.old_stores import add_old_messages


def _folders(store: MailStore, account: str) -> dict[str, int]:
    listed = store.sync_folder_list(
        account,
        [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder("Archive", "/")],
    )
    return {f.name: f.id for f in listed}


def _message(uid: int, *flags: str) -> NewMessage:
    return NewMessage(uid=uid, flags=frozenset(flags), subject=f"m{uid}")


def test_keywords_come_from_flags_lists_messages_and_flag_changes(tmp_path: Path) -> None:
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        work, home = _folders(store, "work"), _folders(store, "home")
        store.add_keywords("work", ["\\Seen", "$label1", "Invoice"])
        store.add_messages(work["INBOX"], [_message(1, SEEN, "$Forwarded"), _message(2)])
        store.add_messages(home["INBOX"], [_message(1, "private")])
        store.add_messages(work["Archive"], [_message(7)])
        store.apply_changes(work["Archive"], {7: frozenset({"Project-X"})})
        assert store.keywords("work") == ["$Forwarded", "$label1", "Invoice", "Project-X"]
        assert store.keywords("home") == ["private"]
        store.rename_account("home", "family")
        assert store.keywords("family") == ["private"]
        store.forget_account("work")
        assert store.keywords("work") == []


def test_an_upgraded_store_knows_the_keywords_of_its_mail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:9])
        with MailStore.open(path) as old:
            work = _folders(old, "work")
            add_old_messages(
                old,
                work["INBOX"],
                [_message(1, SEEN, "$label2", "Invoice"), _message(2, "\\Flagged", "Invoice")],
            )
            _folders(old, "home")
    with MailStore.open(path) as upgraded:
        assert upgraded.keywords("work") == ["$label2", "Invoice"]
        assert upgraded.keywords("home") == []
