"""``mailclient account add|list|remove|password|login|test``."""

from __future__ import annotations

import argparse
import getpass
import shlex
import sys
import time
import webbrowser
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from mailclient.accounts.credentials import SERVICES, Service
from mailclient.accounts.lifecycle import (
    add_account,
    remove_account,
    rename_account,
    set_passwords,
)
from mailclient.accounts.model import (
    DEFAULT_IMAP_PORT,
    DEFAULT_SMTP_PORT,
    Account,
    AuthMethod,
    Security,
)
from mailclient.accounts.oauth2 import SIGN_IN_TIMEOUT, discover, sign_in_account
from mailclient.app.services import Services
from mailclient.app.terminal import printable, refusal_advice
from mailclient.core.errors import (
    AccountExists,
    AccountNotFound,
    InvalidInput,
    MailclientError,
    NetworkError,
    password_command,
)
from mailclient.discovery.providers import (
    Provider,
    ProviderDatabase,
    with_provider_oauth,
    with_provider_servers,
)
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from mailclient.store.mail import MailStore

EXIT_OK = 0
EXIT_FAILED = 1

# ``account test`` tries a server this often when the connection fails on the way.
TEST_ATTEMPTS = 3
RETRY_DELAY = 1.0  # seconds before the second attempt; doubles after each
T = TypeVar("T")


def register(commands: Any) -> None:
    account = commands.add_parser("account", help="add, list, remove and test accounts")
    actions = account.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = actions.add_parser(
        "add",
        help="add an account; the password is read from stdin, or it signs in with OAuth2",
    )
    add.add_argument("name", help="what you call this account (unique)")
    add.add_argument("--email", required=True, metavar="ADDR")
    add.add_argument("--display-name", default="", metavar="TEXT")
    add.add_argument(
        "--imap-host", metavar="HOST", help="required unless --oauth-provider names the servers"
    )
    add.add_argument("--imap-port", type=int, metavar="N")
    add.add_argument("--imap-security", choices=[s.value for s in Security], default="ssl")
    add.add_argument("--smtp-host", metavar="HOST", help="default: the IMAP host")
    add.add_argument("--smtp-port", type=int, metavar="N")
    add.add_argument("--smtp-security", choices=[s.value for s in Security], default="starttls")
    add.add_argument("--username", default="", metavar="USER", help="default: the address")
    add.add_argument("--ca-file", metavar="PEM", help="a CA certificate to trust for this account")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (password accounts)",
    )
    add.add_argument(
        "--auth",
        choices=[m.value for m in AuthMethod],
        default=AuthMethod.PASSWORD.value,
        help="how the account signs in (default: password)",
    )
    add.add_argument(
        "--oauth-provider",
        metavar="ID",
        help="OAuth2 at a known provider: "
        + ", ".join(p.id for p in ProviderDatabase.load().oauth_providers()),
    )
    add.add_argument(
        "--oauth-issuer", metavar="URL", help="OAuth2 at a server of your own (its issuer URL)"
    )
    add.add_argument("--oauth-client-id", metavar="ID", help="the client ID to sign in as")
    add.add_argument(
        "--oauth-scope",
        action="append",
        metavar="SCOPE",
        help="with --oauth-issuer: a scope to ask for (repeat; default: openid email)",
    )
    _browser_options(add)
    add.set_defaults(func=cmd_add)

    login = actions.add_parser("login", help="sign an OAuth2 account in again, in the browser")
    login.add_argument("name")
    _browser_options(login)
    login.set_defaults(func=cmd_login)

    listing = actions.add_parser("list", help="one line per account: name, address, servers")
    listing.set_defaults(func=cmd_list)

    rename = actions.add_parser(
        "rename",
        help="give an account a new name, keeping its passwords, mail and unsent messages",
    )
    rename.add_argument("name")
    rename.add_argument("new_name", metavar="NEW")
    rename.set_defaults(func=cmd_rename)

    remove = actions.add_parser(
        "remove", help="remove an account, its stored passwords and its cached mail"
    )
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)

    password = actions.add_parser(
        "password",
        help="store a new password for an account (asked without echo, or read from stdin)",
    )
    password.add_argument("name")
    password.add_argument(
        "--service",
        choices=SERVICES,
        help="change only this server's password (default: both)",
    )
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    password.set_defaults(func=cmd_password)

    test = actions.add_parser("test", help="log in to the account's IMAP and SMTP servers")
    test.add_argument("name")
    test.set_defaults(func=cmd_test)


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidInput("password", "nothing was given on standard input")
    return password


