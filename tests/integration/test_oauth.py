"""OAuth2 sign-in against a real authorization server, with Dovecot and Postfix checking the
tokens themselves (tests/rig/oauth.py, tests/rig/dovecot.py).

The person's browser is tests.rig.oauth.browse: it opens the provider's page, signs in on
its consent form and follows the redirect back to mailclient's loopback server.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.model import Account, AuthMethod
from mailclient.accounts.oauth2 import (
    Client,
    LoopbackRedirect,
    OAuth2Authenticator,
    SignInCancelled,
    authorization_url,
    code_challenge,
    exchange_code,
    new_verifier,
    sign_in_account,
)
from mailclient.accounts.signin import Authenticator, Mechanism, Secret, SignIn
from mailclient.accounts.store import AccountStore
from mailclient.core import diagnostics
from mailclient.core.errors import MailclientError, SignInExpired
from mailclient.core.outgoing import OutgoingMessage
from mailclient.core.profile import Profile
from mailclient.imap import client as imap_client
from mailclient.imap.append import SentFolder
from mailclient.imap.client import ImapSession
from mailclient.imap.idle import IdleWatcher
from mailclient.imap.sync import AccountSync
from mailclient.smtp import client as smtp_client
from mailclient.smtp.sender import OutboxSender, Outcome
from mailclient.store.mail import MailStore
from tests.integration.imap_helpers import account as rig_account
from tests.integration.imap_helpers import subjects
from tests.integration.tcp_proxy import CuttableProxy
from tests.rig import MailServers
from tests.rig.dovecot import Dovecot
from tests.rig.oauth import AuthorizationServer, browse
from tests.support.idle_log import idle_log
from tests.support.memory_keyring import MemoryKeyring
from tests.support.waiting import wait_until

USER = "alice"
CLIENT_ID = "mailclient-test"


def oauth_account(servers: MailServers, imap_port: int | None = None) -> Account:
    assert servers.oauth is not None
    return rig_account(
        servers,
        USER,
        imap_port,
        name="work",
        auth=AuthMethod.OAUTH2,
        oauth_authorization_endpoint=servers.oauth.authorization_endpoint,
        oauth_token_endpoint=servers.oauth.token_endpoint,
        oauth_scopes=("openid", "email"),
        oauth_client_id=CLIENT_ID,
    )


class Browser:
    """Opens each URL it is given the way the person would, on a thread of its own."""

    def __init__(self, user: str = "") -> None:
        self.user = user
        self.urls: list[str] = []
        self.pages: list[tuple[int, str]] = []
        self._threads: list[threading.Thread] = []

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        if self.user:
            thread = threading.Thread(target=lambda: self.pages.append(browse(url, self.user)))
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(10)


@pytest.fixture
def oauth_server(mail_servers: MailServers) -> Iterator[AuthorizationServer]:
    server = mail_servers.oauth
    assert server is not None
    yield server
    server.lifetime = 3600


@pytest.fixture
def signed_in(mail_servers: MailServers, oauth_server: AuthorizationServer) -> SignIn:
    """A profile's SignIn whose account "work" (alice) has just signed in."""
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="oauth-test"))
    browser = Browser(mail_servers.user(USER).address)
    sign_in_account(sign_in, oauth_account(mail_servers), browser, timeout=20)
    browser.join()
    assert browser.pages and browser.pages[0][0] == 200
    assert "close this tab" in browser.pages[0][1]
    return sign_in


def test_signed_in_the_account_syncs_sends_and_keeps_a_sent_copy(
    mail_servers: MailServers, signed_in: SignIn, tmp_path: Path
) -> None:
    account = oauth_account(mail_servers)
    mail_servers.reset_user(USER)
    subject = f"oauth {time.monotonic_ns()}"
    # The refresh token is in the keyring, and only there.
    refresh_token = signed_in.credentials.get_password("work", "oauth2")
    assert refresh_token
    with MailStore.open(tmp_path / "mail.sqlite3") as store:
        engine = AccountSync(account, signed_in.authenticator(account), store)
        try:
            assert [r.folder for r in engine.sync(["INBOX"])] == ["INBOX"]
        finally:
            engine.close()
    sender = OutboxSender(
        tmp_path / "mail.sqlite3", lambda name: account, signed_in, SentFolder.open
    )
    item = sender.enqueue(
        "work",
        OutgoingMessage(
            sender=account.sender, to=(account.email,), subject=subject, body="Signed in."
        ),
    )
    report = sender.flush()
    assert [r.outcome for r in report.results] == [Outcome.SENT]
    assert report.results[0].item_id == item.id
    inbox = mail_servers.wait_for_messages(USER, 1)
    assert any(subject.encode() in raw for raw in inbox)
    sent = mail_servers.fetch_all(USER, "Sent")
    assert any(subject.encode() in raw for raw in sent)


