"""``mailclient search``: the search language over the local index, and the server where needed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from mailclient.accounts.model import Account
from mailclient.app import listing
from mailclient.app.services import Services
from mailclient.app.terminal import printable
from mailclient.core.errors import InvalidInput, MailclientError
from mailclient.core.models import Folder, MessageSummary
from mailclient.core.query import Query, QueryError, parse_query
from mailclient.imap.search import imap_criteria, search_account
from mailclient.imap.sync import AccountSync
from mailclient.mime.search_text import indexed_text
from mailclient.store.mail import MailStore

EXIT_HITS = 0
EXIT_NONE = 1
EXIT_MALFORMED = 2
# Bodies indexed per transaction while catching up before a search.
_INDEX_BATCH = 200


def register(commands: Any) -> None:
    search = commands.add_parser(
        "search",
        help="find messages in every folder of every account",
        description="Find messages, newest first. The query: words (all must match), "
        '"quoted phrases", from: to: cc: subject: body: filename:, has:attachment, '
        "is:unread|read|flagged|answered, before:/after:YYYY-MM-DD, folder:, account:, and "
        "-term to leave out. Exit status: 0 with hits, 1 with none, 2 for a malformed query.",
    )
    search.add_argument("query", nargs="+", help="the query (quote it for the shell)")
    search.add_argument("--account", metavar="NAME", help="search this account only")
    search.add_argument(
        "--folder", action="append", metavar="FOLDER", help="search this folder (repeatable)"
    )
    search.add_argument("--limit", type=int, metavar="N", help="at most N hits")
    search.add_argument(
        "--json", action="store_true", help="one JSON object per line (account, folder, uid, ...)"
    )
    search.add_argument(
        "--local-only",
        action="store_true",
        help="do not ask the servers about messages whose text is not stored here",
    )
    search.set_defaults(func=cmd_search)


def cmd_search(services: Services, args: argparse.Namespace) -> int:
    try:
        query = parse_query(" ".join(args.query))
    except QueryError as error:
        print(printable(f"mailclient: {error}"), file=sys.stderr)
        return EXIT_MALFORMED
    if args.limit is not None and args.limit < 1:
        raise InvalidInput("--limit", "must be 1 or more")
    accounts = [services.accounts.get(args.account)] if args.account else None
    with MailStore.open(services.profile.store_path) as store:
        _catch_up(store)
        folders = _scope(store, accounts, args.folder, query)
        ids = store.search(query, [f.id for f in folders], args.limit)
        from_server: set[int] = set()
        if not args.local_only and imap_criteria(query) is not None:
            from_server = _search_servers(services, store, folders, query, args.limit)
            from_server -= set(ids)
            ids = _newest_first(store, [*ids, *from_server], args.limit)
        names = {f.id: f for f in folders}
        for summary in listing.summaries(store, ids):
            folder = names[summary.folder_id]
            found = "server" if summary.id in from_server else "local"
            print(
                _as_json(folder, summary, found) if args.json else _as_text(folder, summary, found)
            )
    return EXIT_HITS if ids else EXIT_NONE


def _catch_up(store: MailStore) -> None:
    """Index the bodies stored since the last search (after an upgrade: all of them)."""
    waiting = store.queued_bodies()
    show = waiting > _INDEX_BATCH and sys.stderr.isatty()
    done = 0
    while store.index_queued_bodies(indexed_text, _INDEX_BATCH):
        done += _INDEX_BATCH
        if show:
            print(
                f"\rIndexing stored messages: {min(done, waiting):,} of {waiting:,}",
                end="",
                file=sys.stderr,
                flush=True,
            )
    if show:
        print("\r\033[K", end="", file=sys.stderr)


def _scope(
    store: MailStore, accounts: Sequence[Account] | None, names: Sequence[str] | None, query: Query
) -> list[Folder]:
    chosen = store.folders(accounts[0].name) if accounts else store.folders()
    if names:
        wanted = set(names)
        missing = wanted - {f.name for f in chosen}
        if missing:
            raise MailclientError(f"No stored folder is named {sorted(missing)[0]!r}.")
        chosen = [f for f in chosen if f.name in wanted]
    return [f for f in chosen if query.allows_folder(f.account, f.name)]


def _search_servers(
    services: Services, store: MailStore, folders: Sequence[Folder], query: Query, limit: int | None
) -> set[int]:
    """Ids of the messages the servers find in folders whose bodies are not all stored."""
    remote = {f.id: f for f in folders}
    by_account: dict[str, list[Folder]] = {}
    for folder_id in store.folders_not_all_local(list(remote)):
        folder = remote[folder_id]
        by_account.setdefault(folder.account, []).append(folder)
    found: set[int] = set()
    for name, account_folders in by_account.items():
        print(printable(f"{name}: searching the server…"), file=sys.stderr)
        try:
            account = services.accounts.get(name)
            engine = AccountSync(account, services.sign_in.authenticator(account), store)
            try:
                hits = search_account(engine, account_folders, query)
            finally:
                engine.close()
        except MailclientError as error:
            print(
                printable(f"{name}: only local results: the server could not be searched: {error}"),
                file=sys.stderr,
            )
            continue
        found.update(store.search(query, server_hits=hits, limit=limit))
    return found


def _newest_first(store: MailStore, ids: Sequence[int], limit: int | None) -> list[int]:
    summaries = store.summaries(ids)
    summaries.sort(key=lambda s: (s.date.timestamp() if s.date else 0, s.id), reverse=True)
    return [s.id for s in summaries[:limit]]


def _as_json(folder: Folder, m: MessageSummary, found: str) -> str:
    return listing.json_line(
        {"account": folder.account, "folder": folder.name}, m, {"found": found}
    )


def _as_text(folder: Folder, m: MessageSummary, found: str) -> str:
    where = printable(f"{folder.account}/{folder.name}")
    server = "\t(server)" if found == "server" else ""
    return f"{where}\t{listing.text_line(m)}{server}"
