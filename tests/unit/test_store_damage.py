"""A damaged, unwritable or misused store: told apart, and nothing unsent lost.

Each test damages a real store file the way a disk or a crash does, by overwriting pages.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
from pathlib import Path

import pytest

from mailclient.core.models import SEEN, SpecialUse
from mailclient.core.outgoing import OutgoingMessage
from mailclient.imap import changes
from mailclient.mime.compose import build_message
from mailclient.store import repair, schema
from mailclient.store.db import (
    StoreBug,
    StoreClosed,
    StoreDamaged,
    StoreUnavailable,
    connect,
    damage_marker,
    store_error,
)
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder, TransferState
from mailclient.store.outbox import Outbox, outbox_path
from mailclient.store.pending import ChangeKind
from mailclient.store.repair import PENDING_FILE


def filled_store(path: Path, messages: int = 3000) -> None:
    """A store like a synced one: two folders, messages, a few bodies, a waiting change."""
    with MailStore.open(path) as store:
        inbox, _ = store.sync_folder_list(
            "work",
            [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder("Trash", "/")],
        )
        store.add_messages(
            inbox.id,
            [
                NewMessage(
                    uid,
                    frozenset(),
                    size=5000,
                    date=1_700_000_000 + uid,
                    sender=f"Person {uid % 50} <p{uid % 50}@example.org>",
                    subject=f"Message number {uid} about something",
                    message_id=f"<{uid}@example.org>",
                )
                for uid in range(1, messages + 1)
            ],
        )
        ids = store.message_ids(inbox.id)
        for message_id in ids[:20]:
            store.save_body(message_id, b"Subject: x\r\n\r\n" + b"body " * 2000)
        store.record_change(ChangeKind.FLAGS, ids[:3], add={SEEN})


def page_size(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA page_size").fetchone()[0])


def overwrite(path: Path, page: int, data: bytes) -> None:
    size = page_size(path)
    with path.open("r+b") as file:
        file.seek((page - 1) * size)
        file.write(data[:size].ljust(size, b"\0"))


def checkpoint(path: Path) -> None:
    """Everything into the main file, as after a clean exit: damage there is what counts."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def roots(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0"))


def page_of(path: Path, name: str) -> bytes:
    """The root page of table or index ``name`` of this very file."""
    size = page_size(path)
    with path.open("rb") as file:
        file.seek((roots(path)[name] - 1) * size)
        return file.read(size)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "profile" / "mail.sqlite3"
    path.parent.mkdir()
    filled_store(path)
    checkpoint(path)
    return path


def queue(path: Path, subject: str) -> int:
    outbox = Outbox.open(path)
    try:
        built = build_message(
            OutgoingMessage(
                sender="ann@example.org",
                to=("bob@example.org",),
                bcc=("carol@example.org",),
                subject=subject,
                body="Unsent words.",
            )
        )
        return outbox.add("work", built).id
    finally:
        outbox.close()


