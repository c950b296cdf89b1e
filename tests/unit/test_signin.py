"""The sign-in seam: account methods in the config, SASL responses, PKCE, the loopback redirect."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, AuthMethod
from mailclient.accounts.oauth2 import (
    Client,
    LoopbackRedirect,
    SignInCancelled,
    authorization_url,
    code_challenge,
    new_verifier,
)
from mailclient.accounts.signin import (
    FixedPassword,
    Mechanism,
    PasswordAuthenticator,
    Secret,
    SignIn,
    choose_mechanism,
    sasl_error_reply,
    sasl_response,
)
from mailclient.core.diagnostics import redact
from mailclient.core.errors import (
    AuthenticationFailed,
    InvalidInput,
    OAuthNotConfigured,
    ProtocolError,
)
from tests.support.memory_keyring import MemoryKeyring

PASSWORD_ACCOUNT = Account(
    name="work", email="ann@example.org", imap_host="imap.example.org", smtp_host="smtp.example.org"
)
TOKEN_ACCOUNT = replace(
    PASSWORD_ACCOUNT,
    auth=AuthMethod.OAUTH2,
    oauth_provider="gmail",
    oauth_authorization_endpoint="https://accounts.example.org/authorize",
    oauth_token_endpoint="https://accounts.example.org/token",
    oauth_scopes=("https://mail.example.org/",),
    oauth_mechanism="XOAUTH2",
)


# --- the account's method in the config -----------------------------------------------------------


def test_a_config_entry_without_a_method_is_a_password_account() -> None:
    old = {"name": "work", "email": "ann@example.org", "imap_host": "h", "smtp_host": "h"}
    assert Account.from_dict(old).auth is AuthMethod.PASSWORD


def test_a_password_account_is_written_as_before() -> None:
    written = PASSWORD_ACCOUNT.to_dict()
    assert not [key for key in written if key == "auth" or key.startswith("oauth")]
    assert Account.from_dict(written) == PASSWORD_ACCOUNT


def test_a_token_account_round_trips() -> None:
    written = TOKEN_ACCOUNT.to_dict()
    assert written["auth"] == "oauth2"
    assert Account.from_dict(written) == TOKEN_ACCOUNT
    assert TOKEN_ACCOUNT.validated() == TOKEN_ACCOUNT


@pytest.mark.parametrize(
    "endpoint",
    ["http://accounts.example.org/token", "ftp://127.0.0.1/token", "", "https:///token"],
)
def test_token_endpoints_are_https_or_on_this_computer(endpoint: str) -> None:
    with pytest.raises(InvalidInput, match="token endpoint"):
        replace(TOKEN_ACCOUNT, oauth_token_endpoint=endpoint).validated()
    loopback = replace(TOKEN_ACCOUNT, oauth_token_endpoint="http://127.0.0.1:8080/token")
    assert loopback.validated().oauth_token_endpoint == "http://127.0.0.1:8080/token"


def test_an_unknown_method_in_the_config_is_named() -> None:
    entry = {**PASSWORD_ACCOUNT.to_dict(), "auth": "kerberos"}
    with pytest.raises(InvalidInput, match="authentication"):
        Account.from_dict(entry)


# --- authenticators -------------------------------------------------------------------------------


def test_a_password_account_reads_each_servers_password_when_asked() -> None:
    credentials = CredentialStore(MemoryKeyring(), profile_id="p")
    auth = SignIn(credentials).authenticator(PASSWORD_ACCOUNT)
    assert isinstance(auth, PasswordAuthenticator)
    credentials.set_password("work", "imap", "first")
    assert auth.secret("imap") == Secret("ann@example.org", "first")
    credentials.set_password("work", "imap", "changed")
    assert auth.secret("imap").value == "changed"  # never kept between logins
    assert not auth.rejected("imap", auth.secret("imap"))


def test_no_secret_shows_in_a_repr() -> None:
    assert "hunter2" not in repr(Secret("ann", "hunter2", token=True))
    assert "hunter2" not in repr(FixedPassword("hunter2"))


def test_a_token_account_without_a_client_id_says_so() -> None:
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="p"))
    with pytest.raises(OAuthNotConfigured, match=r"no OAuth2 client ID for gmail.*README"):
        sign_in.authenticator(TOKEN_ACCOUNT)


def test_a_token_account_keeps_one_authenticator_until_it_changes() -> None:
    sign_in = SignIn(CredentialStore(MemoryKeyring(), profile_id="p"), lambda p: ("id", ""))
    first = sign_in.authenticator(TOKEN_ACCOUNT)
    assert sign_in.authenticator(TOKEN_ACCOUNT) is first
    assert sign_in.authenticator(replace(TOKEN_ACCOUNT, oauth_scopes=("other",))) is not first
    own = replace(TOKEN_ACCOUNT, name="own", oauth_client_id="mine")
    assert sign_in.client_for(own) == ("mine", "")


# --- SASL -----------------------------------------------------------------------------------------


def test_oauthbearer_initial_response_is_rfc_7628s() -> None:
    # RFC 7628 §4.1, with the user name escaped as RFC 5801 says.
    secret = Secret("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", token=True)
    assert sasl_response(Mechanism.OAUTHBEARER, secret, "server.example.com", 143) == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143"
        b"\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )
    odd = Secret("a,b=c@example.com", "t", token=True)
    assert sasl_response(Mechanism.OAUTHBEARER, odd, "h", 1).startswith(
        b"n,a=a=2Cb=3Dc@example.com,"
    )
    assert sasl_error_reply(Mechanism.OAUTHBEARER) == b"\x01"


def test_xoauth2_initial_response() -> None:
    secret = Secret("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg", True)
    response = sasl_response(Mechanism.XOAUTH2, secret, "imap.gmail.com", 993)
    assert response == (
        b"user=someuser@example.com\x01"
        b"auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01"
    )
    assert sasl_error_reply(Mechanism.XOAUTH2) == b""


def test_the_mechanism_follows_what_the_server_offers() -> None:
    both = ["PLAIN", "XOAUTH2", "oauthbearer"]
    assert choose_mechanism(both, None, "s") is Mechanism.OAUTHBEARER
    assert choose_mechanism(both, Mechanism.XOAUTH2, "s") is Mechanism.XOAUTH2
    assert choose_mechanism(["XOAUTH2"], Mechanism.OAUTHBEARER, "s") is Mechanism.XOAUTH2
    assert choose_mechanism(["OAUTHBEARER"], Mechanism.XOAUTH2, "s") is Mechanism.OAUTHBEARER
    with pytest.raises(ProtocolError, match="does not offer OAuth2"):
        choose_mechanism(["PLAIN", "LOGIN"], None, "imap.example.org:993")


# --- PKCE and the authorization request -----------------------------------------------------------


def test_the_code_challenge_is_s256() -> None:
    verifier = new_verifier()
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
    assert new_verifier() != verifier
    # Authlib's server computes the same challenge from the verifier.
    assert code_challenge(verifier) == create_s256_code_challenge(verifier)


def test_the_authorization_request_carries_pkce_and_state() -> None:
    client = Client("https://id.example.org/auth?tenant=x", "https://t", ("a", "b"), "cid")
    url = authorization_url(client, "http://127.0.0.1:5000/", "st", "ch", "ann@example.org")
    assert url.startswith("https://id.example.org/auth?tenant=x&response_type=code&")
    for part in (
        "client_id=cid",
        "redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2F",
        "scope=a+b",
        "state=st",
        "code_challenge=ch",
        "code_challenge_method=S256",
        "login_hint=ann%40example.org",
    ):
        assert part in url


# --- the loopback redirect ------------------------------------------------------------------------


def _visit(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_redirect_takes_the_code_with_our_state_only() -> None:
    with LoopbackRedirect("right-state") as redirect:
        assert redirect.redirect_uri.startswith("http://127.0.0.1:")
        status, page = _visit(redirect.redirect_uri + "?code=stolen&state=wrong-state")
        assert status == 400 and "does not belong to the sign-in" in page
        status, page = _visit(redirect.redirect_uri + "?code=c0de&state=right-state")
        assert status == 200 and "close this tab" in page
        assert redirect.wait(5) == "c0de"
        # A second answer, even a right one, changes nothing.
        assert _visit(redirect.redirect_uri + "?code=other&state=right-state")[0] == 400
        assert redirect.wait(5) == "c0de"


def test_a_wrong_state_alone_never_ends_the_wait() -> None:
    with LoopbackRedirect("right-state") as redirect:
        _visit(redirect.redirect_uri + "?code=stolen&state=wrong-state")
        with pytest.raises(SignInCancelled, match="timed out"):
            redirect.wait(0.3)


def test_the_providers_refusal_is_reported() -> None:
    with LoopbackRedirect("s") as redirect:
        _visit(redirect.redirect_uri + "?error=access_denied&state=s")
        with pytest.raises(AuthenticationFailed, match="access_denied"):
            redirect.wait(5)


def test_cancel_ends_the_wait() -> None:
    cancelled = threading.Event()
    with LoopbackRedirect("s") as redirect:
        threading.Timer(0.2, cancelled.set).start()
        with pytest.raises(SignInCancelled, match="cancelled"):
            redirect.wait(60, cancelled)


# --- logs -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "GET /userinfo Authorization: Bearer ya29.SECRET-token",
        'b\'{"access_token": "SECRET-token", "expires_in": 3599}\'',
        "grant_type=refresh_token&refresh_token=SECRET-token&client_id=x",
        "code=abc&code_verifier=SECRET-token",
    ],
)
def test_tokens_in_a_log_line_are_redacted(line: str) -> None:
    assert "SECRET-token" not in redact(line)