def _ask_password(account: Account) -> str:
    """Ask on the terminal, without echo; never read a password from a pipe unasked."""
    if not sys.stdin.isatty():
        raise InvalidInput(
            "password",
            "standard input is not a terminal: give --password-stdin to read the password from it",
        )
    password = getpass.getpass(f"Password for {account.login} ({account.name}): ")
    if not password:
        raise InvalidInput("password", "nothing was entered; the stored password is unchanged")
    return password


def _browser_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="only print the sign-in address, never open a browser",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=SIGN_IN_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the browser (default: {SIGN_IN_TIMEOUT:.0f})",
    )


def cmd_add(services: Services, args: argparse.Namespace) -> int:
    oauth = AuthMethod(args.auth) is AuthMethod.OAUTH2
    provider = _oauth_provider(args) if oauth else None
    if not args.imap_host and provider is None:
        raise InvalidInput("--imap-host", "say which server the mail is on")
    if oauth and args.password_stdin:
        raise InvalidInput("--password-stdin", "an OAuth2 account has no password")
    if not oauth and not args.password_stdin:
        raise InvalidInput(
            "--password-stdin", "give the password on standard input with --password-stdin"
        )
    imap_security = Security(args.imap_security)
    smtp_security = Security(args.smtp_security)
    imap_port = DEFAULT_IMAP_PORT[imap_security] if args.imap_port is None else args.imap_port
    smtp_port = DEFAULT_SMTP_PORT[smtp_security] if args.smtp_port is None else args.smtp_port
    account = Account(
        name=args.name,
        email=args.email,
        display_name=args.display_name,
        imap_host=args.imap_host or "",
        imap_port=imap_port,
        imap_security=imap_security,
        smtp_host=args.smtp_host or args.imap_host or "",
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        username=args.username,
        ca_file=args.ca_file,
    )
    if provider is not None and not args.imap_host:
        account = with_provider_servers(account, provider)
    if oauth:
        account = _with_oauth(account, provider, args)
    account = account.validated()
    try:
        services.accounts.get(account.name)
    except AccountNotFound:
        pass
    else:
        raise AccountExists(account.name)  # before asking for a password that would be wasted
    if not oauth:
        add_account(services.accounts, services.credentials, account, _read_password())
        print(f"Added account {account.name} ({account.email}).")
        return EXIT_OK
    # The sign-in comes first: an account that never signed in is not stored.
    _sign_in(services, account, args)
    try:
        services.accounts.add(account)
    except MailclientError:
        services.credentials.delete_account(account.name)
        raise
    print(f"Added account {account.name} ({account.email}), signed in with OAuth2.")
    return EXIT_OK


def _oauth_provider(args: argparse.Namespace) -> Provider | None:
    if args.oauth_provider and args.oauth_issuer:
        raise InvalidInput("--oauth-issuer", "give either --oauth-provider or --oauth-issuer")
    if args.oauth_issuer:
        return None
    database = ProviderDatabase.load()
    chosen = args.oauth_provider
    if not chosen:
        found = database.lookup(args.email.rpartition("@")[2])
        if found is None or found.oauth is None:
            raise InvalidInput(
                "--oauth-provider", "name the provider, or give --oauth-issuer for your own server"
            )
        return found
    provider = database.by_id(chosen)
    if provider is None or provider.oauth is None:
        known = ", ".join(p.id for p in database.oauth_providers())
        raise InvalidInput("--oauth-provider", f"{chosen!r} is not one of {known}")
    return provider


def _with_oauth(account: Account, provider: Provider | None, args: argparse.Namespace) -> Account:
    if provider is not None:
        account = with_provider_oauth(account, provider)
    else:
        authorize, token = _patiently(lambda: discover(args.oauth_issuer))
        account = replace(
            account,
            auth=AuthMethod.OAUTH2,
            oauth_authorization_endpoint=authorize,
            oauth_token_endpoint=token,
            oauth_scopes=tuple(args.oauth_scope or ("openid", "email")),
        )
    return replace(account, oauth_client_id=args.oauth_client_id or "")