@pytest.mark.parametrize("thorough", [False, True])
def test_a_folder_list_overwritten_with_an_empty_page_is_found_and_set_aside(
    store_path: Path, thorough: bool
) -> None:
    queued = queue(store_path, "still to send")
    pages = roots(store_path)
    # Overwritten by empty pages (those of the old outbox table and its index, empty since
    # the outbox has its own file), the folder list reads as empty without an error.
    overwrite(store_path, pages["folders"], page_of(store_path, "outbox"))
    overwrite(store_path, pages["sqlite_autoindex_folders_1"], page_of(store_path, "outbox_due"))

    store = MailStore.open(store_path, thorough=thorough)
    try:
        rescue = store.rescue
        assert rescue is not None, "the damage went unseen: the folder list reads as empty"
        assert store.folders() == [] and store.pending_changes() == []  # a new, empty store
    finally:
        store.close()
    folder = rescue.folder
    assert folder.parent == store_path.parent and folder.name.startswith("rescued-")
    assert (folder / "mail.sqlite3").exists() and not damage_marker(store_path).exists()
    assert folder.stat().st_mode & 0o777 == 0o700
    saved = json.loads((folder / PENDING_FILE).read_text())
    assert (saved["folder_changes"], saved["transfers"]) == ([], [])
    [change] = saved["changes"]
    assert (change["account"], change["kind"], change["add_flags"]) == ("work", "flags", [SEEN])
    assert [m["uid"] for m in change["messages"]] == [2998, 2999, 3000]
    assert [m["message_id"] for m in change["messages"]] == [
        "<2998@example.org>",
        "<2999@example.org>",
        "<3000@example.org>",
    ]
    assert rescue.changes == 1
    text = rescue.message()
    assert str(folder) in text and "1 change made here" in text
    assert "Unsent messages are kept apart" in text
    # What was queued before is still queued.
    outbox = Outbox.open(store_path)
    assert [item.id for item in outbox.items()] == [queued]
    outbox.close()


