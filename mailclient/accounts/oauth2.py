"""OAuth2 sign-in as a native app does it (RFC 8252), and the tokens it yields.

The provider's page opens in the user's browser with an authorization request that
carries a PKCE challenge (RFC 7636) and a random state; the browser comes back to a
one-shot HTTP server on ``http://127.0.0.1:<free port>/`` (RFC 8252 §7.3), which checks
the state and shows a short "you can close this tab" page. The code is exchanged for an
access token and a refresh token (RFC 6749 §4.1). The refresh token goes to the keyring
(the credential store, kind "oauth2"); access tokens stay in memory and are refreshed a
minute before they expire, or when a server rejects one.

Everything here blocks on the network: call it from worker threads or the command line.
Only the standard library speaks HTTP here; endpoints are HTTPS with certificate checks
(plain HTTP only to this computer, for a test server).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mailclient.accounts.credentials import CredentialStore, Service
from mailclient.accounts.model import Account, AuthMethod, validate_endpoint
from mailclient.accounts.signin import Mechanism, Secret, SignIn
from mailclient.core.errors import (
    AuthenticationFailed,
    CannotConnect,
    MailclientError,
    PasswordMissing,
    ProtocolError,
    SignInExpired,
)

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 30.0
SIGN_IN_TIMEOUT = 300.0  # for the person in the browser
# Refresh this long before the provider says a token expires (half its life when shorter).
EXPIRY_MARGIN = 60.0

CLOSE_TAB_PAGE = (
    "<!doctype html><meta charset=utf-8><title>mailclient</title>"
    "<p style='font:1.2em sans-serif;margin:3em'>{}</p>"
)


class SignInCancelled(MailclientError):
    """The person cancelled the sign-in, or it timed out."""


@dataclass(frozen=True)
class Client:
    """Where and as whom an account signs in."""

    authorization_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str = field(default="", repr=False)

    @classmethod
    def of(cls, account: Account, client: tuple[str, str]) -> Client:
        return cls(
            account.oauth_authorization_endpoint,
            account.oauth_token_endpoint,
            account.oauth_scopes,
            client[0],
            client[1],
        )


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint gave. ``refresh_token`` is "" when it sent none."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str = field(repr=False, default="")
    lifetime: float = 3600.0

    def due(self, now: float) -> bool:
        """Whether to refresh before using it at ``now``."""
        return self.expires_at - min(EXPIRY_MARGIN, self.lifetime / 2) <= now


# --- PKCE (RFC 7636) ----------------------------------------------------------------------


def new_verifier() -> str:
    """A code verifier: 43 to 128 unreserved characters, here 86 (RFC 7636 §4.1)."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    client: Client, redirect_uri: str, state: str, challenge: str, login_hint: str = ""
) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(client.scopes),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if login_hint:
        query["login_hint"] = login_hint
    separator = "&" if "?" in client.authorization_endpoint else "?"
    return client.authorization_endpoint + separator + urllib.parse.urlencode(query)


# --- the token endpoint (RFC 6749 §4.1.3, §6) ------------------------------------------------


def _http(url: str, form: dict[str, str] | None, headers: dict[str, str]) -> tuple[int, Any]:
    """POST ``form`` (or GET without one) and parse the JSON answer; (status, body)."""
    validate_endpoint("OAuth2 endpoint", url)
    data = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
    request = urllib.request.Request(
        url, data=data, headers={"Accept": "application/json", **headers}
    )
    host = urllib.parse.urlsplit(url).hostname
    context = ssl.create_default_context()
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT, context=context) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CannotConnect(f"The sign-in server {host} cannot be reached: {reason}.") from None
    try:
        return status, json.loads(raw)
    except ValueError:
        raise ProtocolError(
            f"The sign-in server {host} answered with HTTP {status} and no JSON."
        ) from None


def _token_request(client: Client, form: dict[str, str], account: str) -> Tokens:
    form = {**form, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    status, body = _http(client.token_endpoint, form, {})
    host = urllib.parse.urlsplit(client.token_endpoint).hostname
    if status == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) else 3600.0
        refresh = body.get("refresh_token")
        return Tokens(
            body["access_token"],
            time.time() + seconds,
            refresh if isinstance(refresh, str) else "",
            seconds,
        )
    error = body.get("error") if isinstance(body, dict) else None
    described = body.get("error_description") if isinstance(body, dict) else None
    reason = str(described or error or f"HTTP {status}")
    if error in ("invalid_grant", "unauthorized_client", "invalid_client"):
        raise SignInExpired(account, f"the sign-in server {host} refused it: {reason}")
    if status >= 500:
        raise CannotConnect(f"The sign-in server {host} failed: {reason}.")
    raise ProtocolError(f"The sign-in server {host} refused the request: {reason}.")


def exchange_code(
    client: Client, code: str, verifier: str, redirect_uri: str, account: str
) -> Tokens:
    return _token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        account,
    )


def refresh(client: Client, refresh_token: str, account: str) -> Tokens:
    return _token_request(
        client, {"grant_type": "refresh_token", "refresh_token": refresh_token}, account
    )


def discover(issuer: str) -> tuple[str, str]:
    """The authorization and token endpoints an issuer announces (OpenID Connect
    Discovery, else RFC 8414)."""
    base = issuer.rstrip("/")
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        try:
            status, body = _http(base + path, None, {})
        except ProtocolError:
            continue
        if status == 200 and isinstance(body, dict):
            authorize, token = body.get("authorization_endpoint"), body.get("token_endpoint")
            if isinstance(authorize, str) and isinstance(token, str):
                return authorize, token
    raise ProtocolError(f"{issuer} announces no OAuth2 endpoints (no .well-known configuration).")