def _sign_in(services: Services, account: Account, args: argparse.Namespace) -> None:
    """The browser sign-in: the address on a line of its own, then wait for the redirect."""

    def show(url: str) -> None:
        print("Open this address in your browser to sign in:", flush=True)
        print(url, flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    sign_in_account(services.sign_in, account, show, timeout=args.timeout)


def cmd_login(services: Services, args: argparse.Namespace) -> int:
    account = services.accounts.get(args.name)
    if account.auth is not AuthMethod.OAUTH2:
        raise InvalidInput(
            "account", f"{account.name} signs in with a password: {password_command(account.name)}"
        )
    _sign_in(services, account, args)
    print(printable(f"Signed {account.name} in again."))
    return EXIT_OK


def cmd_list(services: Services, args: argparse.Namespace) -> int:
    accounts = services.accounts.accounts()
    if not accounts:
        print("No accounts. Add one with: mailclient account add NAME --email ADDR ...")
        return EXIT_OK
    for a in accounts:
        print(
            f"{a.name}\t{a.email}\tIMAP {a.imap_host}:{a.imap_port} ({a.imap_security})"
            f"\tSMTP {a.smtp_host}:{a.smtp_port} ({a.smtp_security})"
        )
    return EXIT_OK


def cmd_remove(services: Services, args: argparse.Namespace) -> int:
    account = remove_account(services.accounts, services.credentials, args.name)
    with MailStore.open(services.profile.store_path) as store:
        store.forget_account(account.name)
    print(f"Removed account {account.name}, its stored passwords and its cached mail.")
    return EXIT_OK


def cmd_rename(services: Services, args: argparse.Namespace) -> int:
    from mailclient.app.single_instance import SingleInstance
    from mailclient.ui.window.renamed_account import rename_in_settings
    from mailclient.ui.window.state import window_settings

    profile = services.profile
    # The window keeps the account's name in its threads and its settings: it renames
    # accounts itself (Manage accounts), while it runs nothing else may.
    instance = SingleInstance(profile.root)
    if not instance.claim():
        raise MailclientError(
            "The mailclient window of this profile is open: rename the account there "
            "(Accounts ▸ Manage accounts) or close it first."
        )
    try:
        services.finish_account_rename()
        account = rename_account(
            services.accounts,
            services.credentials,
            args.name,
            args.new_name,
            services.move_account_data,
        )
        rename_in_settings(window_settings(profile.root), args.name, account.name)
    finally:
        instance.release()
    print(printable(f"Renamed account {args.name} to {account.name}."))
    return EXIT_OK


def cmd_password(services: Services, args: argparse.Namespace) -> int:
    account = services.accounts.get(args.name)
    password = _read_password() if args.password_stdin else _ask_password(account)
    chosen: tuple[Service, ...] = (args.service,) if args.service else SERVICES
    set_passwords(services.credentials, account.name, password, chosen)
    servers = " and ".join(service.upper() for service in chosen)
    print(
        printable(
            f"Stored the new {servers} password of {account.name}. "
            f"Check it with: mailclient account test {shlex.quote(account.name)}"
        )
    )
    return EXIT_OK


def _patiently(action: Callable[[], T]) -> T:
    """Run ``action``, again after a network failure that may pass (a cut connection)."""
    delay = RETRY_DELAY
    for attempt in range(1, TEST_ATTEMPTS + 1):
        try:
            return action()
        except NetworkError as error:
            if not error.transient or attempt == TEST_ATTEMPTS:
                raise
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def cmd_test(services: Services, args: argparse.Namespace) -> int:
    account = services.accounts.get(args.name)
    failed = False
    auth = services.sign_in.authenticator(account)
    try:
        imap = _patiently(lambda: imap_client.probe(account, auth))
        interesting = sorted(
            {"IDLE", "CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE"} & imap.capabilities
        )
        print(
            f"IMAP {imap.host}:{imap.port} ({imap.security}): logged in as {account.login}; "
            f"{imap.folder_count} folders; supports {', '.join(interesting) or 'IMAP4rev1 only'}."
        )
    except MailclientError as error:
        print(printable(f"IMAP: {refusal_advice(account.name, error)}"), file=sys.stderr)
        failed = True
    try:
        smtp = _patiently(lambda: smtp_client.probe(account, auth))
        size = (
            f"messages up to {smtp.max_size / 1_000_000:.1f} MB"
            if smtp.max_size
            else "no size limit announced"
        )
        print(
            f"SMTP {smtp.host}:{smtp.port} ({smtp.security}): logged in as {account.login}; {size}."
        )
    except MailclientError as error:
        print(printable(f"SMTP: {refusal_advice(account.name, error)}"), file=sys.stderr)
        failed = True
    return EXIT_FAILED if failed else EXIT_OK
