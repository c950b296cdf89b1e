"""``mailclient sync`` and ``mailclient list``: the sync engine and the store from a shell.

The sync engine and the store are imported by the commands that use them, not with this
module: ``sync`` starts reading the password and opening the first account's connection
before it loads them (see mailclient.app.ahead).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mailclient.accounts.model import Account
from mailclient.app import listing
from mailclient.app.ahead import PasswordAhead, SessionAhead
from mailclient.app.cli import loading
from mailclient.app.services import Services
from mailclient.app.terminal import printable, refusal_advice
from mailclient.core.errors import InvalidInput, MailclientError

if TYPE_CHECKING:
    from mailclient.core.models import MessageSummary
    from mailclient.imap.bodies import KeepPolicy
    from mailclient.imap.sync import AccountSync, FolderSyncResult, SyncProgress
    from mailclient.store.mail import MailStore
    from mailclient.store.threads import ThreadedMessage

EXIT_OK = 0
EXIT_FAILED = 1


def register(commands: Any) -> None:
    sync = commands.add_parser(
        "sync", help="fetch new mail and changes into the local store, and say what changed"
    )
    sync.add_argument("name", nargs="?", help="the account (default: every account)")
    sync.add_argument(
        "--folder",
        action="append",
        metavar="FOLDER",
        help="sync only this folder (repeatable; needs an account name)",
    )
    sync.add_argument(
        "--bodies",
        nargs="?",
        const="365",
        metavar="DAYS",
        help="also keep the messages themselves on this computer (searchable offline): "
        "those of the last DAYS days (default 365; 'all' for all), newest first",
    )
    sync.set_defaults(func=cmd_sync)

    listing = commands.add_parser("list", help="list stored messages, newest first")
    listing.add_argument("name", help="the account")
    listing.add_argument("--folder", default="INBOX", metavar="FOLDER", help="default: INBOX")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N messages")
    listing.add_argument(
        "--json", action="store_true", help="one JSON object per line (uid, date, from, ...)"
    )
    listing.add_argument(
        "--threads",
        action="store_true",
        help="group by conversation, newest first, replies indented (--json: thread, depth)",
    )
    listing.set_defaults(func=cmd_list)


def tell_rescue(store: MailStore) -> None:
    """Say so when opening the store found it damaged and started a new one."""
    if store.rescue is not None:
        print(printable(f"mailclient: {store.rescue.message()}"), file=sys.stderr)


def _progress(progress: SyncProgress) -> None:
    print(
        f"\r{printable(progress.folder)}: {progress.fetched:,} of {progress.missing:,} headers",
        end="",
        file=sys.stderr,
        flush=True,
    )


def _summary_line(account: Account, result: FolderSyncResult) -> str:
    where = f"{account.name}/{result.folder}"
    refused = "".join(f"\n{where}: {error}" for error in result.refused)
    if result.error:
        return f"{where}: not synced: {result.error}{refused}"
    text = f"{where}: {result.new} new, {result.changed} changed, {result.removed} removed"
    if result.reset:
        text += " (the server renumbered this folder; its cache was rebuilt)"
    if not result.complete:
        text += " (stopped early)"
    if result.unfetched:
        text += (
            f" ({len(result.unfetched)} messages the server would not send;"
            " asked for again at the next sync)"
        )
    return text + refused


def _keep_policy(days: str) -> KeepPolicy:
    # Imported when --bodies asks for it (so in _keep_bodies): keeping the messages
    # themselves needs the MIME modules, which a sync of headers does not.
    from mailclient.imap.bodies import KeepPolicy

    if days == "all":
        return KeepPolicy(days=None)
    if not days.isdigit() or int(days) < 1:
        raise InvalidInput("--bodies", "give a number of days (1 or more) or 'all'")
    return KeepPolicy(days=int(days))


def _keep_bodies(engine: AccountSync, policy: KeepPolicy) -> int:
    from mailclient.imap.bodies import download_bodies

    return download_bodies(engine, policy)


def cmd_sync(services: Services, args: argparse.Namespace) -> int:
    if args.folder and not args.name:
        raise InvalidInput("--folder", "name the account whose folders to sync")
    accounts = [services.accounts.get(args.name)] if args.name else services.accounts.accounts()
    if not accounts:
        print("No accounts. Add one with: mailclient account add NAME --email ADDR ...")
        return EXIT_OK
    policy = _keep_policy(args.bodies) if args.bodies is not None else None
    first = accounts[0]
    with loading():
        # The child that reads the password first: no thread may run when it is forked.
        auth = PasswordAhead.start(
            first, services.credentials, services.sign_in.authenticator(first)
        )
        ahead = SessionAhead(first, auth)
        from mailclient.imap.sync import AccountSync
        from mailclient.store.mail import MailStore

    failed = False
    show_progress = sys.stderr.isatty()
    # Sync writes much: the whole file is checked first (at most once a day).
    with MailStore.open(services.profile.store_path, thorough=True) as store:
        tell_rescue(store)
        for account in accounts:
            try:
                if account is ahead.account:
                    auth, session = ahead.auth, ahead.take()
                else:
                    auth, session = services.sign_in.authenticator(account), None
                engine = AccountSync(
                    account,
                    auth,
                    store,
                    on_progress=_progress if show_progress else None,
                    session=session,
                )
                try:
                    results = engine.sync(args.folder)
                    stored = _keep_bodies(engine, policy) if policy is not None else None
                finally:
                    engine.close()
            except MailclientError as error:
                text = refusal_advice(account.name, error)
                print(printable(f"{account.name}: {text}"), file=sys.stderr)
                failed = True
                continue
            if show_progress:
                print("\r\033[K", end="", file=sys.stderr)
            for result in results:
                print(printable(_summary_line(account, result)))
                failed = failed or result.error is not None or bool(result.refused)
            if stored is not None:
                print(printable(f"{account.name}: {stored} messages stored on this computer"))
    return EXIT_FAILED if failed else EXIT_OK


def _as_json(folder: str, m: MessageSummary, place: ThreadedMessage | None = None) -> str:
    threading = {"thread": place.thread, "depth": place.depth} if place is not None else {}
    return listing.json_line(threading, m, {"folder": folder})


def _as_text(m: MessageSummary, place: ThreadedMessage | None = None) -> str:
    return listing.text_line(m, "  " * place.depth if place is not None else "")


def cmd_list(services: Services, args: argparse.Namespace) -> int:
    from mailclient.store.mail import MailStore

    account = services.accounts.get(args.name)
    if args.limit is not None and args.limit < 0:
        raise InvalidInput("--limit", "must be 0 or more")
    with MailStore.open(services.profile.store_path) as store:
        tell_rescue(store)
        folder = store.folder_by_name(account.name, args.folder)
        if folder is None:
            if not store.folders(account.name):
                raise MailclientError(
                    f"Nothing of {account.name} is stored yet. Run: mailclient sync {account.name}"
                )
            raise MailclientError(f"The account {account.name} has no folder {args.folder!r}.")
        if args.threads:
            store.link_unthreaded()
        places = {p.id: p for p in store.threaded([folder.id])} if args.threads else {}
        ids = list(places) if args.threads else store.message_ids(folder.id)
        if args.limit is not None:
            ids = ids[: args.limit]
        for summary in listing.summaries(store, ids):
            place = places.get(summary.id)
            print(_as_json(folder.name, summary, place) if args.json else _as_text(summary, place))
    return EXIT_OK
