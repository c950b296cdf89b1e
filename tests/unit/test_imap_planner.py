"""The sync planner: cached state + server state -> what to fetch."""

from __future__ import annotations

from mailclient.imap.client import MailboxStatus
from mailclient.imap.planner import NOTHING, FlagSync, FolderPlan, plan_folder
from mailclient.store.mail import FolderSyncState


def cached(
    uidvalidity: int | None = 7,
    uidnext: int | None = 101,
    modseq: int | None = 500,
    count: int = 100,
) -> FolderSyncState:
    return FolderSyncState(1, uidvalidity, uidnext, modseq, count)


def server(
    uidvalidity: int = 7, uidnext: int = 101, exists: int = 100, modseq: int | None = 500
) -> MailboxStatus:
    return MailboxStatus("INBOX", uidvalidity, uidnext, exists, modseq)


def test_first_sync_fetches_everything() -> None:
    plan = plan_folder(cached(None, None, None, 0), server(), condstore=True)
    assert plan == FolderPlan(reset=True, fetch_from=1)


def test_first_sync_of_an_empty_folder_only_records_it() -> None:
    plan = plan_folder(cached(None, None, None, 0), server(uidnext=1, exists=0), True)
    assert plan == FolderPlan(reset=True) and not plan.nothing


def test_changed_uidvalidity_discards_the_cache() -> None:
    plan = plan_folder(cached(), server(uidvalidity=8), condstore=True)
    assert plan.reset and plan.fetch_from == 1 and plan.flags is FlagSync.NONE


def test_unchanged_folder_needs_nothing_with_condstore() -> None:
    assert plan_folder(cached(), server(), condstore=True) is NOTHING


def test_without_condstore_flags_are_always_compared() -> None:
    plan = plan_folder(cached(modseq=None), server(modseq=None), condstore=False)
    assert plan == FolderPlan(flags=FlagSync.ALL, flags_below=101)


def test_new_messages_and_changed_flags_under_condstore() -> None:
    plan = plan_folder(cached(), server(uidnext=105, exists=104, modseq=510), True)
    assert plan == FolderPlan(
        fetch_from=101,
        flags=FlagSync.CHANGEDSINCE,
        since_modseq=500,
        flags_below=101,
    )


def test_only_new_messages() -> None:
    plan = plan_folder(cached(), server(uidnext=102, exists=101), True)
    assert plan == FolderPlan(fetch_from=101, flags_below=101)


def test_a_lower_count_without_a_modseq_change_compares_all_flags() -> None:
    plan = plan_folder(cached(), server(exists=99), condstore=True)
    assert plan.flags is FlagSync.ALL and plan.fetch_from is None


def test_an_interrupted_fill_resumes_with_what_is_missing() -> None:
    state = cached(uidnext=None, modseq=500, count=40)
    plan = plan_folder(state, server(modseq=500), condstore=True)
    assert plan == FolderPlan(fetch_from=1, flags=FlagSync.NONE, flags_below=None)
    plan = plan_folder(state, server(modseq=503), condstore=True)
    assert plan.flags is FlagSync.CHANGEDSINCE and plan.since_modseq == 500
    plan = plan_folder(state, server(modseq=None), condstore=False)
    assert plan.flags is FlagSync.ALL and plan.flags_below is None


def test_a_server_without_uidnext_counts_messages() -> None:
    state = cached(modseq=None)
    plan = plan_folder(state, server(uidnext=0, exists=103, modseq=None), False)
    assert plan.fetch_from == 101 and plan.flags is FlagSync.ALL


def test_a_server_without_uidnext_is_asked_for_uids_above_the_highest_known() -> None:
    # One message expunged, one arrived: the count is as cached, yet there is new mail.
    state = cached(modseq=None)
    plan = plan_folder(state, server(uidnext=0, exists=100, modseq=None), False)
    assert plan.fetch_from == 101 and plan.flags is FlagSync.ALL and plan.flags_below == 101
    # An empty folder has nothing new to ask for.
    empty = cached(uidnext=1, modseq=None, count=0)
    assert plan_folder(empty, server(uidnext=0, exists=0, modseq=None), False).nothing
