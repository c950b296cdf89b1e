"""What `mailclient sync` starts ahead: the session opened on a thread hands over what it
got, or the error, as if opened in place."""

from __future__ import annotations

import threading

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.signin import Authenticator, FixedPassword
from mailclient.app.ahead import SessionAhead
from mailclient.core.errors import AuthenticationFailed, CannotConnect, CertificateNotTrusted
from mailclient.imap.client import ImapSession

ACCOUNT = Account(
    name="work", email="me@example.org", imap_host="imap.example.org", smtp_host="smtp.example.org"
)


class Opened:
    """Stands for ImapSession.connect: what it returns or raises, on the calling thread."""

    def __init__(self, outcome: BaseException | None) -> None:
        self.outcome = outcome
        self.threads: list[str] = []
        self.session = object()

    def __call__(self, account: Account, auth: Authenticator) -> object:
        self.threads.append(threading.current_thread().name)
        if self.outcome is not None:
            raise self.outcome
        return self.session


def take(monkeypatch: pytest.MonkeyPatch, outcome: BaseException | None) -> tuple[Opened, object]:
    opened = Opened(outcome)
    monkeypatch.setattr(ImapSession, "connect", opened)
    return opened, SessionAhead(ACCOUNT, FixedPassword("pw")).take()


def test_the_session_opened_ahead_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    opened, taken = take(monkeypatch, None)
    assert taken is opened.session
    assert opened.threads == ["work-connect"]


def test_a_dropped_connection_leaves_connecting_to_the_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, taken = take(monkeypatch, CannotConnect("The connection was reset."))
    assert taken is None


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationFailed("The IMAP server rejected the password."),
        CertificateNotTrusted("The certificate is not trusted."),
        RuntimeError("a bug"),
    ],
)
def test_what_trying_again_cannot_mend_is_raised(
    monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    with pytest.raises(type(error), match=str(error)):
        take(monkeypatch, error)
