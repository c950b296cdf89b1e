"""Threads in the store: JWZ linking across folders, missing messages, loops, subjects."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from mailclient.core.models import SpecialUse
from mailclient.core.query import parse_query
from mailclient.store import mail, schema, threads
from mailclient.store.db import ReadStopped
from mailclient.store.mail import MailStore, NewMessage, RemoteFolder
from mailclient.store.threads import base_subject, message_key, references
from tests.support.old_stores import add_old_messages


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MailStore]:
    with MailStore.open(tmp_path / "mail.sqlite3") as s:
        yield s


def folders(store: MailStore, account: str = "work") -> dict[str, int]:
    listed = store.sync_folder_list(
        account,
        [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder("Sent", "/", SpecialUse.SENT)],
    )
    return {f.name: f.id for f in listed}


def msg(uid: int, mid: str = "", irt: str = "", refs: str = "", subject: str = "") -> NewMessage:
    return NewMessage(
        uid=uid,
        flags=frozenset(),
        date=1_700_000_000 + uid * 60,
        subject=subject or f"message {uid}",
        message_id=f"<{mid}@x>" if mid else "",
        in_reply_to=f"<{irt}@x>" if irt else "",
        references=" ".join(f"<{r}@x>" for r in refs.split()),
    )


def layout(store: MailStore, *folder_ids: int) -> list[tuple[str, int, int]]:
    """(subject, thread, depth) in threaded order; thread numbers renamed 1, 2, ... in order."""
    placed = store.threaded(list(folder_ids))
    names: dict[int, int] = {}
    summaries = {s.id: s.subject for s in store.summaries([p.id for p in placed])}
    return [(summaries[p.id], names.setdefault(p.thread, len(names) + 1), p.depth) for p in placed]


def test_references_and_subjects_are_read_as_jwz_says() -> None:
    assert references("<c@x>", "<a@x> <b@x>") == ["<a@x>", "<b@x>", "<c@x>"]
    assert references("<b@x> (comment)", "<a@x>\r\n <b@x>") == ["<a@x>", "<b@x>"]
    assert references("", "<a@x> <b@x> <a@x>") == ["<a@x>", "<b@x>"]
    assert references("garbage", "") == []
    assert base_subject("Re: AW: Fwd:  Plan  ") == ("plan", True)
    assert base_subject("Re[2]: SV: plan") == ("plan", True)
    assert base_subject("Plan") == ("plan", False)


def test_a_conversation_over_inbox_and_sent_is_one_thread(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["INBOX"], [msg(1, "a"), msg(3, "c", "b", "a b"), msg(9, "other")])
    store.add_messages(ids["Sent"], [msg(2, "b", "a", "a"), msg(4, "d", "c", "a b c")])
    assert layout(store, ids["INBOX"], ids["Sent"]) == [
        ("message 9", 1, 0),
        ("message 1", 2, 0),
        ("message 2", 2, 1),
        ("message 3", 2, 2),
        ("message 4", 2, 3),
    ]
    # The inbox alone: a reply to a message in Sent hangs under what that one answered.
    assert layout(store, ids["INBOX"]) == [
        ("message 9", 1, 0),
        ("message 1", 2, 0),
        ("message 3", 2, 1),
    ]
    inbox = {p.id: p.thread for p in store.threaded([ids["INBOX"]])}
    sent = {p.id: p.thread for p in store.threaded([ids["Sent"]])}
    assert len(set(sent.values())) == 1 and set(sent.values()) < set(inbox.values())


def test_replies_arriving_first_are_joined_when_their_parent_comes(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    # Two replies to a message not here yet: one thread already, through the missing one.
    store.add_messages(inbox, [msg(5, "r1", "root", "root"), msg(6, "r2", "root", "root")])
    assert [(t, d) for _, t, d in layout(store, inbox)] == [(1, 0), (1, 0)]
    store.add_messages(inbox, [msg(7, "x", "r2", "")])  # In-Reply-To only
    store.add_messages(inbox, [msg(1, "root")])
    assert layout(store, inbox) == [
        ("message 1", 1, 0),
        ("message 5", 1, 1),
        ("message 6", 1, 1),
        ("message 7", 1, 2),
    ]


def test_two_threads_merge_when_a_message_links_them(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, "a"), msg(2, "b", "a", "a"), msg(3, "c")])
    assert len({t for _, t, _ in layout(store, inbox)}) == 2
    store.add_messages(inbox, [msg(4, "d", "c", "a b c")])
    assert len({t for _, t, _ in layout(store, inbox)}) == 1


def test_loops_in_references_are_broken(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [msg(1, "a", "b", "b"), msg(2, "b", "a", "a"), msg(3, "c", "c", "c"), msg(4, "d", "", "d")],
    )
    placed = layout(store, inbox)
    assert sorted(s for s, _, _ in placed) == [f"message {n}" for n in range(1, 5)]
    assert len({t for s, t, _ in placed if s in ("message 1", "message 2")}) == 1


def test_subjects_join_only_messages_without_references(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [
            msg(1, "a", subject="Lunch"),
            msg(2, "b", subject="Re: lunch"),  # no headers: joins by subject
            msg(3, "c", "zz", "zz", subject="Re: Lunch"),  # headers say otherwise
            msg(4, "d", subject="Lunch"),  # not a reply: a thread of its own
            msg(5, "e", subject="Re: Dinner"),  # nothing to join
        ],
    )
    placed = store.threaded([inbox])
    uids = {s.id: s.uid for s in store.summaries([p.id for p in placed])}
    thread_of = {uids[p.id]: p.thread for p in placed}
    assert thread_of[1] == thread_of[2]
    assert thread_of[3] != thread_of[1]
    assert thread_of[4] != thread_of[1]
    assert len(set(thread_of.values())) == 4


def test_messages_without_message_id_and_duplicates(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["INBOX"], [msg(1), msg(2), msg(3, "a"), msg(4, "b", "a", "a")])
    store.add_messages(ids["Sent"], [msg(5, "a")])  # a copy of "a" in another folder
    placed = layout(store, ids["INBOX"], ids["Sent"])
    assert len(placed) == 5
    assert [s for s, _, d in placed if d == 1] == ["message 4"]
    assert len({t for s, t, _ in placed if s in ("message 1", "message 2")}) == 2


def test_threads_go_with_the_account(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, "a"), msg(2, "b", "a", "a")])
    assert [d for _, _, d in layout(store, inbox)] == [0, 1]
    store.forget_account("work")
    assert store._db.execute("SELECT count(*) FROM thread_nodes").fetchone() == (0,)


def test_an_upgraded_store_is_threaded_by_one_write_and_never_by_a_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:4])
        patched.setattr(MailStore, "_folder_changes_waiting", lambda store, account: [])
        with MailStore.open(path) as old:
            inbox = folders(old)["INBOX"]
            add_old_messages(old, inbox, [msg(1, "a"), msg(2, "b", "a", "a")])
    with MailStore.open(path) as upgraded:
        # Reading is all the GUI thread does: the messages not linked yet are listed alone.
        assert upgraded.has_unthreaded()
        assert [d for _, _, d in layout(upgraded, inbox)] == [0, 0]
        assert upgraded.has_unthreaded()
        assert upgraded.link_unthreaded() == 2
        assert not upgraded.has_unthreaded() and upgraded.link_unthreaded() == 0
        assert layout(upgraded, inbox) == [("message 1", 1, 0), ("message 2", 1, 1)]


def test_every_lookup_reads_an_index(store: MailStore) -> None:
    # A lookup that scans (the subject fallback did, by thread) makes each stored batch
    # read every node of the account: a first sync of 50,000 messages took minutes.
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(1, "a", subject="Lunch"), msg(2, "b", "a", "a")])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    store.add_messages(
        inbox,
        [msg(3, "c", subject="Re: Lunch"), msg(4, "d", subject="Re: Dinner"), msg(5, "e", "b")],
    )
    store._db.set_trace_callback(None)
    lookups = [
        s for s in statements if s.lstrip().upper().startswith("SELECT") and "thread_nodes" in s
    ]
    assert lookups
    assert any("subject =" in sql for sql in lookups)
    for sql in lookups:
        plan = " ".join(row[3] for row in store._db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SCAN" not in plan, (sql, plan)
        # The index seeks on every column the lookup names, not on the account alone.
        for column in ("message_id", "subject"):
            if f"{column} =" in sql or f"{column} IN" in sql:
                assert f"{column}=?" in plan, (sql, plan)


def test_the_newest_threads_read_alone_begin_the_whole_list(store: MailStore) -> None:
    # The first screenful of a threaded folder is read without threading the whole folder;
    # it must be what the whole list starts with: threads whole, their order, the depths.
    ids = folders(store)
    inbox, sent = ids["INBOX"], ids["Sent"]
    store.add_messages(
        inbox,
        [
            msg(1, "a"),
            msg(2, "b", "a", "a"),
            msg(3),  # no Message-ID: a thread of its own
            msg(4, "c"),
            msg(5, "d", "missing", "missing"),  # its parent never came
            msg(6, "e", "missing", "missing"),
            msg(8, "g", "f", "a b f"),  # answers a message of Sent
            msg(9, "h", "c", "c"),
            msg(10, "i"),
        ],
    )
    store.add_messages(sent, [msg(7, "f", "b", "a b")])
    for folder_ids in ([inbox], [inbox, sent]):
        whole = store.threaded(folder_ids)
        for count in range(1, 8):
            first = store.threaded(folder_ids, first_threads=count)
            assert len({p.thread for p in first}) == min(count, len({p.thread for p in whole}))
            assert first == whole[: len(first)], (folder_ids, count)


def test_a_read_nobody_waits_for_any_more_is_stopped(store: MailStore) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(uid, f"m{uid}", f"m{uid - 1}") for uid in range(1, 3001)])
    wanted = True
    store.stop_reads_when(lambda: not wanted)
    assert len(store.threaded([inbox])) == len(store.message_id_array([inbox])) == 3000
    wanted = False
    with pytest.raises(ReadStopped):
        store.threaded([inbox])
    with pytest.raises(ReadStopped):
        store.message_id_array([inbox])
    # Only what was running is stopped: the connection reads on when asked again.
    wanted = True
    assert len(store.threaded([inbox], first_threads=1)) == 3000


def odd_id(uid: int, message_id: str, irt: str = "", refs: str = "") -> NewMessage:
    """A message whose Message-ID as stored is not just its id (a comment, a space)."""
    return msg(uid, irt=irt, refs=refs)._replace(message_id=message_id)


def test_a_message_id_that_is_not_a_node_name_is_threaded_by_the_id_in_it(
    store: MailStore,
) -> None:
    inbox = folders(store)["INBOX"]
    store.add_messages(
        inbox,
        [
            msg(1, "a"),
            msg(2, "b", "a", "a"),
            odd_id(3, "<c @x>"),  # no id in it at all: a node of its own
            odd_id(4, "<d@x> (added by the list)", "b", "a b"),
            odd_id(5, "<e@x> <f@x>", "d", "a b d"),
        ],
    )
    assert layout(store, inbox) == [
        ("message 1", 1, 0),
        ("message 2", 1, 1),
        ("message 4", 1, 2),
        ("message 5", 1, 3),
        ("message 3", 2, 0),
    ]
    # The first threads read alone find such a message among the newest they look at.
    whole = store.threaded([inbox])
    assert store.threaded([inbox], first_threads=2) == whole


def random_mailbox(store: MailStore, seed: int, odd_ids: bool) -> list[int]:
    """Folders of two accounts with messages that answer each other at random: copies in
    several folders, missing parents, no Message-ID (or odd ones), some not threaded yet."""
    rng = random.Random(seed)
    folder_ids = [*folders(store, "work").values(), *folders(store, "home").values()]
    known = [f"m{n}" for n in range(rng.randrange(5, 40))]
    dates = rng.sample(range(1000), 120)  # one date each: the order of threads is defined
    uid = 0
    for _ in range(rng.randrange(1, 5)):
        batch: dict[int, list[NewMessage]] = {}
        for _ in range(rng.randrange(1, 25)):
            uid += 1
            name = rng.choice(known)
            odd = rng.random()
            if odd < 0.1:
                message_id = ""
            elif odd < 0.2 and odd_ids:
                message_id = f"<{name}@x> (comment)"  # its node is "<name@x>"
            elif odd < 0.25:
                message_id = f"<{name} x>"  # no id in it: a node of its own
            else:
                message_id = f"<{name}@x>"
            batch.setdefault(rng.choice(folder_ids), []).append(
                NewMessage(
                    uid=uid,
                    flags=frozenset({"\\Seen"}) if rng.random() < 0.5 else frozenset(),
                    date=1_700_000_000 + dates.pop() * 60,
                    subject=rng.choice(["Plan", "Re: Plan", "Other"]),
                    message_id=message_id,
                    in_reply_to=f"<{rng.choice(known)}@x>" if rng.random() < 0.5 else "",
                    references=" ".join(f"<{r}@x>" for r in rng.sample(known, rng.randrange(4))),
                )
            )
        for folder_id, messages in batch.items():
            store.add_messages(folder_id, messages)
    if rng.random() < 0.3:  # the newest ones stored but not linked yet (an upgrade, a fill)
        store._db.execute("UPDATE thread_state SET threaded_up_to = ?", (rng.randrange(uid),))
    return folder_ids


def thread_runs(placed: threads.ThreadedList) -> list[int]:
    """The thread of each run of neighbours of one thread."""
    return [p.thread for n, p in enumerate(placed) if n == 0 or placed[n - 1].thread != p.thread]


@pytest.mark.parametrize("seed", range(40))
def test_threads_are_whole_runs_and_the_first_threads_begin_the_whole_list(
    store: MailStore, seed: int
) -> None:
    # With a Message-ID that is more than an id, the first threads lack those of its
    # messages that are older than the newest ones walked: the whole list brings them.
    odd_ids = seed % 2 == 1
    folder_ids = random_mailbox(store, seed, odd_ids)
    for shown in (folder_ids[:1], folder_ids[:2], folder_ids):
        whole = store.threaded(shown)
        assert sorted(p.id for p in whole) == sorted(store.message_ids(shown))
        runs = thread_runs(whole)
        assert len(runs) == len(set(runs)) == whole.thread_count
        for before, place in zip([None, *whole], whole, strict=False):
            assert place.depth == 0 or (
                before is not None
                and before.thread == place.thread
                and place.depth <= before.depth + 1
            )
        for count in (1, 2, 5):
            first = store.threaded(shown, first_threads=count)
            first_runs = [
                p.thread for n, p in enumerate(first) if n == 0 or first[n - 1].thread != p.thread
            ]
            assert first_runs == runs[: len(first_runs)] and len(first_runs) == min(
                count, len(runs)
            )
            if odd_ids:
                assert {p.id for p in first} <= {p.id for p in whole}
            else:
                assert first == whole[: len(first)]


def test_threading_a_folder_keeps_a_few_bytes_a_message(store: MailStore) -> None:
    # Arranging 100,000 messages in threads held 100 MB of Python objects at its peak;
    # one thread at a time and arrays for the result, 3 MB.
    inbox = folders(store)["INBOX"]
    count = 5000
    store.add_messages(
        inbox,
        [
            msg(uid, f"m{uid}", *([f"m{uid - 1 - uid % 7}"] * 2 if uid % 3 == 0 else []))
            for uid in range(1, count + 1)
        ],
    )
    tracemalloc.start()
    try:
        placed = store.threaded([inbox])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(placed) == count
    assert placed.thread_count < count
    assert peak < 100 * count


def test_a_conversation_is_read_over_the_folders_of_its_account(store: MailStore) -> None:
    ids = folders(store)
    store.add_messages(ids["INBOX"], [msg(1, "a"), msg(3, "c", "b", "a b"), msg(9, "other")])
    store.add_messages(ids["Sent"], [msg(2, "b", "a", "a"), msg(4, "a")])  # "a" twice
    inbox = {s.subject: s.id for s in store.summaries(store.message_ids(ids["INBOX"]))}
    sent = {s.subject: s.id for s in store.summaries(store.message_ids(ids["Sent"]))}
    assert store.conversation(inbox["message 1"]) == [
        inbox["message 1"],
        sent["message 2"],
        inbox["message 3"],
    ]
    # The copy whose body is here stands for its Message-ID.
    store.save_body(sent["message 4"], b"Subject: a\r\n\r\nbody\r\n")
    assert store.conversation(inbox["message 3"])[0] == sent["message 4"]
    assert store.conversation(inbox["message 9"]) == [inbox["message 9"]]


def fill_newest_first(store: MailStore, inbox: int) -> None:
    """A first fill as the sync stores it, newest batch first; "c" is missing."""
    assert store.defer_sort_indexes(4)
    store.add_messages(inbox, [msg(5, "e", "d", "a b d"), msg(4, "d", "b", "a b")])
    store.add_messages(inbox, [msg(2, "b", "a", "a"), msg(1, "a")])


ALONE = [("message 5", 1, 0), ("message 4", 2, 0), ("message 2", 3, 0), ("message 1", 4, 0)]
THREADED = [("message 1", 1, 0), ("message 2", 1, 1), ("message 4", 1, 2), ("message 5", 1, 3)]


@pytest.mark.parametrize("step", [mail.FILL_STEP, 1])
def test_a_first_fill_is_listed_at_once_and_threaded_when_it_ends(
    store: MailStore, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 4)
    monkeypatch.setattr(mail, "FILL_STEP", step)  # and in steps of one message
    inbox = folders(store)["INBOX"]
    fill_newest_first(store, inbox)
    assert layout(store, inbox) == ALONE
    assert store.link_unthreaded() == 0  # the list's loader leaves them to the fill's end
    assert store._db.execute("SELECT count(*) FROM thread_nodes").fetchone() == (0,)
    before = store.change_seq()
    store.restore_sort_indexes()
    assert layout(store, inbox) == THREADED
    assert store.changes_since(before).folder_ids == {inbox}  # the views read them again
    store.add_messages(inbox, [msg(6, "f", "e", "a b d e")])  # after the fill: at once
    assert layout(store, inbox)[-1] == ("message 6", 1, 4)


def test_other_writers_get_through_while_a_fill_is_indexed_and_their_mail_is_too(
    store: MailStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The end of a big first fill takes half a minute at a million messages: it goes in
    steps, and between them another connection (the window's, another sync's) writes. What
    it stores meanwhile, at each stage, is indexed and threaded all the same, and the views
    of its folder are told."""
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 4)
    monkeypatch.setattr(mail, "FILL_STEP", 1)
    ids = folders(store)
    inbox, sent = ids["INBOX"], ids["Sent"]
    fill_newest_first(store, inbox)
    before = store.change_seq()
    stored: dict[str, int] = {}  # stage of the restore -> UID stored by the other writer
    seen: list[int] = []  # the change counter after each of those writes
    write = MailStore._write

    def stage() -> str:
        db = store._db
        [(indexed,)] = db.execute("SELECT indexed_up_to FROM search_state")
        [(last,)] = db.execute("SELECT max(id) FROM messages")
        built = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        if indexed < last:
            return "indexing"
        if threads.has_unthreaded(db):
            return "threading"
        return "building" if not built >= set(mail._SORT_INDEXES) else "done"

    @contextmanager
    def then_another_writer(self: MailStore) -> Iterator[Any]:
        with write(self) as touched:
            yield touched
        now = stage() if self is store else "done"
        if now != "done" and now not in stored:
            uid = stored[now] = 10 + len(stored)
            with MailStore.open(store.path) as other:
                # Its write does not wait: the restore holds no lock between its steps.
                other._db.execute("PRAGMA busy_timeout = 0")
                folder = sent if now == "threading" else inbox
                other.add_messages(folder, [msg(uid, f"n{uid}", "e", "a b d e")])
            seen.append(store.change_seq())

    monkeypatch.setattr(MailStore, "_write", then_another_writer)
    store.restore_sort_indexes()
    monkeypatch.setattr(MailStore, "_write", write)
    assert stored == {"indexing": 10, "threading": 11, "building": 12}
    assert layout(store, inbox, sent) == [
        *THREADED,
        ("message 10", 1, 4),
        ("message 11", 1, 4),
        ("message 12", 1, 4),
    ]
    assert threads.has_unthreaded(store._db) is False
    found = {s.subject for s in store.summaries(store.search(parse_query("subject:message")))}
    assert {"message 10", "message 11", "message 12"} <= found
    assert store.changes_since(before).folder_ids >= {inbox, sent}
    # The message stored in Sent was threaded after that write: Sent's views read again.
    assert sent in store.changes_since(seen[1]).folder_ids