# --- the loopback redirect (RFC 8252 §7.3) ---------------------------------------------------


class LoopbackRedirect:
    """A one-shot HTTP server on 127.0.0.1 that waits for the browser's redirect.

    An answer whose ``state`` is not ours is refused with a page saying so and does not
    end the wait: only the browser we sent can finish this sign-in.
    """

    def __init__(self, state: str) -> None:
        self._state = state
        self._done = threading.Event()
        self._code = ""
        self._error = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the code: never logged

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="oauth2-redirect", daemon=True
        )
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(parts.query)
        state = query.get("state", [""])[0]
        if parts.path != "/" or not query:
            self._page(request, 404, "Nothing here.")
            return
        if not secrets.compare_digest(state.encode(), self._state.encode()):
            self._page(
                request, 400, "This answer does not belong to the sign-in mailclient started."
            )
            return
        if self._done.is_set():
            self._page(request, 400, "This sign-in is already finished.")
            return
        code = query.get("code", [""])[0]
        if code:
            self._code = code
            self._page(
                request, 200, "You are signed in. You can close this tab and go back to mailclient."
            )
        else:
            self._error = query.get("error_description", query.get("error", ["no code"]))[0]
            self._page(request, 200, "The sign-in did not succeed. You can close this tab.")
        self._done.set()

    @staticmethod
    def _page(request: BaseHTTPRequestHandler, status: int, text: str) -> None:
        body = CLOSE_TAB_PAGE.format(html.escape(text)).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        request.wfile.write(body)

    def wait(self, timeout: float, cancelled: threading.Event | None = None) -> str:
        """The authorization code; SignInCancelled on time-out or ``cancelled``,
        AuthenticationFailed when the provider answered with an error."""
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.1):
            if cancelled is not None and cancelled.is_set():
                raise SignInCancelled("The sign-in was cancelled.")
            if time.monotonic() >= deadline:
                raise SignInCancelled(
                    f"The sign-in timed out: no answer from the browser within {timeout:.0f} s."
                )
        if not self._code:
            raise AuthenticationFailed(f"The provider did not sign you in: {self._error}.")
        return self._code

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackRedirect:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sign_in_browser(
    client: Client,
    open_url: Callable[[str], object],
    account: str,
    *,
    login_hint: str = "",
    timeout: float = SIGN_IN_TIMEOUT,
    cancelled: threading.Event | None = None,
) -> Tokens:
    """The whole browser sign-in: ``open_url`` gets the provider's page to show."""
    verifier, state = new_verifier(), secrets.token_urlsafe(24)
    with LoopbackRedirect(state) as redirect:
        open_url(
            authorization_url(
                client, redirect.redirect_uri, state, code_challenge(verifier), login_hint
            )
        )
        code = redirect.wait(timeout, cancelled)
        redirect_uri = redirect.redirect_uri
    tokens = exchange_code(client, code, verifier, redirect_uri, account)
    if not tokens.refresh_token:
        raise ProtocolError(
            "The sign-in server gave no refresh token: ask for offline access in the scopes."
        )
    return tokens


# --- the authenticator ------------------------------------------------------------------------


class OAuth2Authenticator:
    """An OAuth2 account's access tokens, made from the refresh token in the keyring.

    Thread-safe: the sync, IDLE and sending threads share one.
    """

    method = AuthMethod.OAUTH2

    def __init__(
        self,
        account: Account,
        client: tuple[str, str],
        credentials: CredentialStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._client = Client.of(account, client)
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: Tokens | None = None

    @property
    def mechanism(self) -> Mechanism | None:
        try:
            return Mechanism(self._account.oauth_mechanism.upper())
        except ValueError:
            return None

    def secret(self, service: Service) -> Secret:
        with self._lock:
            fresh = False
            if self._tokens is None or self._tokens.due(self._clock()):
                self._tokens = self._refresh()
                fresh = True
            return Secret(self._account.login, self._tokens.access_token, token=True, fresh=fresh)

    def _refresh(self) -> Tokens:
        name = self._account.name
        try:
            stored = self._credentials.get_password(name, "oauth2")
        except PasswordMissing:
            raise SignInExpired(name, "it is not signed in on this computer") from None
        tokens = refresh(self._client, stored, name)
        if tokens.refresh_token and tokens.refresh_token != stored:
            # Providers that rotate refresh tokens (RFC 6749 §10.4) invalidate the old one.
            self._credentials.set_password(name, "oauth2", tokens.refresh_token)
        log.info("Refreshed the access token of %s", name)
        return tokens

    def accept(self, tokens: Tokens) -> None:
        """Use the access token of a sign-in that just finished."""
        with self._lock:
            self._tokens = tokens

    def rejected(self, service: Service, secret: Secret) -> bool:
        with self._lock:
            if self._tokens is not None and self._tokens.access_token == secret.value:
                self._tokens = None
        # A token refreshed for this very login and still refused will not do better.
        return not secret.fresh


def sign_in_account(
    sign_in: SignIn,
    account: Account,
    open_url: Callable[[str], object],
    *,
    timeout: float = SIGN_IN_TIMEOUT,
    cancelled: threading.Event | None = None,
) -> None:
    """Sign ``account`` in through the browser and keep its refresh token in the keyring;
    its connections use the new access token from now on."""
    client = Client.of(account, sign_in.client_for(account))
    tokens = sign_in_browser(
        client,
        open_url,
        account.name,
        login_hint=account.email,
        timeout=timeout,
        cancelled=cancelled,
    )
    sign_in.credentials.set_password(account.name, "oauth2", tokens.refresh_token)
    sign_in.forget(account.name)
    authenticator = sign_in.authenticator(account)
    assert isinstance(authenticator, OAuth2Authenticator)
    authenticator.accept(tokens)
