"""What ties the main window to its profile and to the desktop around it.

Desktop builds, for one window: the account dialogs and the answers to servers that
refuse (AccountsController), the Preferences (read from the profile's config, applied to
the window and the workers, saved on a worker thread), new-mail notifications and the
tray icon with the unread count. It lives as long as the window and stops its threads
when the window closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QThreadPool
from PySide6.QtWidgets import QWidget

from mailclient.accounts.preferences import Preferences, load_preferences, save_preferences
from mailclient.app.services import Services
from mailclient.store.mail import MailStore
from mailclient.ui.accounts.controller import AccountsController
from mailclient.ui.mailbox.folder_model import FolderRole
from mailclient.ui.widgets.error_bar import ShownError
from mailclient.ui.window.main_window import MainWindow
from mailclient.ui.window.notifications import NewMailNotifier, Opening
from mailclient.ui.window.preferences import SettingsDialog
from mailclient.ui.window.tray import UnreadTray
from mailclient.workers.mail import MailWorkers
from mailclient.workers.notification_bus import NotificationBus
from mailclient.workers.tasks import Task, error_text

if TYPE_CHECKING:
    from mailclient.discovery import Network

STOP_WAIT_MS = 5000


class Desktop(QObject):
    """The window's accounts, preferences, notifications and tray icon."""

    def __init__(
        self,
        window: MainWindow,
        services: Services,
        mail: MailWorkers | None,
        store: MailStore,
        *,
        bus_address: str = "SESSION",
        network: Network | None = None,
        extra_provider_files: Sequence[Path] = (),
    ) -> None:
        """``bus_address``: where the notification service is ("SESSION": the desktop's)."""
        super().__init__(window)
        self.setObjectName("desktop")
        self._window = window
        self._services = services
        self.mail = mail
        self.preferences = load_preferences(services.accounts)
        self.accounts = AccountsController(
            window,
            services.accounts,
            services.sign_in,
            mail,
            services.profile.store_path,
            network=network,
            extra_provider_files=extra_provider_files,
        )
        self.tray = UnreadTray(window)
        self.bus = NotificationBus(bus_address, self)
        self.notifier = NewMailNotifier(store, self.bus, self.tray, self)
        self.settings_dialog: SettingsDialog | None = None
        # One at a time, in order: the last preferences chosen are the ones kept.
        self._save_pool = QThreadPool(self)
        self._save_pool.setMaxThreadCount(1)
        self._stopped = False

        window.preferences_requested.connect(self.open_settings)
        window.preferences_changed.connect(self.choose_preferences)
        window.watcher.changed.connect(lambda _changes: self.notifier.check_soon())
        if mail is not None:
            mail.synced.connect(lambda _event: self.notifier.check())
        self.notifier.open_requested.connect(self.open)
        window.folder_model.modelReset.connect(self._update_unread)
        window.folder_model.dataChanged.connect(lambda *_: self._update_unread())
        self.tray.show_window_requested.connect(window.bring_to_front)
        self.tray.get_mail_requested.connect(window.get_mail)
        self.tray.quit_requested.connect(window.close)
        window.installEventFilter(self)
        self.apply_preferences(self.preferences)
        self._update_unread()

    @staticmethod
    def of(window: QWidget) -> Desktop:
        found = window.findChild(Desktop, "desktop")
        assert isinstance(found, Desktop), "the window was built without its Desktop"
        return found

    def start(self) -> None:
        """After the window is shown: a first run opens the Add account dialog over it."""
        if not self._services.accounts.accounts():
            self.accounts.add_account()

    # -- preferences ------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            return self.settings_dialog
        dialog = SettingsDialog(self.preferences, UnreadTray.available(), self._window)
        dialog.preferences_chosen.connect(self.choose_preferences)
        dialog.finished.connect(lambda _result: self._settings_closed(dialog))
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _settings_closed(self, dialog: SettingsDialog) -> None:
        if self.settings_dialog is dialog:
            self.settings_dialog = None
        dialog.deleteLater()

    def apply_preferences(self, preferences: Preferences) -> None:
        self.preferences = preferences
        self._window.apply_preferences(preferences)
        if self.mail is not None:
            self.mail.set_check_interval(preferences.check_interval_minutes)
        self.notifier.set_enabled(preferences.notify_new_mail)
        self.tray.set_wanted(preferences.tray_icon)

    def choose_preferences(self, preferences: Preferences) -> Task:
        """The user chose ``preferences``: use them now and save them in the profile."""
        self.apply_preferences(preferences)
        accounts = self._services.accounts
        task = Task(self)
        task.failed.connect(
            lambda error: self._window.error_bar.show_error(
                ShownError(f"The preferences were not saved. {error_text(error)}")
            )
        )
        task.succeeded.connect(task.deleteLater)
        task.failed.connect(task.deleteLater)
        return task.start(lambda: save_preferences(accounts, preferences), self._save_pool)

    # -- new mail and the tray --------------------------------------------------------------

    def open(self, opening: Opening) -> None:
        """Show what a notification was about."""
        self._window.bring_to_front()
        if opening.message_id is None or not self._window.show_message(opening.message_id):
            self._window.show_inboxes()

    def _update_unread(self) -> None:
        index = self._window.folder_model.index_of_all_inboxes()
        unread = index.data(FolderRole.UNREAD) if index.isValid() else 0
        self.tray.set_unread(unread if isinstance(unread, int) else 0)

    # -- life cycle -------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Close:
            self.stop()  # the window always closes (and the application ends with it)
        return False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.tray.set_wanted(False)
        self.bus.stop()
        self.bus.wait(STOP_WAIT_MS)
        self._save_pool.waitForDone(STOP_WAIT_MS)
