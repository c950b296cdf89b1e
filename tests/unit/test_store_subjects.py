"""The subject sort: reply and forward prefixes left out, from an index, also after an upgrade."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from mailclient.core.models import SpecialUse
from mailclient.store import schema
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, SortKey
from mailclient.store.subjects import subject_sort_key
from tests.support.old_stores import add_old_messages


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("Lunch", "lunch"),
        ("Re: Lunch", "lunch"),
        ("RE: RE: Lunch", "lunch"),
        ("Re[2]: Lunch", "lunch"),
        ("Re^3: Lunch", "lunch"),
        ("Fwd: Fw: Lunch", "lunch"),
        ("AW: WG: Lunch", "lunch"),
        ("SV: VS: Antw: Lunch", "lunch"),
        ("  re : Lunch", "lunch"),
        ("Fwd\uff1a Lunch", "lunch"),
        ("Re: Fwd: Re[12]: AW: Lunch", "lunch"),
        ("Grüße", "grüsse"),
        # Words that only begin like a prefix stay.
        ("Revenue: Q3", "revenue: q3"),
        ("Antwort: ja", "antwort: ja"),
        ("Svar på", "svar på"),
        ("Re", "re"),
        ("Re:", ""),
    ],
)
def test_prefixes_are_left_out(subject: str, key: str) -> None:
    assert subject_sort_key(subject) == key


def _inbox(store: MailStore) -> int:
    [inbox] = store.sync_folder_list("work", [RemoteFolder("INBOX", "/", SpecialUse.INBOX)])
    return inbox.id


SUBJECTS = ["Re: banana", "apple", "AW: Re[2]: Cherry", "Fwd: apple", "Banana"]


def _messages() -> list[NewMessage]:
    return [
        NewMessage(uid=u, flags=frozenset(), subject=s, date=1_700_000_000 + u * 60)
        for u, s in enumerate(SUBJECTS, 1)
    ]


def _sorted(store: MailStore, inbox: int, descending: bool = False) -> list[str]:
    ids = store.message_ids([inbox], SortKey.SUBJECT, descending=descending)
    return [s.subject for s in store.summaries(ids)]


def test_the_subject_sort_ignores_prefixes_ties_newest_first(tmp_path: Path) -> None:
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        inbox = _inbox(store)
        store.add_messages(inbox, _messages())
        assert _sorted(store, inbox) == [
            "Fwd: apple",
            "apple",
            "Banana",
            "Re: banana",
            "AW: Re[2]: Cherry",
        ]
        assert _sorted(store, inbox, descending=True)[0] == "AW: Re[2]: Cherry"


def test_the_subject_sort_reads_the_key_from_the_index(tmp_path: Path) -> None:
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        inbox = _inbox(store)
        store.add_messages(inbox, _messages())
        calls: list[str] = []
        db = store._db
        db.create_function(
            "mail_subject_key",
            1,
            lambda v: calls.append(v) or subject_sort_key(v),
            deterministic=True,
        )
        plan = " ".join(
            row[-1]
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE folder_id IN (?) AND hidden = 0 "
                "ORDER BY mail_subject_key(subject), date DESC, id DESC",
                (inbox,),
            )
        )
        assert "messages_by_subject" in plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan  # at most for the ties' part
        _sorted(store, inbox)
        assert calls == []  # the key was computed when the rows were written


def _subject_index(path: Path) -> str:
    with closing(sqlite3.connect(path)) as raw:
        (sql,) = raw.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'messages_by_subject'"
        ).fetchone()
    return str(sql)


def test_an_upgraded_store_sorts_its_mail_without_prefixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        # The store as the version before the subject key wrote it.
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:8])
        with MailStore.open(path) as old:
            inbox = _inbox(old)
            add_old_messages(old, inbox, _messages())
    assert "mail_subject_key" not in _subject_index(path)
    with MailStore.open(path) as upgraded:
        assert _sorted(upgraded, inbox) == [
            "Fwd: apple",
            "apple",
            "Banana",
            "Re: banana",
            "AW: Re[2]: Cherry",
        ]
    assert "mail_subject_key(subject)" in _subject_index(path)