def test_a_crash_between_a_fill_and_its_threads_is_mended_by_the_next_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 4)
    path = tmp_path / "mail.sqlite3"
    with MailStore.open(path) as crashed:
        inbox = folders(crashed)["INBOX"]
        fill_newest_first(crashed, inbox)
    # The process died before restore_sort_indexes(): every message is there, unthreaded.
    with MailStore.open(path) as reopened:
        assert layout(reopened, inbox) == ALONE
        reopened.restore_sort_indexes()  # every sync starts with it
        assert layout(reopened, inbox) == THREADED


def test_a_fill_threads_as_batch_by_batch_threading_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 4)
    batches = [
        [msg(9, "i", "h", "a h", subject="Re: Plan"), msg(8, "h", "g", "a g")],
        [msg(7, "g", "a", "a"), msg(6, "f", subject="Re: Plan"), msg(5, "e", subject="Plan")],
        [msg(4, "d", "c", "c b"), msg(3, "c", "d", "d"), msg(2, "b", "x", "x"), msg(1, "a")],
    ]
    placed = []
    for deferred in (True, False):
        with MailStore.open(tmp_path / f"{deferred}.sqlite3") as each:
            inbox = folders(each)["INBOX"]
            assert each.defer_sort_indexes(9 if deferred else 3) is deferred
            for batch in batches:
                each.add_messages(inbox, batch)
            each.restore_sort_indexes()
            placed.append(layout(each, inbox))
    assert placed[0] == placed[1]
    assert len({thread for _, thread, _ in placed[0]}) == 3  # a, g, h, i; b, c, d; e, f


