"""What `mailclient sync` starts ahead: the password read by a child process, the session
opened on a thread; each hands over what it got, or the error, as if done in place."""

from __future__ import annotations

import json
import subprocess
import sys
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

# Run in a process of its own: the child is forked only while no other thread runs, and
# pytest's may. The credential store stand-in counts its reads in the process that makes
# them; the parent's count says whether the child read.
CHILD_READS = """
import json, sys, threading
from mailclient.accounts.model import Account
from mailclient.accounts.signin import FixedPassword
from mailclient.app.ahead import PasswordAhead
from mailclient.core.errors import MailclientError, PasswordMissing

class Credentials:
    reads = 0

    def reads_directly(self):
        return sys.argv[1] != "indirect"

    def get_password(self, account, service):
        Credentials.reads += 1
        if sys.argv[1] == "missing":
            raise PasswordMissing(account, service)
        if sys.argv[1] == "bug":
            raise RuntimeError("a bug")
        return "from the keyring"

if sys.argv[2] == "thread":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
account = Account("work", "me@example.org", imap_host="imap.example", smtp_host="smtp.example")
fallback = FixedPassword("from the fallback", "me@example.org")
auth = PasswordAhead.start(account, Credentials(), fallback)
result = {"forked": isinstance(auth, PasswordAhead)}
try:
    result["imap"] = auth.secret("imap").value
except MailclientError as error:
    result["error"] = f"{type(error).__name__}: {error}"
result["smtp"] = auth.secret("smtp").value
result["reads_here"] = Credentials.reads
print(json.dumps(result))
"""


def child_reads(outcome: str, threads: str = "none") -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD_READS, outcome, threads],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_child_reads_the_password() -> None:
    assert child_reads("found") == {
        "forked": True,
        "imap": "from the keyring",
        "smtp": "from the fallback",  # only the IMAP password is read ahead
        "reads_here": 0,
    }


def test_what_the_keyring_refused_is_said_as_the_keyring_said_it() -> None:
    result = child_reads("missing")
    assert result["error"] == (
        "CredentialError: No IMAP password is stored for account 'work'. "
        "Enter it with: mailclient account password work"
    )
    assert result["reads_here"] == 0  # not asked again


def test_a_child_that_ended_without_an_answer_leaves_the_reading_to_the_fallback() -> None:
    result = child_reads("bug")
    assert result["imap"] == "from the fallback" and result["reads_here"] == 0


def test_no_child_is_forked_while_another_thread_runs() -> None:
    result = child_reads("found", threads="thread")
    assert result["forked"] is False and result["imap"] == "from the fallback"


def test_no_child_reads_what_is_not_read_from_the_secret_service_directly() -> None:
    result = child_reads("indirect")
    assert result["forked"] is False and result["imap"] == "from the fallback"


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
