"""A window whose account's server accepts connections and never answers, closed on cue.

``python -m tests.support.close_while_blocked PROFILE PORT`` builds the window as
mailclient.app.gui.run_gui does (with a password in memory instead of the keyring and a
10-minute network timeout, so that only a cut connection can end a blocked read), starts
the workers, and closes the window when a line arrives on stdin. It then tears down as
run_gui does and exits with the event loop's status: Qt aborts the process (status 134)
if a QThread is destroyed while it runs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, Security
from mailclient.imap.sync import SyncOptions
from mailclient.store.mail import MailStore
from mailclient.ui.window.main_window import MainWindow, window_settings
from mailclient.workers.mail import MailWorkers


class MemoryKeyring:
    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


def main(profile: Path, port: int) -> int:
    app = QApplication(sys.argv[:1])
    account = Account(
        name="silent",
        email="alice@example.org",
        imap_host="127.0.0.1",
        imap_port=port,
        imap_security=Security.SSL,
        smtp_host="127.0.0.1",
    )
    credentials = CredentialStore(MemoryKeyring(), profile_id="close-while-blocked")
    credentials.set_password("silent", "imap", "secret")
    store = MailStore.open(profile / "mail.sqlite3")
    mail = MailWorkers(
        [account], credentials, profile / "mail.sqlite3", options=SyncOptions(timeout=600)
    )
    window = MainWindow([account], store, mail, window_settings(profile))
    window.show()
    QTimer.singleShot(0, window.start)

    def close() -> None:
        notifier.setEnabled(False)
        os.read(sys.stdin.fileno(), 100)
        began = time.perf_counter()
        window.close()
        print(f"closed in {time.perf_counter() - began:.2f} s", flush=True)

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(close)
    print("started", flush=True)
    try:
        return app.exec()
    finally:
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        store.close()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2])))