def test_random_bytes_in_the_messages_are_met_in_use_and_set_aside_next_time(
    store_path: Path,
) -> None:
    size = page_size(store_path)
    with sqlite3.connect(store_path) as db:
        leaves = [
            int(r[0])
            for r in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
    rng = random.Random(7)
    for page in leaves[len(leaves) // 2 : len(leaves) // 2 + 4]:
        overwrite(store_path, page, rng.randbytes(size))

    store = MailStore.open(store_path)
    try:
        (inbox,) = [f for f in store.folders("work") if f.name == "INBOX"]
        ids = store.message_ids(inbox.id)
        with pytest.raises(StoreDamaged, match="is damaged") as caught:
            store.summaries(ids)
            for message_id in ids:
                store.body(message_id)
    finally:
        store.close()
    assert "starts a new one the next time" in str(caught.value)
    assert damage_marker(store_path).exists()

    again = MailStore.open(store_path)
    assert again.rescue is not None and again.folders() == []
    again.close()
    assert not damage_marker(store_path).exists()


def test_a_store_that_is_not_a_database_any_more(store_path: Path) -> None:
    overwrite(store_path, 1, random.Random(3).randbytes(4096))
    store = MailStore.open(store_path)
    assert store.rescue is not None
    assert store.rescue.changes == 0 and store.rescue.unreadable_changes
    assert "could not all be read" in store.rescue.message()
    store.close()


def test_the_thorough_check_reads_every_page(store_path: Path) -> None:
    # A damaged page deep inside the messages: the quick opening does not read it.
    with sqlite3.connect(store_path) as db:
        leaf = int(
            db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' "
                "ORDER BY pageno LIMIT 1 OFFSET 20"
            ).fetchone()[0]
        )
    overwrite(store_path, leaf, b"\x0d\x00\x00\x00\x09\xff\xff" + bytes(100))
    quick = MailStore.open(store_path)
    assert quick.rescue is None
    quick.close()
    thorough = MailStore.open(store_path, thorough=True)
    assert thorough.rescue is not None
    thorough.close()
    # Once the whole file passed, the next thorough opening within a day stays quick.
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT value FROM counters WHERE name = 'checked'").fetchone()


def test_an_older_profiles_outbox_moves_to_its_own_file(tmp_path: Path) -> None:
    store_path = tmp_path / "mail.sqlite3"
    legacy = connect(store_path, schema.MIGRATIONS)
    raw = b"From: ann@example.org\r\nSubject: old\r\n\r\nwritten before\r\n"
    for item_id, state in ((3, "queued"), (5, "failed"), (7, "sending")):
        legacy.execute(
            "INSERT INTO outbox (id, account, message_id, subject, envelope_from, recipients, "
            "size, state, created, next_attempt, data_started) "
            "VALUES (?, 'work', ?, 'old', 'ann@example.org', '[\"bob@example.org\"]', ?, ?, 1, "
            "1, ?)",
            (item_id, f"<{item_id}@example.org>", len(raw), state, int(state == "sending")),
        )
        legacy.execute("INSERT INTO outbox_raw (id, raw) VALUES (?, ?)", (item_id, raw))
    legacy.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'outbox'")
    legacy.close()

    outbox = Outbox.open(store_path)
    try:
        assert [(i.id, i.state.value) for i in outbox.items()] == [
            (3, "queued"),
            (5, "failed"),
            (7, "sending"),
        ]
        assert outbox.raw(3) == raw == outbox.sent_copy(3)
        recovered = outbox.recover_interrupted()
        assert [(i.id, i.maybe_sent) for i in recovered] == [(7, True)]
        new = outbox.add("work", build_message(OutgoingMessage("a@example.org", ("b@c.org",))))
        assert new.id == 10  # ids once given out in the old table are never given again
    finally:
        outbox.close()
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    assert outbox_path(store_path).exists()
    # Once only: opening again brings nothing back.
    again = Outbox.open(store_path)
    assert [i.id for i in again.items()] == [3, 5, 7, 10]
    again.close()


def test_a_damaged_outbox_file_keeps_every_message_it_can(store_path: Path) -> None:
    ids = [queue(store_path, f"message {n}") for n in range(3)]
    path = outbox_path(store_path)
    checkpoint(path)
    overwrite(path, roots(path)["outbox_due"], random.Random(5).randbytes(4096))
    import mailclient.store.outbox as outbox_module

    outbox_module._checked.clear()  # as in a new process
    outbox = Outbox.open(store_path)
    try:
        assert outbox.rescue is not None
        assert (outbox.rescue.saved, outbox.rescue.lost) == (3, 0)
        assert [i.id for i in outbox.items()] == ids
        assert b"Bcc: carol@example.org" in outbox.sent_copy(ids[0])
        assert b"Bcc" not in outbox.raw(ids[0])
    finally:
        outbox.close()
    folder = outbox.rescue.folder
    listing = json.loads((folder / "outbox.json").read_text())
    assert [m["subject"] for m in listing] == ["message 0", "message 1", "message 2"]
    eml = (folder / f"outbox-{ids[0]}.eml").read_bytes()
    assert b"Subject: message 0" in eml and b"Bcc: carol@example.org" in eml
    assert (folder / "outbox.sqlite3").exists()
    assert "3 messages read from it are in the outbox again" in outbox.rescue.message()


def test_a_full_disk_is_told_apart_from_damage(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    db = connect(path)
    db.execute("PRAGMA max_page_count = 60")  # as full as a disk can be
    with pytest.raises(sqlite3.Error) as raised:
        db.execute("CREATE TABLE filler (x)")
        for _ in range(100):
            db.execute("INSERT INTO filler VALUES (?)", (b"x" * 4000,))
    error = store_error(path, raised.value)
    assert isinstance(error, StoreUnavailable)
    assert str(error).startswith(f"The disk holding {path} is full. Free some space")
    assert not damage_marker(path).exists()


def test_a_read_only_store_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "mail.sqlite3"
    MailStore.open(path).close()
    reader = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as raised:
        reader.execute("INSERT INTO counters (name, value) VALUES ('x', 1)")
    error = store_error(path, raised.value)
    assert isinstance(error, StoreUnavailable)
    assert "mailclient cannot write mail.sqlite3" in str(error)
    assert "nothing was lost" in str(error)


def test_a_store_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "profile"
    blocker.write_text("a file where the profile folder should be")
    with pytest.raises(StoreUnavailable, match=r"its folder .*profile does not exist"):
        MailStore.open(blocker / "mail.sqlite3")


def test_anything_else_is_a_bug_with_its_traceback_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mail.sqlite3"
    db = connect(path)
    with pytest.raises(sqlite3.Error) as raised:
        db.execute("SELECT no_such_column FROM folders")
    caplog.set_level(logging.ERROR)
    try:
        raise store_error(path, raised.value) from raised.value
    except StoreBug as bug:
        assert "no such column" in str(bug)
    assert "Traceback" in caplog.text and "no_such_column" in caplog.text
    assert not damage_marker(path).exists()


def test_an_older_profiles_unsent_messages_survive_its_damaged_cache(tmp_path: Path) -> None:
    store_path = tmp_path / "mail.sqlite3"
    filled_store(store_path, messages=500)
    raw = b"From: ann@example.org\r\nSubject: old\r\n\r\nwritten before\r\n"
    with sqlite3.connect(store_path) as legacy:  # as an older version queued it
        legacy.execute(
            "INSERT INTO outbox (account, message_id, subject, envelope_from, recipients, "
            "size, created, next_attempt) VALUES ('work', '<old@example.org>', 'old', "
            "'ann@example.org', '[\"bob@example.org\"]', ?, 1, 1)",
            (len(raw),),
        )
        legacy.execute("INSERT INTO outbox_raw (id, raw) VALUES (1, ?)", (raw,))
    checkpoint(store_path)
    pages = roots(store_path)
    overwrite(store_path, pages["folders"], page_of(store_path, "pending_changes"))
    overwrite(store_path, pages["sqlite_autoindex_folders_1"], page_of(store_path, "outbox_due"))

    store = MailStore.open(store_path)
    assert store.rescue is not None
    store.close()
    outbox = Outbox.open(store_path)
    try:
        assert [(i.id, i.subject) for i in outbox.items()] == [(1, "old")]
        assert outbox.raw(1) == raw
    finally:
        outbox.close()


def test_a_store_used_after_closing_is_not_taken_for_a_bug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MailStore.open(tmp_path / "mail.sqlite3")
    store.close()
    with pytest.raises(StoreClosed, match="shutting down"):
        store.change_seq()  # a late signal while the window closes
    assert "Traceback" not in caplog.text


def test_a_process_that_holds_the_store_open_reports_damage_and_leaves_it(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repair, "_may_set_aside", True)
    held = MailStore.open(store_path)  # the window's own connection
    repair.hold_open()
    pages = roots(store_path)
    overwrite(store_path, pages["folders"], page_of(store_path, "outbox"))
    overwrite(store_path, pages["sqlite_autoindex_folders_1"], page_of(store_path, "outbox_due"))
    for _ in range(2):  # a worker's opening, then the next one
        with pytest.raises(StoreDamaged, match="restart the window"):
            MailStore.open(store_path)
    assert damage_marker(store_path).exists() and store_path.exists()
    assert not list(store_path.parent.glob("rescued-*"))
    held.close()
    monkeypatch.setattr(repair, "_may_set_aside", True)  # the next start
    again = MailStore.open(store_path)
    assert again.rescue is not None
    again.close()


def store_with_waiting_work(path: Path) -> None:
    """A synced store of two accounts with work waiting for the servers: a flag change,
    folder changes, and a move and a copy to the other account (one of them appending)."""
    filled_store(path)
    with MailStore.open(path) as store:
        [home_inbox, archive] = store.sync_folder_list(
            "home",
            [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder("Archive", "/")],
        )
        trash = store.folder_by_name("work", "Trash")
        inbox = store.folder_by_name("work", "INBOX")
        assert trash is not None and inbox is not None
        changes.rename_folder(store, trash.id, "Bin")
        changes.create_folder(store, "home", "Plans")
        newest, second = store.message_ids(inbox.id)[3:5]
        store.record_transfer([newest], archive.id, copy=False)
        store.record_transfer([second], home_inbox.id, copy=True)
        moving = store.pending_transfers("work")[0]
        store.claim_transfer(moving.id)
        store.set_transfer_state(moving.id, TransferState.APPENDING)
    checkpoint(path)


def test_waiting_folder_changes_and_transfers_are_kept_with_names_for_ids(
    tmp_path: Path,
) -> None:
    path = tmp_path / "profile" / "mail.sqlite3"
    path.parent.mkdir()
    store_with_waiting_work(path)
    size = page_size(path)
    with sqlite3.connect(path) as db:
        leaves = [
            int(r[0])
            for r in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'messages' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
    # The oldest messages: those the waiting work names stay readable.
    for page in leaves[2:5]:
        overwrite(path, page, random.Random(5).randbytes(size))
    with MailStore.open(path) as store, pytest.raises(StoreDamaged):
        inbox = store.folder_by_name("work", "INBOX")
        assert inbox is not None
        store.summaries(store.message_ids(inbox.id))

    store = MailStore.open(path)
    rescued = store.rescue
    store.close()
    assert rescued is not None and not rescued.unreadable_changes
    saved = json.loads((rescued.folder / PENDING_FILE).read_text())
    assert [(c["account"], c["kind"], c["folder"]) for c in saved["changes"]] == [
        ("work", "flags", "INBOX")
    ]
    assert saved["folder_changes"] == [
        {
            "account": "work",
            "kind": "rename",
            "folder": "Bin",
            "old_name": "Trash",
            "new_name": "Bin",
        },
        {
            "account": "home",
            "kind": "create",
            "folder": "Plans",
            "old_name": "",
            "new_name": "Plans",
        },
    ]
    assert saved["transfers"] == [
        {
            "account": "work",
            "kind": "move",
            "folder": "INBOX",
            "uid": 2997,
            "uidvalidity": None,
            "target_account": "home",
            "target_folder": "Archive",
            "message_id": "<2997@example.org>",
            "subject": "Message number 2997 about something",
            "state": "appending",
        },
        {
            "account": "work",
            "kind": "copy",
            "folder": "INBOX",
            "uid": 2996,
            "uidvalidity": None,
            "target_account": "home",
            "target_folder": "INBOX",
            "message_id": "<2996@example.org>",
            "subject": "Message number 2996 about something",
            "state": "waiting",
        },
    ]
    assert rescued.changes == 5
    assert "5 changes made here" in rescued.message()


def test_waiting_work_whose_folders_are_unreadable_is_kept_by_id_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "profile" / "mail.sqlite3"
    path.parent.mkdir()
    store_with_waiting_work(path)
    with sqlite3.connect(path) as db:
        folder_ids = dict(db.execute("SELECT account || '/' || name, id FROM folders"))
    pages = roots(path)
    overwrite(path, pages["folders"], page_of(path, "outbox"))
    overwrite(path, pages["sqlite_autoindex_folders_1"], page_of(path, "outbox_due"))

    with caplog.at_level(logging.WARNING, logger="mailclient.store.repair"):
        store = MailStore.open(path)
    rescued = store.rescue
    store.close()
    assert rescued is not None and rescued.changes == 5
    saved = json.loads((rescued.folder / PENDING_FILE).read_text())
    [change] = saved["changes"]
    assert change["folder"] is None and change["folder_id"] == folder_ids["work/INBOX"]
    assert [(c["kind"], c["folder"], c["folder_id"]) for c in saved["folder_changes"]] == [
        ("rename", None, folder_ids["work/Bin"]),
        ("create", None, folder_ids["home/Plans"]),
    ]
    move = saved["transfers"][0]
    assert (move["folder"], move["folder_id"]) == (None, folder_ids["work/INBOX"])
    assert (move["target_account"], move["target_folder"], move["target_folder_id"]) == (
        None,
        None,
        folder_ids["home/Archive"],
    )
    assert move["subject"] == "Message number 2997 about something"
    unmapped = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(unmapped) == 1
    for name in ("work/INBOX", "work/Bin", "home/Plans", "home/Archive"):
        assert f"folder {folder_ids[name]}" in unmapped[0]
