"""GUI tests run offscreen; QtWebEngine (for HTML mail) needs a few settings before Qt starts."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.wait_signal import SignalBlocker, SignalEmittedSpy

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.store import AccountStore
from mailclient.core.profile import Profile
from mailclient.store import repair
from tests.rig import MailServers
from tests.support.self_signed import SelfSignedDovecot

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Chromium's sandbox cannot run as root (the test machines run as root) and there is no GPU.
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
# As the application does before its QApplication exists (mailclient.app.gui.prepare_qt).
QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


@pytest.fixture(scope="session", autouse=True)
def _delete_widgets_before_qt_exits(qapp: QApplication) -> Iterator[None]:
    # Web pages must go before the web engine profile (owned by the application), or
    # QtWebEngine complains at exit; widgets that tests closed are not deleted otherwise.
    yield
    for widget in QApplication.topLevelWidgets():
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# PySide6 holds the object of a connected bound method weakly, and still delivers a queued
# emission that was in flight when the connection was cut: if that object was freed by then,
# the call reads freed memory and the process dies (SIGSEGV). pytest-qt's waitSignal and
# assertNotEmitted connect such objects, and a worker thread may emit once more just as the
# wait ends; so each of them is kept as long as the process runs.
_WAITERS_KEPT: list[object] = []


def _keeping(connect: Callable[..., Any]) -> Callable[..., Any]:
    def connect_and_keep(waiter: object, *args: object) -> Any:
        _WAITERS_KEPT.append(waiter)
        return connect(waiter, *args)

    return connect_and_keep


SignalBlocker.connect = _keeping(SignalBlocker.connect)  # type: ignore[method-assign]
SignalEmittedSpy.__enter__ = _keeping(SignalEmittedSpy.__enter__)  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _store_set_aside_per_test(monkeypatch: pytest.MonkeyPatch) -> None:
    # gui.open_window holds the store open for the rest of the process (store/repair.py);
    # each test is a new start of the window.
    monkeypatch.setattr(repair, "_may_set_aside", True)


@pytest.fixture
def self_signed_dovecot(mail_servers: MailServers, tmp_path: Path) -> Iterator[SelfSignedDovecot]:
    """A second Dovecot of the rig with a self-signed certificate (tests/support)."""
    server = SelfSignedDovecot(mail_servers, tmp_path)
    try:
        yield server
    finally:
        server.dovecot.stop()


@pytest.fixture
def accounts(tmp_path: Path) -> AccountStore:
    """An empty account store in a fresh profile."""
    return AccountStore(tmp_path / "profile" / "config.json")


@pytest.fixture
def credentials(secret_service: object, accounts: AccountStore) -> Iterator[CredentialStore]:
    """The real Secret Service; the accounts' secrets are removed after the test."""
    store = CredentialStore(profile_id=Profile(accounts.path.parent).ensure().id())
    yield store
    # The Secret Service lives for the whole session: leave it as this test found it.
    for account in AccountStore(accounts.path).accounts():
        store.delete_account(account.name)