def test_both_token_mechanisms_are_checked_by_the_servers(
    mail_servers: MailServers, signed_in: SignIn
) -> None:
    for mechanism in Mechanism:
        account = replace(oauth_account(mail_servers), oauth_mechanism=mechanism.value)
        signed_in.forget("work")
        auth = signed_in.authenticator(account)
        info = imap_client.probe(account, auth, timeout=10)
        assert f"AUTH={mechanism}" in info.capabilities or info.folder_count >= 1
        assert smtp_client.probe(account, auth, timeout=10).extensions


@pytest.fixture(scope="module")
def one_mechanism_servers(mail_servers: MailServers) -> dict[Mechanism, Dovecot]:
    return {
        mechanism: mail_servers.start_dovecot(f"auth_mechanisms = {mechanism.value.lower()}")
        for mechanism in Mechanism
    }


@pytest.mark.parametrize("mechanism", list(Mechanism))
def test_a_server_with_one_token_mechanism_gets_that_one(
    mail_servers: MailServers,
    signed_in: SignIn,
    one_mechanism_servers: dict[Mechanism, Dovecot],
    mechanism: Mechanism,
) -> None:
    dovecot = one_mechanism_servers[mechanism]
    assert dovecot.imaps_port is not None
    other = next(m for m in Mechanism if m is not mechanism)
    # The account prefers the other mechanism; the server has only this one.
    account = replace(oauth_account(mail_servers, dovecot.imaps_port), oauth_mechanism=other.value)
    signed_in.forget("work")
    session = ImapSession.connect(account, signed_in.authenticator(account), timeout=10)
    try:
        assert f"AUTH={other}" not in session.capabilities
        assert session.list_folders()
    finally:
        session.close()


def test_an_expired_access_token_is_refreshed_without_a_word(
    mail_servers: MailServers, oauth_server: AuthorizationServer, tmp_path: Path
) -> None:
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="oauth-expiry"))
    account = oauth_account(mail_servers)
    oauth_server.lifetime = 2
    browser = Browser(mail_servers.user(USER).address)
    sign_in_account(sign_in, account, browser, timeout=20)
    browser.join()
    auth = sign_in.authenticator(account)
    first = auth.secret("imap")
    assert not first.fresh  # the sign-in's own token: used, not refreshed at once
    imap_client.probe(account, auth, timeout=10)
    requests = oauth_server.token_requests
    for _ in range(100):  # until the token is due (1 s): then the next login refreshes it
        if auth.secret("imap").fresh:
            break
        time.sleep(0.2)
    assert oauth_server.token_requests == requests + 1
    imap_client.probe(account, auth, timeout=10)
    smtp_client.probe(account, auth, timeout=10)


class Recording:
    """An account's authenticator that remembers each token it handed out."""

    def __init__(self, inner: Authenticator) -> None:
        self.inner = inner
        self.method = inner.method
        self.mechanism = inner.mechanism
        self.tokens: list[str] = []

    def secret(self, service: Service) -> Secret:
        secret = self.inner.secret(service)
        self.tokens.append(secret.value)
        return secret

    def rejected(self, service: Service, secret: Secret) -> bool:
        return self.inner.rejected(service, secret)

    def authenticator(self, account: Account) -> Authenticator:
        return self  # as a profile's SignIn, for the outbox


def short_lived_sign_in(
    mail_servers: MailServers, oauth_server: AuthorizationServer, account: Account, clock: str
) -> Recording:
    """Sign ``account`` in with access tokens that live 3 s. With the real clock the
    authenticator refreshes a token when due; a stuck clock never sees one due, so the
    server's refusal is what makes it refresh."""
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id=f"oauth-{clock}"))
    oauth_server.lifetime = 3
    browser = Browser(mail_servers.user(USER).address)
    sign_in_account(sign_in, account, browser, timeout=20)
    browser.join()
    if clock == "real":
        return Recording(sign_in.authenticator(account))
    return Recording(
        OAuth2Authenticator(account, (CLIENT_ID, ""), sign_in.credentials, clock=lambda: 0)
    )


