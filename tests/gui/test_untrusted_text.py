"""Text from mail and servers is shown as it is, never interpreted as HTML.

A QLabel, QMessageBox or tooltip in Qt's default AutoText format renders anything that
looks like HTML as HTML: ``<img src='/dev/zero'>`` in a subject makes Qt read that file
(without end) and any local file can be loaded. The image here points at a file that does
not exist, so that a regression fails the assertions instead of exhausting memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6 import QtGui
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from mailclient.accounts.credentials import CredentialStore
from mailclient.accounts.model import Account, Security
from mailclient.core.errors import InvalidInput
from mailclient.core.models import SpecialUse
from mailclient.discovery import Endpoint, Protocol, ServerCertificate
from mailclient.discovery.discover import Step, StepState
from mailclient.discovery.model import Method
from mailclient.store.mail import MailStore, RemoteFolder
from mailclient.ui.accounts.add_dialog import SearchPage
from mailclient.ui.accounts.certificate_dialog import CertificateDialog
from mailclient.ui.accounts.form import AccountForm
from mailclient.ui.accounts.password_prompt import PasswordPrompt
from mailclient.ui.mailbox.folder_model import FolderRole
from mailclient.ui.mailbox.message_model import Column, MessageRole
from mailclient.ui.window.main_window import MainWindow
from mailclient.workers.events import BodyFailed, SyncProgress, WorkFailed
from tests.gui.test_main_window import WORK, RecordingMail, _summary
from tests.support.memory_keyring import PROFILE_ID, MemoryKeyring

IMG = "<img src='/nonexistent/mailclient-test/x.png'>"
SUBJECT = f"<b>x</b>{IMG}"
SENDER = f"<i>Mallory</i>{IMG} <mallory@example.org>"
FOLDER = f"<u>Folder</u>{IMG}"
SERVER_TEXT = f"NO <font color=red>Mailbox is locked</font>{IMG}"


def renders_as_html(label: QLabel) -> bool:
    """What QLabel decides: rich text when told so, or when AutoText finds it looks like it."""
    text_format = label.textFormat()
    return text_format == Qt.TextFormat.RichText or (
        text_format == Qt.TextFormat.AutoText and QtGui.Qt.mightBeRichText(label.text())
    )


def tooltip_shows(tip: str) -> str:
    """The text a tooltip shows: QToolTip uses AutoText and has no format setting."""
    document = QTextDocument()
    if QtGui.Qt.mightBeRichText(tip):
        document.setHtml(tip)
    else:
        document.setPlainText(tip)
    return document.toPlainText()


def untrusted_labels(widget: QWidget) -> dict[str, QLabel]:
    """Every label of ``widget`` whose text carries the planted markup, by object name."""
    return {
        label.objectName() or repr(label): label
        for label in widget.findChildren(QLabel)
        if "<img" in label.text()
    }


def test_window_shows_subjects_folders_and_server_errors_as_text(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = MailStore.open(tmp_path / "mail.sqlite3")
    store.sync_folder_list(
        "work",
        [RemoteFolder("INBOX", "/", SpecialUse.INBOX), RemoteFolder(FOLDER, "|", None)],
    )
    folder = store.folder_by_name("work", FOLDER)
    assert folder is not None
    store.add_messages(folder.id, [_summary(1, SUBJECT, sender=SENDER, flags=frozenset())])
    mail = RecordingMail()
    window = MainWindow(
        [WORK], store, mail, QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    )  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)

    folder_index = window.folder_model.index_of_folder(folder.id)
    window.folder_view.setCurrentIndex(folder_index)
    assert window.message_model.rowCount() == 1
    window.message_view.setCurrentIndex(window.message_model.index(0, Column.SUBJECT))
    message_id = window.message_view.currentIndex().data(MessageRole.ID)
    qtbot.waitUntil(lambda: ("fetch_body", message_id) in mail.calls)
    mail.body_failed.emit(BodyFailed(message_id, f"The server said: {SERVER_TEXT}"))
    mail.failed.emit(
        WorkFailed("work", f"work: the folder {FOLDER} could not be synced: {SERVER_TEXT}", True)
    )
    mail.progressed.emit(SyncProgress("work", FOLDER, 1, 10))

    labels = untrusted_labels(window)
    assert {"headerSubject", "readingPlaceholder", "syncStatus", "errorText"} <= set(labels)
    assert [name for name, label in labels.items() if renders_as_html(label)] == []
    # Zero-width spaces let a long subject wrap anywhere; they are no part of the text.
    assert window.reading_pane.headers.subject.text().replace("\u200b", "") == SUBJECT
    # The address headers are rich text on purpose (names and dimmed addresses), escaped.
    assert "<img" not in window.reading_pane.headers.text("From")

    assert tooltip_shows(folder_index.data(Qt.ItemDataRole.ToolTipRole)).startswith(FOLDER)
    row = window.message_model.index(0, Column.SUBJECT)
    assert tooltip_shows(row.data(Qt.ItemDataRole.ToolTipRole)) == SUBJECT
    sender = window.message_model.index(0, Column.SENDER)
    assert tooltip_shows(sender.data(Qt.ItemDataRole.ToolTipRole)) == SENDER
    assert folder_index.data(FolderRole.FOLDER).name == FOLDER
    window.close()
    store.close()


def test_account_dialogs_show_server_answers_as_text(qtbot: QtBot) -> None:
    search = SearchPage()
    qtbot.addWidget(search)
    search.reset(f"example.org{IMG}")
    search.show_step(Step(Method.AUTOCONFIG, StepState.NOTHING, f"The server said {SERVER_TEXT}"))

    form = AccountForm()
    qtbot.addWidget(form)
    form.show_error(InvalidInput("name", SERVER_TEXT))

    account = Account(name="work", email="a@example.org", imap_host="h", smtp_host="h")
    prompt = PasswordPrompt(
        account,
        "imap",
        f"The server refused the password: {SERVER_TEXT}",
        CredentialStore(MemoryKeyring(), profile_id=PROFILE_ID),
    )
    qtbot.addWidget(prompt)

    now = datetime.now(UTC)
    certificate = ServerCertificate(
        endpoint=Endpoint(Protocol.IMAP, "mail.example.org", 993, Security.SSL),
        der=b"\x30\x00",
        problem=f"It is issued to {SUBJECT}.",
        subject=SUBJECT,
        issuer=SUBJECT,
        names=(SUBJECT,),
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1),
        self_signed=False,
    )
    dialog = CertificateDialog(certificate, None, None)
    qtbot.addWidget(dialog)

    for widget, expected in (
        (search, {"pageHeading", "step-autoconfig"}),
        (form, {"formError"}),
        (prompt, {"reason"}),
        (dialog, {"certificateExplanation"}),
    ):
        labels = untrusted_labels(widget)
        assert expected <= set(labels), widget
        assert [name for name, label in labels.items() if renders_as_html(label)] == [], widget