def test_a_conversation_leaves_out_junk_and_trash_unless_opened_there(store: MailStore) -> None:
    listed = store.sync_folder_list(
        "work",
        [
            RemoteFolder("INBOX", "/", SpecialUse.INBOX),
            RemoteFolder("Junk", "/", SpecialUse.JUNK),
            RemoteFolder("Trash", "/", SpecialUse.TRASH),
        ],
    )
    ids = {f.name: f.id for f in listed}
    # Spam reusing the Message-ID of the real "a", dated earlier, its body stored here.
    store.add_messages(ids["Junk"], [msg(1, "a", subject="Cheap pills")])
    store.add_messages(ids["INBOX"], [msg(2, "a"), msg(3, "b", "a", "a")])
    store.add_messages(ids["Trash"], [msg(4, "c", "b", "a b", subject="deleted reply")])
    junk = store.message_ids(ids["Junk"])[0]
    store.save_body(junk, b"Subject: Cheap pills\r\n\r\nbuy\r\n")
    inbox = {s.subject: s.id for s in store.summaries(store.message_ids(ids["INBOX"]))}
    real = [inbox["message 2"], inbox["message 3"]]
    assert store.conversation(inbox["message 3"]) == real
    assert store.conversation(inbox["message 2"]) == real
    # Opened from the Junk: the copy opened is shown, and the rest of its thread.
    assert store.conversation(junk) == [junk, inbox["message 3"]]
    trash = store.message_ids(ids["Trash"])[0]
    assert store.conversation(trash) == [*real, trash]