@pytest.mark.parametrize("clock", ["real", "stuck"])
def test_a_token_that_expires_during_idle_is_refreshed_unseen(
    mail_servers: MailServers, oauth_server: AuthorizationServer, tmp_path: Path, clock: str
) -> None:
    mail_servers.reset_user(USER)
    proxy = CuttableProxy((mail_servers.host, mail_servers.imaps_port))
    account = oauth_account(mail_servers, proxy.port)
    auth = short_lived_sign_in(mail_servers, oauth_server, account, clock)
    errors: list[MailclientError] = []
    heard: list[str] = []
    stop = threading.Event()
    engines: list[AccountSync] = []

    def changed() -> None:
        # What the account's worker does when IDLE hears something: a sync (on a store
        # connection of this thread's own).
        if not engines:
            engines.append(AccountSync(account, auth, MailStore.open(tmp_path / "mail.sqlite3")))
        heard.extend(r.folder for r in engines[0].sync(["INBOX"]))

    def run() -> None:
        try:
            watcher.run()
        finally:
            for engine in engines:
                engine.close()
                engine.store.close()

    with idle_log() as idle:
        watcher = IdleWatcher(
            account, auth, changed, stop, on_error=errors.append, renew_after=0.5, backoff=0.1
        )
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            assert idle.wait_started(account.name)
            token, requests = auth.tokens[-1], oauth_server.token_requests
            wait_until(lambda: not oauth_server.active(token), 20)
            # IDLE goes on, renewed on the connection it logged in on.
            idles = idle.started(account.name)
            assert idle.wait_started(account.name, more_than=idles + 1, timeout=20)
            # The network drops (the watcher's and the sync's connections both go through the
            # proxy): the watcher logs in again.
            before, started = proxy.connections, idle.started(account.name)
            proxy.cut_all()
            wait_until(lambda: proxy.connections > before, 20)
            assert idle.wait_started(account.name, more_than=started, timeout=20)
            assert oauth_server.token_requests >= requests + 1
            assert auth.tokens[-1] != token and oauth_server.active(auth.tokens[-1])
            subject = f"after the refresh {clock}"
            mail_servers.append(USER, "INBOX", _message(account, subject))
            with MailStore.open(tmp_path / "mail.sqlite3") as store:
                wait_until(lambda: subject in _subjects(store, account), 20)
        finally:
            stop.set()
            thread.join(30)
            proxy.close()
    assert errors == []
    assert heard.count("INBOX") >= 3  # connected, reconnected, the new message


@pytest.mark.parametrize("clock", ["real", "stuck"])
def test_a_token_that_expires_during_a_flush_is_refreshed_unseen(
    mail_servers: MailServers, oauth_server: AuthorizationServer, tmp_path: Path, clock: str
) -> None:
    mail_servers.reset_user(USER)
    account = oauth_account(mail_servers)
    auth = short_lived_sign_in(mail_servers, oauth_server, account, clock)
    used_for_sending: list[str] = []

    def open_sent_after_expiry(account: Account, folder_auth: Authenticator) -> SentFolder:
        # Between sending and the Sent copy, the token used to send expires.
        used_for_sending.append(auth.tokens[-1])
        wait_until(lambda: not oauth_server.active(used_for_sending[0]), 20)
        return SentFolder.open(account, folder_auth)

    sender = OutboxSender(
        tmp_path / "mail.sqlite3", lambda name: account, auth, open_sent_after_expiry
    )
    subject = f"flushed {clock} {time.monotonic_ns()}"
    sender.enqueue(
        "work",
        OutgoingMessage(sender=account.sender, to=(account.email,), subject=subject, body="."),
    )
    first = auth.secret("smtp").value
    wait_until(lambda: not oauth_server.active(first), 20)  # before the flush begins
    requests = oauth_server.token_requests
    report = sender.flush()
    assert [r.outcome for r in report.results] == [Outcome.SENT], report
    assert [c.saved for c in report.copies] == [True], report
    # A new token to send with, and another for the Sent copy.
    assert oauth_server.token_requests == requests + 2
    assert any(subject.encode() in raw for raw in mail_servers.wait_for_messages(USER, 1))
    assert any(subject.encode() in raw for raw in mail_servers.fetch_all(USER, "Sent"))


def _message(account: Account, subject: str) -> bytes:
    return (
        f"From: {account.email}\r\nTo: {account.email}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{time.monotonic_ns()}@example.org>\r\n\r\nHello.\r\n"
    ).encode()


