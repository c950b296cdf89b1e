"""The question asked about a server certificate that is not trusted: refuse, or trust it.

Shows whom the certificate names, who issued it, when it is valid and its SHA-256
fingerprint. When the user had trusted a different certificate for the server before, it
says so first. Refusing is the default.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
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

from mailclient.core.tls import certificate_fingerprint, pem_to_der
from mailclient.discovery import Protocol, ServerCertificate

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
        title = QLabel(f"<b>{html.escape(heading)}</b>", self)
        title.setObjectName("certificateHeading")
        title.setWordWrap(True)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        self.explanation = QLabel(explanation, self)
        self.explanation.setObjectName("certificateExplanation")
        self.explanation.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(icon, 0)
        text = QVBoxLayout()
        text.addWidget(title)
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
        label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label