def test_a_message_id_is_what_has_no_whitespace_nor_angle_bracket() -> None:
    # The pattern spells out the whitespace that str.isspace() (and \s) knows.
    for code in range(0x110000):
        char = chr(code)
        written = f"<a{char}b@x>"
        whole = char not in "<>" and not char.isspace()
        assert (message_key(written, 7) == written) is whole, hex(code)


# One account's mail over INBOX and Sent: a conversation whose middle message ("c") never
# came, a loop in References, a reply without headers placed by its subject, two threads
# that a later message merges, a message without Message-ID and a copy in Sent.
CONVERSATIONS = [
    ("INBOX", msg(1, "a", subject="Plan")),
    ("Sent", msg(2, "b", "a", "a", subject="Re: Plan")),
    ("INBOX", msg(4, "d", "c", "a b c", subject="Re: Plan")),
    ("Sent", msg(5, "e", "d", "a b c d", subject="Re: Plan")),
    ("INBOX", msg(6, "f", subject="Lunch")),
    ("INBOX", msg(7, "g", subject="Re: Lunch")),
    ("INBOX", msg(8, "h", "i", "i", subject="Loop")),
    ("Sent", msg(9, "i", "h", "h", subject="Re: Loop")),
    ("INBOX", msg(10, "j", subject="Trip")),
    ("INBOX", msg(11, "k", "x", "x", subject="Re: Hotel")),
    ("Sent", msg(12, "l", "k", "j x k", subject="Re: Trip")),
    ("INBOX", msg(13, subject="No id")),
    ("Sent", msg(14, "a", subject="Plan")),
]