def _subjects(store: MailStore, account: Account) -> list[str]:
    if store.folder_by_name(account.name, "INBOX") is None:
        return []
    return subjects(store, account.name, "INBOX")


def test_a_token_the_server_refuses_is_refreshed_once_more(
    mail_servers: MailServers, signed_in: SignIn, oauth_server: AuthorizationServer
) -> None:
    account = oauth_account(mail_servers)
    refresh = signed_in.credentials.get_password("work", "oauth2")
    assert refresh
    # A clock stuck in the past: the authenticator believes its token is still good,
    # the server knows better (the token expired at the authorization server).
    oauth_server.lifetime = 1
    signed_in.forget("work")
    stuck = OAuth2Authenticator(account, (CLIENT_ID, ""), signed_in.credentials, clock=lambda: 0)
    token = stuck.secret("imap")  # a token that lives 1 s, made now
    wait_until(
        lambda: not oauth_server.active(token.value), what="the token to expire", interval=0.1
    )
    requests = oauth_server.token_requests
    oauth_server.lifetime = 3600
    imap_client.probe(account, stuck, timeout=10)
    assert oauth_server.token_requests == requests + 1
    stuck.rejected("smtp", stuck.secret("smtp"))  # forget it: the next one is fresh
    oauth_server.lifetime = 1
    token = stuck.secret("smtp")
    wait_until(
        lambda: not oauth_server.active(token.value), what="the token to expire", interval=0.1
    )
    oauth_server.lifetime = 3600
    smtp_client.probe(account, stuck, timeout=10)
    assert oauth_server.token_requests == requests + 3


def test_a_revoked_sign_in_must_be_done_again_and_is_asked_once(
    mail_servers: MailServers, signed_in: SignIn, oauth_server: AuthorizationServer
) -> None:
    account = oauth_account(mail_servers)
    oauth_server.revoke(mail_servers.user(USER).address)
    auth = signed_in.authenticator(account)
    requests = oauth_server.token_requests
    with pytest.raises(SignInExpired, match="must be signed in again") as refused:
        imap_client.probe(account, auth, timeout=10)
    assert "mailclient account login work" in str(refused.value)
    # The server refused the token once; one refresh was tried, and refused: no loop.
    assert oauth_server.token_requests == requests + 1
    with pytest.raises(SignInExpired):
        smtp_client.probe(account, auth, timeout=10)
    assert oauth_server.token_requests == requests + 2


def test_an_answer_with_a_wrong_state_is_refused(
    mail_servers: MailServers, oauth_server: AuthorizationServer
) -> None:
    keyring = MemoryKeyring()
    sign_in = SignIn(CredentialStore(keyring, profile_id="oauth-state"))
    answers: list[tuple[int, str]] = []

    def forged(url: str) -> None:
        def run() -> None:
            # The provider's answer, redirected with a state that is not ours.
            tampered = url.replace("state=", "state=x", 1)
            answers.append(browse(tampered, mail_servers.user(USER).address))

        threading.Thread(target=run).start()

    with pytest.raises(SignInCancelled, match="timed out"):
        sign_in_account(sign_in, oauth_account(mail_servers), forged, timeout=3)
    assert answers and answers[0][0] == 400
    assert "does not belong to the sign-in" in answers[0][1]
    assert keyring.secrets == {}


def test_the_rig_refuses_a_code_without_its_pkce_verifier(
    mail_servers: MailServers, oauth_server: AuthorizationServer
) -> None:
    account = oauth_account(mail_servers)
    client = Client.of(account, (CLIENT_ID, ""))
    verifier = new_verifier()
    with LoopbackRedirect("s1") as redirect:
        url = authorization_url(client, redirect.redirect_uri, "s1", code_challenge(verifier))
        page = threading.Thread(target=browse, args=(url, mail_servers.user(USER).address))
        page.start()
        code = redirect.wait(20)
        page.join(10)
        uri = redirect.redirect_uri
    refusals = oauth_server.pkce_refusals
    for wrong in (new_verifier(), verifier[:-1] + ("A" if verifier[-1] != "A" else "B"), ""):
        with pytest.raises(SignInExpired, match="code verifier"):
            exchange_code(client, code, wrong, uri, "work")
    assert oauth_server.pkce_refusals == refusals + 3
    # The code itself was good: with its own verifier it yields tokens.
    tokens = exchange_code(client, code, verifier, uri, "work")
    assert tokens.access_token and tokens.refresh_token


