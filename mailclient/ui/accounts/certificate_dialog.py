"""The question asked about a server certificate that is not trusted: refuse, or trust it.

Shows whom the certificate names, who issued it, when it is valid and its SHA-256
fingerprint. When the user had trusted a different certificate for the server before, it
says so first. Refusing is the default. CertificatePrompter asks it for the main window
when a connection of an existing account is refused.
"""

from __future__ import annotations

import functools
import html

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from mailclient.accounts.model import Account
from mailclient.accounts.store import AccountStore
from mailclient.core.errors import AccountNotFound
from mailclient.core.tls import certificate_fingerprint, pem_to_der
from mailclient.discovery import Endpoint, Network, Protocol, ServerCertificate, fetch_certificate
from mailclient.workers.tasks import Task

FETCH_TIMEOUT = 20.0

_SERVICE = {Protocol.IMAP: "incoming mail (IMAP)", Protocol.SMTP: "outgoing mail (SMTP)"}


class CertificateDialog(QDialog):
    """``accepted``: trust this exact certificate for this server; ``rejected``: refuse it."""

    def __init__(
        self, certificate: ServerCertificate, pinned_pem: str | None, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("certificateDialog")
        self.certificate = certificate
        endpoint = certificate.endpoint
        previous = certificate_fingerprint(pem_to_der(pinned_pem)) if pinned_pem else None
        self.changed = previous is not None and previous != certificate.fingerprint
        self.setWindowTitle("Server certificate")
        self.setMinimumWidth(600)

        if self.changed:
            heading = f"The certificate of {endpoint.host} has changed"
            explanation = (
                "You trusted a different certificate for this server before. A certificate "
                "changes when it is renewed, but also when someone intercepts the connection. "
                "Ask your provider or administrator whether they changed it, and compare the "
                "new fingerprint with theirs before you trust it."
            )
        elif certificate.problem is None:
            heading = f"{endpoint.host} has a new certificate"
            explanation = (
                "You trusted a different certificate for this server before. The new one is "
                "vouched for by a certificate authority this system trusts, so the usual "
                "checks can be used again."
            )
        else:
            heading = f"mailclient cannot confirm that this is {endpoint.host}"
            explanation = (
                f"{certificate.problem} Anyone can make a certificate like this one. Trust it "
                "only if you know that this server uses it: compare its fingerprint with the "
                "one your provider or administrator gives you."
            )
        icon = QLabel(self)
        pixmap = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        icon.setPixmap(pixmap.pixmap(48, 48))
        self.heading = QLabel(f"<b>{html.escape(heading)}</b>", self)
        self.heading.setObjectName("certificateHeading")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.explanation = QLabel(explanation, self)
        self.explanation.setObjectName("certificateExplanation")
        self.explanation.setTextFormat(Qt.TextFormat.PlainText)  # quotes the TLS library
        self.explanation.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(icon, 0)
        text = QVBoxLayout()
        text.addWidget(self.heading)
        text.addWidget(self.explanation)
        top.addLayout(text, 1)

        details = QFormLayout()
        details.addRow(
            "Server:",
            self._label(
                f"{endpoint.host}, port {endpoint.port}, for {_SERVICE[endpoint.protocol]}"
            ),
        )
        details.addRow("Issued to:", self._label(certificate.subject))
        details.addRow("Valid for:", self._label(", ".join(certificate.names) or "no host names"))
        issuer = "itself (self-signed)" if certificate.self_signed else certificate.issuer
        details.addRow("Issued by:", self._label(issuer))
        validity = f"from {certificate.not_before:%d %B %Y} to {certificate.not_after:%d %B %Y}"
        valid_label = self._label(validity)
        if not certificate.valid_now():
            valid_label.setTextFormat(Qt.TextFormat.RichText)
            valid_label.setText(f"{validity}: <span style='color:#b00020'>not valid now</span>")
        details.addRow("Valid:", valid_label)
        self.fingerprint_label = self._fingerprint(certificate.fingerprint)
        self.fingerprint_label.setObjectName("fingerprint")
        details.addRow("SHA-256:", self.fingerprint_label)
        if self.changed and previous:
            details.addRow("Trusted before:", self._fingerprint(previous))

        buttons = QDialogButtonBox(self)
        self.refuse_button = buttons.addButton("Refuse", QDialogButtonBox.ButtonRole.RejectRole)
        self.refuse_button.setObjectName("refuseCertificate")
        self.trust_button = buttons.addButton(
            "Trust this certificate", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.trust_button.setObjectName("trustCertificate")
        self.refuse_button.setDefault(True)
        self.refuse_button.setFocus()
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(8)
        layout.addLayout(details)
        if not certificate.valid_now():
            self.trust_button.setEnabled(False)
            note = QLabel(
                "It cannot be trusted while it is not valid: ask the server's administrator "
                "to renew it.",
                self,
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(buttons)

    def _label(self, text: str) -> QLabel:
        label = QLabel(text, self)
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        return label

    def _fingerprint(self, fingerprint: str) -> QLabel:
        # 32 pairs: two lines of 16 are easier to compare than one long line.
        pairs = fingerprint.split(":")
        lines = [":".join(pairs[i : i + 16]) for i in range(0, len(pairs), 16)]
        label = QLabel("\n".join(lines), self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label


def _store_pin(accounts: AccountStore, name: str, certificate: ServerCertificate) -> Account:
    endpoint = certificate.endpoint
    # Re-read: the account may have changed while the question was open. If it now uses
    # another server, the answer was about a server it no longer talks to.
    current = accounts.get(name)
    if Endpoint.of(current, endpoint.protocol) != endpoint:
        return current
    pem = certificate.pem if certificate.problem is not None else None
    return accounts.update(name, current.with_pin(endpoint.host, endpoint.port, pem))


class CertificatePrompter(QObject):
    """The main window's entry point for certificates that are not, or no longer, trusted.

    Call certificate_refused() when a connection of an account fails with
    CertificateNotTrusted (CertificateChanged included). The certificate is fetched off the
    GUI thread and shown; if the user trusts it, it is pinned in the account (saved off the
    GUI thread) and ``certificate_trusted(name)`` says when to connect again. One question
    per account at a time; after a refusal, none for that account until ask() is called.
    """

    certificate_trusted = Signal(str)

    def __init__(self, accounts: AccountStore, window: QWidget) -> None:
        super().__init__(window)
        self._accounts = accounts
        self._window = window
        self._busy: set[str] = set()
        self._declined: set[str] = set()
        self.dialogs: dict[str, CertificateDialog] = {}

    def certificate_refused(self, account_name: str, protocol: Protocol) -> bool:
        """Ask about the certificate unless already asking or refused; True if asking."""
        if account_name in self._busy:
            return True
        if account_name in self._declined:
            return False
        return self.ask(account_name, protocol)

    def ask(self, account_name: str, protocol: Protocol) -> bool:
        """Ask because the user wants to, even after an earlier refusal."""
        self._declined.discard(account_name)
        if account_name in self._busy:
            return True
        try:
            account = self._accounts.get(account_name)
        except AccountNotFound:
            return False
        self._busy.add(account_name)
        endpoint = Endpoint.of(account, protocol)
        network = Network(ca_file=account.ca_file, timeout=FETCH_TIMEOUT)
        task = Task(self)
        task.succeeded.connect(lambda certificate: self._show(account, certificate))
        task.failed.connect(lambda _: self._done(account_name, trusted=False))
        task.start(functools.partial(fetch_certificate, endpoint, network))
        return True

    def declined(self, account_name: str) -> bool:
        return account_name in self._declined

    def _show(self, account: Account, certificate: ServerCertificate) -> None:
        endpoint = certificate.endpoint
        pinned = account.pinned_pem(endpoint.host, endpoint.port)
        dialog = CertificateDialog(certificate, pinned, self._window)
        self.dialogs[account.name] = dialog
        dialog.accepted.connect(lambda: self._trust(account.name, certificate))
        dialog.rejected.connect(lambda: self._done(account.name, trusted=False))
        dialog.open()

    def _trust(self, name: str, certificate: ServerCertificate) -> None:
        task = Task(self)
        task.succeeded.connect(lambda _: self._done(name, trusted=True))
        task.failed.connect(lambda _: self._done(name, trusted=False))
        task.start(functools.partial(_store_pin, self._accounts, name, certificate))

    def _done(self, name: str, *, trusted: bool) -> None:
        self._busy.discard(name)
        dialog = self.dialogs.pop(name, None)
        if dialog is not None:
            dialog.deleteLater()
        if trusted:
            self.certificate_trusted.emit(name)
        else:
            self._declined.add(name)