def store_mail(
    path: Path,
    messages: list[tuple[str, NewMessage]],
    how: str,
    unrelated: str,
    traced: list[str] | None = None,
) -> tuple[MailStore, list[int]]:
    """A store holding ``messages``: stored by a first fill (threaded when it ends) or one by
    one as they come, after a message of account ``unrelated`` (work: the fill's account
    has stored nodes, and its nodes are looked up; home: it has none). ``traced``: gets the
    statements of the fill's threading."""
    store = MailStore.open(path)
    ids = {**folders(store), **{f"home {k}": v for k, v in folders(store, "home").items()}}
    store.add_messages(ids["INBOX" if unrelated == "work" else "home INBOX"], [msg(99, "zz")])
    if how == "fill":
        assert store.defer_sort_indexes(len(messages))
        for name in ("INBOX", "Sent"):
            batch = [m for folder, m in messages if folder == name]
            store.add_messages(ids[name], batch[::-1])  # newest first, as the sync stores
        if traced is not None:
            store._db.set_trace_callback(traced.append)
        store.restore_sort_indexes()
        store._db.set_trace_callback(None)
    else:
        for name, message in messages:
            store.add_messages(ids[name], [message])
    return store, [ids["INBOX"], ids["Sent"]]


def test_a_first_fill_is_threaded_in_memory_as_one_by_one_with_lookups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 1)
    placed = {}
    for how, unrelated in (("fill", "home"), ("fill", "work"), ("one by one", "work")):
        store, folder_ids = store_mail(
            tmp_path / f"{how}{unrelated}", CONVERSATIONS, how, unrelated
        )
        listed = [p for p in layout(store, *folder_ids) if p[0] != "message 99"]
        names: dict[int, int] = {}
        placed[how, unrelated] = [(s, names.setdefault(t, len(names)), d) for s, t, d in listed]
        store.close()
    assert placed["fill", "home"] == placed["fill", "work"] == placed["one by one", "work"]
    assert placed["fill", "home"] == [
        # b and a's copy in Sent; d under b through the missing c
        ("Plan", 0, 0),
        ("Re: Plan", 0, 1),
        ("Re: Plan", 0, 2),
        ("Re: Plan", 0, 3),
        ("Plan", 0, 0),
        ("No id", 1, 0),
        # l (in Sent) merged j's thread and that of k (a reply to the missing x)
        ("Trip", 2, 0),
        ("Re: Hotel", 2, 1),
        ("Re: Trip", 2, 2),
        # h and i refer to each other: the link that closes the loop is left out
        ("Re: Loop", 3, 0),
        ("Loop", 3, 1),
        # g has no headers: its subject places it
        ("Lunch", 4, 0),
        ("Re: Lunch", 4, 0),
    ]


