"""A real OAuth2 authorization server on loopback, and a stand-in for the person's browser.

The server is oidc-provider-mock (PyPI): a small OpenID Connect provider built on Authlib's
server classes, kept up to date, pure Python, running in a thread of the test process. It
issues authorization codes through a consent form, access and refresh tokens at its token
endpoint, and revokes a user's tokens on request. What it lacks is added here without
touching its code: token introspection (RFC 7662), which is how the rig's Dovecot checks
tokens (dovecot.py); public clients (token endpoint auth method "none", as native apps
are, RFC 8252 §8.4); a lifetime of new access tokens that a test can change while it runs
(``lifetime``); no insecure-transport check, as it speaks plain HTTP on 127.0.0.1; and
PKCE (RFC 7636), which it ignores: a thin layer in front of it keeps the S256 challenge of
each authorization request with the code it yields and refuses a code whose token
request lacks the matching verifier, as a public client's provider must (RFC 8252 §8.1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import flask
import werkzeug.serving

from .util import LOOPBACK, free_ports

# The access tokens' lifetime until a test changes it: long enough that no test sees one
# expire unless it wants to.
DEFAULT_LIFETIME = 3600


class AuthorizationServer:
    """oidc-provider-mock on 127.0.0.1:``port`` (a free one by default)."""

    def __init__(self, port: int | None = None) -> None:
        from oidc_provider_mock import _app as provider

        # Plain HTTP is fine on loopback; Authlib refuses it otherwise.
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
        # Its request log (codes and states in URLs) says nothing the tests need.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.lifetime = DEFAULT_LIFETIME
        self.token_requests = 0
        self.pkce_refusals = 0
        # Authorization code -> the S256 challenge of the request that yielded it.
        self._challenges: dict[str, str] = {}
        self._challenges_lock = threading.Lock()
        for grant in (provider.AuthorizationCodeGrant, provider.RefreshTokenGrant):
            if "none" not in grant.TOKEN_ENDPOINT_AUTH_METHODS:
                grant.TOKEN_ENDPOINT_AUTH_METHODS = [*grant.TOKEN_ENDPOINT_AUTH_METHODS, "none"]
        app = provider.app(access_token_max_age=timedelta(seconds=DEFAULT_LIFETIME))
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.add_url_rule("/introspect", view_func=_introspect, methods=["POST"])
        self.port = port if port is not None else free_ports(1, (LOOPBACK,))[0]
        self._server = werkzeug.serving.make_server(LOOPBACK, self.port, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="oauth-server", daemon=True
        )
        self._thread.start()

    @property
    def issuer(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/oauth2/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/oauth2/token"

    @property
    def introspection_endpoint(self) -> str:
        return f"{self.issuer}/introspect"

    def _before_request(self) -> Any:
        # Each token is made by the server's bearer token generator; its lifetime is ours.
        server: Any = flask.g._authlib_authorization_server
        server._token_generators["default"].expires_generator = lambda *_: self.lifetime
        if flask.request.path == "/oauth2/token":
            self.token_requests += 1
            if flask.request.form.get("grant_type") == "authorization_code":
                return self._check_verifier()
        return None

    def _after_request(self, response: flask.Response) -> flask.Response:
        """Keep the challenge of an authorization request with the code it was answered with."""
        if flask.request.path == "/oauth2/authorize" and response.status_code in (302, 303):
            location = urllib.parse.urlsplit(response.headers.get("Location", ""))
            code = urllib.parse.parse_qs(location.query).get("code", [""])[0]
            if code:
                args = flask.request.args
                method = args.get("code_challenge_method", "")
                challenge = args.get("code_challenge", "") if method == "S256" else ""
                with self._challenges_lock:
                    self._challenges[code] = challenge
        return response

    def _check_verifier(self) -> Any:
        """RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the challenge."""
        form = flask.request.form
        with self._challenges_lock:
            challenge = self._challenges.get(form.get("code", ""), "")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        if not challenge:
            reason = "the authorization request carried no S256 code challenge"
        elif not 43 <= len(verifier) <= 128:
            reason = "the code verifier is missing or not 43 to 128 characters long"
        elif not secrets.compare_digest(computed, challenge):
            reason = "the code verifier does not match the code challenge"
        else:
            with self._challenges_lock:
                self._challenges.pop(form["code"], None)
            return None
        self.pkce_refusals += 1
        return flask.jsonify({"error": "invalid_grant", "error_description": reason}), 400

    def active(self, token: str) -> bool:
        """Whether ``token`` is good now, asked the way Dovecot asks (RFC 7662)."""
        request = urllib.request.Request(
            self.introspection_endpoint, data=urllib.parse.urlencode({"token": token}).encode()
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bool(json.load(answer)["active"])

    def revoke(self, user: str) -> None:
        """Revoke every access and refresh token of ``user`` (the provider's sub)."""
        quoted = urllib.parse.quote(user, safe="")
        request = urllib.request.Request(
            f"{self.issuer}/users/{quoted}/revoke-tokens", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


def _introspect() -> Any:
    """RFC 7662 §2: whether a token is active and whose it is, from the server's storage."""
    from oidc_provider_mock._storage import storage

    token = storage.get_access_token(flask.request.form.get("token", ""))
    if token is None or token.is_expired():
        return flask.jsonify({"active": False})
    return flask.jsonify(
        {"active": True, "sub": token.user_id, "scope": token.scope, "token_type": "Bearer"}
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _FormAction(HTMLParser):
    """Whether the consent page has the form to sign in as a given user."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "input":
            self.inputs.append(dict(attrs).get("name") or "")


def browse(authorization_url: str, user: str, *, deny: bool = False) -> tuple[int, str]:
    """Do what the person does in the browser: open the provider's page, sign in as
    ``user`` (or deny), and follow the redirect back to the app. Returns the status and
    page the app's redirect answered with."""
    opener = urllib.request.build_opener(_NoRedirect)
    with opener.open(authorization_url, timeout=10) as page:
        form = _FormAction()
        form.feed(page.read().decode("utf-8"))
    assert "sub" in form.inputs, "the provider's consent form has changed"
    answer = {"action": "deny"} if deny else {"sub": user}
    try:
        opener.open(authorization_url, urllib.parse.urlencode(answer).encode(), timeout=10)
    except urllib.error.HTTPError as redirect:
        if redirect.code not in (302, 303):
            raise
        location = redirect.headers["Location"]
    else:
        raise AssertionError("the provider did not redirect back")
    return follow(location)


def follow(url: str) -> tuple[int, str]:
    """GET ``url`` as a browser would and return the status and the page."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
