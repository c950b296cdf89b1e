"""Opening compose windows (new, reply, forward, mailto:, drafts) and wiring them to the outbox.

One manager per application. It knows the accounts (for From, signatures and our own
addresses), shares one completion list among all windows (read from the store off the
GUI thread), and hands what windows produce to the OutboxWorker.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, QStringListModel, Qt, QUrl, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from mailclient.accounts.identities import Identity, choose_identity, identities_of
from mailclient.accounts.model import Account
from mailclient.core.draft import Draft
from mailclient.core.errors import MailclientError
from mailclient.mime.mailto import parse_mailto
from mailclient.mime.reply import (
    make_forward,
    make_forward_as_attachment,
    make_reply,
    new_body,
    original_from_raw,
)
from mailclient.store.addresses import completions
from mailclient.store.contacts import CONTACTS_FILE
from mailclient.store.drafts import DraftStoreError
from mailclient.ui.compose.address_book import AddressBookWindow, Contacts
from mailclient.ui.compose.spelling import Spelling
from mailclient.ui.compose.window import ComposeWindow
from mailclient.workers.sending import OutboxWorker, SendProblem
from mailclient.workers.tasks import error_text, run_task

log = logging.getLogger(__name__)

# The completion list is read again when a window opens and it is older than this.
COMPLETION_REFRESH_SECONDS = 300.0


class ComposeManager(QObject):
    """Creates compose windows and routes their drafts to the outbox worker."""

    notice = Signal(str)  # something the user should know, for the main window to show

    def __init__(
        self,
        accounts: list[Account],
        outbox: OutboxWorker,
        store_path: Path,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._accounts = list(accounts)
        self._identities = identities_of(self._accounts)
        self.outbox = outbox
        self._store_path = store_path
        self._spelling: Spelling | None = None
        self.contacts = Contacts(store_path.parent / CONTACTS_FILE, self)
        # The people just added or edited are offered at once.
        self.contacts.changed.connect(self.refresh_completions)
        self._address_book: AddressBookWindow | None = None
        # Seconds a sent message waits for Undo (Preferences; the main window keeps it set).
        self.undo_send_seconds = 0
        self.windows: list[ComposeWindow] = []
        self.completions = QStringListModel(self)
        self._completions_read = 0.0
        outbox.send_failed.connect(self._send_failed)
        outbox.draft_save_failed.connect(self._draft_save_failed)
        outbox.edit_ready.connect(lambda draft: self.open_draft(draft, unsaved=True))

    @property
    def spelling(self) -> Spelling:
        """The spelling dictionaries, looked for when the first compose window opens: a
        session that only reads mail does not load Enchant."""
        if self._spelling is None:
            self._spelling = Spelling(self._store_path.parent, self)
        return self._spelling

    # -- accounts -----------------------------------------------------------------------------

    def set_accounts(self, accounts: list[Account]) -> None:
        self._accounts = list(accounts)
        self._identities = identities_of(self._accounts)

    def account_renamed(self, old: str, new: str) -> None:
        """The open windows of account ``old`` save and send as ``new`` from now on (its
        drafts and outbox were renamed with it; set_accounts() follows)."""
        for window in self.windows:
            window.account_renamed(old, new)

    def own_addresses(self) -> list[str]:
        return [i.address for i in self._identities]

    def _account(self, name: str | None) -> Account | None:
        return next((a for a in self._accounts if a.name == name), None) or (
            self._accounts[0] if self._accounts else None
        )

    # -- opening windows ----------------------------------------------------------------------

    def new_message(
        self, account: str | None = None, *, to: str = "", parent: QWidget | None = None
    ) -> ComposeWindow | None:
        chosen = self._account(account)
        if chosen is None:
            self._no_account(parent)
            return None
        draft = Draft(
            account=chosen.name, sender=chosen.sender, to=to, body=new_body(chosen.signature)
        )
        return self.open_draft(draft)

    def open_mailto(self, url: str, parent: QWidget | None = None) -> ComposeWindow | None:
        """A compose window filled from a mailto: link (RFC 6068)."""
        try:
            fields = parse_mailto(url)
        except MailclientError as error:
            QMessageBox.warning(parent, "Cannot open the link", str(error))
            return None
        chosen = self._account(None)
        if chosen is None:
            self._no_account(parent)
            return None
        body = fields.body
        signature = new_body(chosen.signature)
        draft = Draft(
            account=chosen.name,
            sender=chosen.sender,
            to=fields.to,
            cc=fields.cc,
            bcc=fields.bcc,
            subject=fields.subject,
            body=body + signature if body else signature,
            in_reply_to=fields.in_reply_to,
            references=(fields.in_reply_to,) if fields.in_reply_to else (),
        )
        return self.open_draft(draft)

    @Slot(QUrl)
    def open_mailto_url(self, url: QUrl) -> None:
        """For QDesktopServices: a mailto: link clicked in a message opens a compose window."""
        self.open_mailto(bytes(url.toEncoded().data()).decode("ascii"))

    def reply(self, account: str, raw: bytes, *, reply_all: bool = False) -> None:
        """Open a reply to ``raw`` (a message of ``account``); parsed off the GUI thread."""
        identities = [i for i in self._identities if i.account == account] or self._identities
        # The replying account's addresses only: a message from another of one's accounts
        # is answered to its sender, as Thunderbird does.
        own = [i.address for i in identities]

        def job() -> Draft:
            original = original_from_raw(raw)
            identity = choose_identity(identities, account, f"{original.to}, {original.cc}")
            return make_reply(
                original,
                account=identity.account,
                sender=identity.sender,
                own_addresses=own,
                reply_all=reply_all,
                signature=identity.signature,
            )

        run_task(self, job, self.open_draft, self._could_not_open)

    def forward(self, account: str, raw: bytes, *, as_attachment: bool = False) -> None:
        """Open a forward of ``raw``: inline with its attachments, or the whole message
        attached (``as_attachment``); parsed off the GUI thread."""
        identities = [i for i in self._identities if i.account == account] or self._identities

        def job() -> Draft:
            original = original_from_raw(raw, with_attachments=not as_attachment)
            identity = choose_identity(identities, account, f"{original.to}, {original.cc}")
            if as_attachment:
                return make_forward_as_attachment(
                    original,
                    raw,
                    account=identity.account,
                    sender=identity.sender,
                    signature=identity.signature,
                )
            return make_forward(
                original,
                account=identity.account,
                sender=identity.sender,
                signature=identity.signature,
            )

        run_task(self, job, self.open_draft, self._could_not_open)

    def open_server_draft(self, account: str, raw: bytes) -> None:
        """Edit a message of the Drafts folder; saving or sending replaces it there."""
        from mailclient.mime.drafts import draft_from_message

        run_task(
            self,
            lambda: draft_from_message(raw, account),
            lambda draft: self.open_draft(draft, on_server=True),
            self._could_not_open,
        )

    def open_draft(
        self, draft: Draft, *, unsaved: bool = False, on_server: bool = False
    ) -> ComposeWindow:
        """A window for ``draft``; an open window of the same draft is raised instead."""
        for window in self.windows:
            if window.key == draft.key:
                window.raise_()
                window.activateWindow()
                return window
        window = ComposeWindow(
            draft,
            self._identities or [Identity(draft.account, draft.sender, draft.sender)],
            size_limit=self.outbox.limits.get,
            unsaved=unsaved,
            on_server=on_server,
            spelling=self.spelling,
        )
        window.set_completion_model(self.completions)
        window.autosave_requested.connect(self.outbox.save_local)
        window.save_requested.connect(
            lambda saved, closing: self.outbox.save_to_server(saved, keep_local=not closing)
        )
        window.discarded.connect(self.outbox.discard)
        window.send_requested.connect(lambda sent, w=window: self._send(sent, w.on_server))
        window.send_later_requested.connect(
            lambda sent, when, w=window: self.outbox.send(
                sent, on_server=w.on_server, send_at=when.timestamp(), scheduled=True
            )
        )
        window.closed.connect(lambda w=window: self._closed(w))
        self.windows.append(window)
        window.show()
        window.raise_()
        window.activateWindow()
        self._refresh_completions()
        return window

    def _send(self, draft: Draft, on_server: bool) -> None:
        """Into the outbox; held back for the undo delay, when there is one."""
        delay = self.undo_send_seconds
        self.outbox.send(draft, on_server=on_server, send_at=time.time() + delay if delay else None)

    def _closed(self, window: ComposeWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def _could_not_open(self, error: Exception) -> None:
        self.notice.emit(f"The compose window could not be opened: {error_text(error)}")

    def _no_account(self, parent: QWidget | None) -> None:
        QMessageBox.information(
            parent, "No account", "Add an account first: there is no address to send from."
        )

    # -- the address book ------------------------------------------------------------------------

    def open_address_book(self, parent: QWidget | None = None) -> AddressBookWindow:
        """The address book window, opened or raised."""
        book = self._address_book
        if book is None:
            book = AddressBookWindow(self.contacts, self._store_path, self.own_addresses(), parent)
            book.destroyed.connect(lambda: setattr(self, "_address_book", None))
            book.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self._address_book = book
        book.show()
        book.raise_()
        book.activateWindow()
        return book

    # -- completion -----------------------------------------------------------------------------

    def refresh_completions(self) -> None:
        """Read the people to complete again now."""
        self._completions_read = 0.0
        self._refresh_completions()

    def _refresh_completions(self) -> None:
        now = time.monotonic()
        if self._completions_read and now - self._completions_read < COMPLETION_REFRESH_SECONDS:
            return
        self._completions_read = now
        path, own = self._store_path, self.own_addresses()
        contacts_path = self.contacts.path
        run_task(
            self,
            lambda: completions(path, contacts_path, own),
            self.completions.setStringList,
            lambda error: log.warning("Address completion unavailable: %s", error_text(error)),
        )

    # -- what the outbox worker reports -------------------------------------------------------

    def _send_failed(self, problem: SendProblem) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Not sent",
            f"The message {problem.subject or '(no subject)'!r} was not sent: {problem.message}\n\n"
            "It is kept as a draft.",
        )
        edit = box.addButton("Open Draft", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(edit)
        box.exec()
        if box.clickedButton() is edit:
            self.open_local_draft(problem.key)

    def open_local_draft(self, key: str) -> ComposeWindow | None:
        try:
            saved = self.outbox.drafts.load(key)
        except DraftStoreError as error:
            self.notice.emit(str(error))
            return None
        return self.open_draft(saved.draft, unsaved=True)

    def _draft_save_failed(self, key: str, message: str) -> None:
        for window in self.windows:
            if window.key == key:
                window.show_problem(message)
                return
        self.notice.emit(message)

    # -- drafts left by a crash -----------------------------------------------------------------

    def offer_recovered(self, parent: QWidget | None = None) -> list[ComposeWindow]:
        """Offer the drafts a previous run left on this computer; returns the windows opened."""
        saved = self.outbox.drafts.all()
        if not saved:
            return []
        lines = []
        for item in saved[:8]:
            when = item.saved.astimezone().strftime("%d %b %H:%M")
            lines.append(f"• {item.draft.subject or '(no subject)'} — {when}")
        if len(saved) > 8:
            lines.append(f"• … and {len(saved) - 8} more")
        count = len(saved)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsent drafts",
            f"{count} unsent draft{'s were' if count != 1 else ' was'} kept from the last time "
            "mailclient ran:\n\n" + "\n".join(lines),
            parent=parent,
        )
        box.setObjectName("recoveredDrafts")
        open_button = box.addButton("Open", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(open_button)
        box.exec()
        if box.clickedButton() is discard:
            for item in saved:
                self.outbox.discard(item.draft)
            return []
        if box.clickedButton() is not open_button:
            return []
        windows = []
        for item in saved:
            window = self.open_draft(item.draft, unsaved=True)
            if item.upload_error:
                window.show_problem(item.upload_error)
            windows.append(window)
        return windows

    def close_all(self) -> bool:
        """Close every compose window (each asks about unsaved text); False if one stayed."""
        return all(window.close() for window in list(self.windows))