def test_no_token_reaches_a_profile_file_a_log_or_an_error(
    mail_servers: MailServers, oauth_server: AuthorizationServer, tmp_path: Path
) -> None:
    profile = Profile(tmp_path / "profile").ensure()
    root_level = logging.getLogger().level
    diagnostics.configure(profile.root, "test", debug=True)
    try:
        accounts = AccountStore(profile.config_path)
        account = accounts.add(oauth_account(mail_servers))
        keyring = MemoryKeyring()
        sign_in = SignIn(CredentialStore(keyring, profile_id=profile.id()))
        browser = Browser(mail_servers.user(USER).address)
        sign_in_account(sign_in, account, browser, timeout=20)
        browser.join()
        auth = sign_in.authenticator(account)
        access = auth.secret("imap").value
        with MailStore.open(profile.store_path) as store:
            engine = AccountSync(account, auth, store)
            try:
                engine.sync(["INBOX"])
            finally:
                engine.close()
        smtp_client.probe(account, auth, timeout=10)
        oauth_server.revoke(mail_servers.user(USER).address)
        sign_in.forget("work")
        with pytest.raises(SignInExpired) as refused:
            imap_client.probe(account, sign_in.authenticator(account), timeout=10)
    finally:
        diagnostics.unconfigure()
        logging.getLogger().setLevel(root_level)
    refresh = next(iter(keyring.secrets.values()))
    secrets = [access, refresh]
    assert all(len(secret) > 20 for secret in secrets)
    log_text = (profile.root / "logs" / "test.log").read_text()
    assert "AUTHENTICATE" in log_text  # the conversation was logged, at DEBUG
    for path in profile.root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in content, path
    for secret in secrets:
        assert secret not in str(refused.value)
    # The browser's URL carried no token either.
    assert not any(secret in url for url in browser.urls for secret in secrets)


# --- the command line ------------------------------------------------------------------------


def _cli(profile: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _sign_in_through(process: subprocess.Popen[str], user: str) -> tuple[str, str, str]:
    """Read the address the command prints, sign in there, wait for the command."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("http"):
            break
    url = lines[-1].strip()
    assert url.startswith("http://127.0.0.1:"), lines
    status, _ = browse(url, user)
    assert status == 200
    out, err = process.communicate(timeout=60)
    return url, "".join(lines) + out, err


def test_the_command_line_adds_signs_in_and_signs_in_again(
    mail_servers: MailServers,
    oauth_server: AuthorizationServer,
    tmp_path: Path,
    secret_service: object,
) -> None:
    profile = tmp_path / "profile"
    address = mail_servers.user(USER).address
    add = _cli(
        profile,
        "account", "add", "work", "--email", address, "--auth", "oauth2",
        "--oauth-issuer", oauth_server.issuer, "--oauth-client-id", CLIENT_ID,
        "--imap-host", mail_servers.host, "--imap-port", str(mail_servers.imaps_port),
        "--smtp-port", str(mail_servers.submission_port), "--ca-file", str(mail_servers.ca_file),
        "--no-browser", "--timeout", "30",
    )  # fmt: skip
    url, out, err = _sign_in_through(add, address)
    assert add.returncode == 0, err
    assert "Open this address in your browser" in out and "signed in with OAuth2" in out
    assert "code_challenge_method=S256" in url
    config = json.loads((profile / "config.json").read_text())
    [entry] = config["accounts"]
    assert entry["auth"] == "oauth2"
    assert entry["oauth_token_endpoint"] == oauth_server.token_endpoint
    test = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), "account", "test", "work"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert test.returncode == 0, test.stderr
    assert "IMAP" in test.stdout and "SMTP" in test.stdout
    oauth_server.revoke(address)
    refused = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), "sync", "work"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "must be signed in again" in refused.stderr
    assert "mailclient account login work" in refused.stderr
    login = _cli(profile, "account", "login", "work", "--no-browser", "--timeout", "30")
    _, out, err = _sign_in_through(login, address)
    assert login.returncode == 0, err
    again = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(profile), "sync", "work"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr


def test_a_provider_without_a_client_id_says_so(tmp_path: Path, secret_service: object) -> None:
    add = subprocess.run(
        [sys.executable, "-m", "mailclient", "--profile", str(tmp_path / "p"), "account", "add",
         "work", "--email", "ann@gmail.com", "--auth", "oauth2", "--no-browser"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert add.returncode != 0
    assert "no OAuth2 client ID for gmail" in add.stderr
    assert not (tmp_path / "p" / "config.json").exists()