def test_a_first_fill_looks_up_no_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 1)
    lookups = {}
    for unrelated in ("home", "work"):
        statements: list[str] = []
        store, _ = store_mail(tmp_path / unrelated, CONVERSATIONS, "fill", unrelated, statements)
        store.close()
        lookups[unrelated] = [
            s for s in statements if "thread_nodes" in s and ("message_id" in s or "subject" in s)
        ]
    # Into an account with nodes, each message's are read; into one without, none.
    assert any(s.lstrip().upper().startswith("SELECT") for s in lookups["work"])
    assert all(s.lstrip().upper().startswith("INSERT") for s in lookups["home"])
    assert lookups["home"]


def tangled_mail(seed: int, count: int = 300) -> list[tuple[str, NewMessage]]:
    """Messages whose headers go wrong in every way the linking has a rule for: ids seen
    twice, missing, referring to themselves or in loops, unreadable, absent; replies with
    only a subject."""
    rng = random.Random(seed)
    mail_ = []
    for uid in range(1, count + 1):
        # Ids near one another: many threads, some of them merged.
        near = [f"m{n}" for n in range(max(0, uid // 2 - 6), uid // 2 + 2)]
        refs = rng.choices(near, k=rng.choice([0, 0, 0, 1, 2, 3, 6]))
        own = rng.choice(near)
        if rng.random() < 0.1:
            refs.append(own if rng.random() < 0.5 else refs[0] if refs else own)
        message = msg(
            uid,
            own,
            rng.choice(["", "", refs[-1] if refs else "", rng.choice(near)]),
            " ".join(refs),
            rng.choice(["Plan", "Re: Plan", "AW: plan", "Lunch", "Re: Lunch", "Fwd: Trip", "Re:"]),
        )
        if rng.random() < 0.08:
            message = message._replace(message_id=rng.choice(["", "garbage", "x <y@x> z"]))
        if rng.random() < 0.05:
            message = message._replace(in_reply_to="not an id", references="<broken")
        mail_.append((rng.choice(["INBOX", "Sent"]), message))
    return mail_


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("read_ahead", [threads._READ_AHEAD, 7])
def test_linking_in_memory_and_with_lookups_make_the_same_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, read_ahead: int
) -> None:
    monkeypatch.setattr(mail, "DEFER_INDEXES_FROM", 1)
    monkeypatch.setattr(threads, "_READ_AHEAD", read_ahead)  # and a few at a time
    nodes = {}
    for unrelated in ("home", "work"):
        store, _ = store_mail(tmp_path / unrelated, tangled_mail(seed), "fill", unrelated)
        nodes[unrelated] = store._db.execute(
            "SELECT message_id, parent, thread, subject FROM thread_nodes "
            "WHERE account = 'work' AND message_id != '<zz@x>' ORDER BY message_id"
        ).fetchall()
        store.close()
    assert nodes["home"] == nodes["work"]
    assert len({thread for _, _, thread, _ in nodes["home"]}) > 1
    assert any(parent for _, parent, _, _ in nodes["home"])


@pytest.mark.parametrize("count", [1, 3, 1_500])
def test_every_node_is_written(store: MailStore, count: int) -> None:
    # Written many to a statement: each message and the missing one it answers.
    inbox = folders(store)["INBOX"]
    store.add_messages(inbox, [msg(n, f"m{n}", f"gone{n}", f"gone{n}") for n in range(count)])
    assert store._db.execute(
        "SELECT count(*), count(parent), count(DISTINCT thread) FROM thread_nodes"
    ).fetchone() == (2 * count, count, count)
