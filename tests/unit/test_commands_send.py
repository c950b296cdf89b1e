"""``mailclient send`` and ``outbox``: what is refused before anything is queued."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.app.cli import run
from mailclient.core.diagnostics import PrivateLogFile
from mailclient.core.outgoing import OutgoingMessage
from mailclient.core.profile import Profile
from mailclient.mime.compose import build_message
from mailclient.store.db import damage_marker
from mailclient.store.outbox import Outbox, outbox_path


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    root = tmp_path / "profile"
    store = AccountStore(Profile(root).ensure().config_path)
    store.add(Account(name="work", email="ann@example.org", imap_host="h.test", smtp_host="h.test"))
    return root


def test_header_injection_is_refused_and_nothing_queued(
    profile: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"body\n")))
    code = run(
        [
            "--profile",
            str(profile),
            "send",
            "--account",
            "work",
            "--to",
            "bob@example.org",
            "--subject",
            "Hi\r\nBcc: victim@example.org",
        ]
    )
    assert code == 1
    assert "Subject: must not contain line breaks" in capsys.readouterr().err
    assert run(["--profile", str(profile), "outbox", "list"]) == 0
    assert capsys.readouterr().out == "The outbox is empty.\n"


@pytest.mark.parametrize("separator", ["\x85", "\u2028", "\u2029", "\x1b"])
def test_any_line_separator_in_a_subject_is_refused_in_one_line(
    profile: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    separator: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"body\n")))
    args = ["--to", "bob@example.org", "--subject", f"Hi{separator}X-Injected: 1"]
    assert run(["--profile", str(profile), "send", "--account", "work", *args]) == 1
    assert capsys.readouterr().err == (
        "mailclient: Subject: must not contain line breaks or control characters "
        "(header injection)\n"
    )


def test_an_unexpected_error_is_one_line_and_the_traceback_is_in_the_log_file(
    profile: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("\x1b]52;c;ZXZpbA==\x07")

    monkeypatch.setattr("mailclient.app.commands_send.OutgoingMessage", broken)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"body\n")))
    args = ["send", "--account", "work", "--to", "bob@example.org", "--subject", "x"]
    assert run(["--profile", str(profile), *args]) == 70
    log = profile / "logs" / "cli.log"
    assert capsys.readouterr().err == (
        "mailclient: internal error: KeyError: '\\x1b]52;c;ZXZpbA==\\x07'; please report it "
        f"(details in {log})\n"
    )
    text = log.read_text()
    assert "ERROR [MainThread] mailclient.app.cli: Unexpected error\nTraceback" in text
    assert "in broken\n    raise KeyError" in text
    # run() leaves logging as it found it.
    assert not any(isinstance(h, PrivateLogFile) for h in logging.getLogger().handlers)


def test_body_must_be_utf8(
    profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.txt"
    body.write_bytes(b"caf\xe9\n")
    args = ["--to", "bob@example.org", "--subject", "x", "--body-file", str(body)]
    code = run(["--profile", str(profile), "send", "--account", "work", *args])
    assert code == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_unknown_outbox_message(profile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--profile", str(profile), "outbox", "delete", "7"]) == 1
    assert "no message 7 in the outbox" in capsys.readouterr().err


def test_a_damaged_outbox_file_is_told_and_its_messages_kept(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_path = Profile(profile).store_path
    outbox = Outbox.open(store_path)
    built = build_message(OutgoingMessage("ann@example.org", ("bob@example.org",), subject="Kept"))
    item = outbox.add("work", built)
    outbox.close()
    damage_marker(outbox_path(store_path)).touch()  # as an error met in use leaves it

    assert run(["--profile", str(profile), "outbox", "list"]) == 0
    out, err = capsys.readouterr()
    (rescued,) = profile.glob("rescued-*")
    assert (
        f"mailclient: The outbox file was damaged. It was moved to {rescued}; 1 message read "
        "from it is in the outbox again (and in that folder as .eml files).\n"
    ) in err
    assert out.startswith(f"{item.id}\tqueued\twork\tKept\tto bob@example.org")
    assert (rescued / f"outbox-{item.id}.eml").read_bytes() == built.raw
