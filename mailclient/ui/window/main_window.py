"""The main window: folders on the left, the message list above the reading pane.

Everything shown comes from the local store, read on this thread in small pieces (ordered
ids, a page of summaries); bodies are read and parsed on a pool thread. Network work is
asked of the mail hub (a MailHub: the MailWorkers) and its results come back as signals;
the store's change counter (StoreWatcher) tells the models when to re-read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSettings, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from mailclient import APP_NAME
from mailclient.accounts.model import Account
from mailclient.accounts.preferences import Preferences
from mailclient.core.models import Folder, SpecialUse
from mailclient.store.mail import MailStore, StoreChanges
from mailclient.ui.mailbox.folder_model import FolderRole, FolderTreeModel, NodeKind
from mailclient.ui.mailbox.folder_pane import FolderDelegate
from mailclient.ui.mailbox.message_model import Column, MessageListModel
from mailclient.ui.mailbox.message_view import MessageListView
from mailclient.ui.mailbox.reading_pane import ReadingPane
from mailclient.ui.widgets.error_bar import ErrorBar, ShownError
from mailclient.ui.window.actions import WindowActions
from mailclient.ui.window.folder_actions import FolderActions
from mailclient.ui.window.mail_hub import MailHub
from mailclient.ui.window.message_actions import MessageActions
from mailclient.ui.window.message_list import MessageList
from mailclient.ui.window.message_windows import MessageWindows
from mailclient.ui.window.search import SearchAndFilter
from mailclient.ui.window.state import SETTINGS_FILE, WindowState, window_settings
from mailclient.ui.window.status import SyncStatus
from mailclient.ui.window.threads import ThreadsView
from mailclient.ui.window.undo import UndoHistory
from mailclient.ui.window.welcome import WelcomePage
from mailclient.ui.window.writing import Writing
from mailclient.workers.store_watcher import StoreWatcher

if TYPE_CHECKING:
    from mailclient.ui.mailbox.message_window import MessageWindow

__all__ = ["SETTINGS_FILE", "MainWindow", "window_settings"]

# More rows than the tallest screen shows.
FIRST_SCREEN_ROWS = 256


class MainWindow(
    WindowActions,
    WindowState,
    SyncStatus,
    MessageList,
    MessageWindows,
    SearchAndFilter,
    ThreadsView,
    MessageActions,
    UndoHistory,
    FolderActions,
    Writing,
    QMainWindow,
):
    """The window people spend their day in.

    Built here: the pages, the panes and how they are wired. Each part of what the window
    does lives in a module of its own beside this one, as a base class of this one.
    """

    add_account_requested = Signal()
    manage_accounts_requested = Signal()
    preferences_requested = Signal()
    # The user changed a preference from the View menu (a Preferences): save it.
    preferences_changed = Signal(object)
    # Until apply_preferences(): the defaults (frozen, so sharing one is safe).
    _preferences = Preferences()

    def __init__(
        self,
        accounts: list[Account],
        store: MailStore,
        mail: MailHub,
        settings: QSettings,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_NAME)
        self.setObjectName("mainWindow")
        self._accounts = list(accounts)
        self._store = store
        self._mail = mail
        self._settings = settings
        # Reading and parsing bodies; two threads, so a huge message does not hold up the next.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._remote_allowed: set[int] = set()
        self._message_windows: list[MessageWindow] = []
        self._shown_folder_key: str = ""
        self._current_before_reset: int | None = None
        self._wanted_message: int | None = None  # chosen when the list on its way lists it
        self._wanted_takes_focus = False  # and the list takes the keyboard then
        self.compose = None  # attach_compose() sets these
        self.outbox_view = None
        self.compose_actions: list[QAction] = []

        self.folder_model = FolderTreeModel(store, self._accounts, self)
        self.message_model = MessageListModel(store, self)
        self.watcher = StoreWatcher(store, parent=self)

        self._build_central()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_writing_actions()
        self._build_status_bar()
        self._connect()
        self._restore_state()
        self._show_accounts_state()

        # Flag changes asked of the workers and not yet in the store: how many, and the
        # flags the message has after them (MessageActions._as_asked).
        self._flags_asked: dict[int, tuple[int, frozenset[str]]] = {}
        self._mark_read_timer = QTimer(self)
        self._mark_read_timer.setSingleShot(True)
        self._mark_read_timer.timeout.connect(self._mark_current_read)
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.setInterval(40)  # holding Down: only the message it stops on loads
        self._show_timer.timeout.connect(self._show_current_message)

    # -- construction -----------------------------------------------------------------------

    def _build_central(self) -> None:
        self.pages = QStackedWidget(self)
        self._welcome: WelcomePage | None = None

        mail_page = QWidget(self.pages)
        mail_page.setObjectName("mailPage")
        page_layout = QVBoxLayout(mail_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(0)
        self.error_bar = ErrorBar(mail_page)
        page_layout.addWidget(self.error_bar)
        self._page_layout = page_layout

        self.splitter = QSplitter(Qt.Orientation.Horizontal, mail_page)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        page_layout.addWidget(self.splitter, 1)

        self.folder_view = QTreeView(self.splitter)
        self.folder_view.setObjectName("folderTree")
        self.folder_view.setAccessibleName("Folders")
        self.folder_view.setModel(self.folder_model)
        self.folder_view.setHeaderHidden(True)
        self.folder_view.setUniformRowHeights(True)
        self.folder_view.setIconSize(QSize(18, 18))
        self.folder_view.setAcceptDrops(True)
        self.folder_view.setDropIndicatorShown(True)
        # Messages are dropped here; folders are dragged onto others to move them.
        self.folder_view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.folder_view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.folder_view.setMinimumWidth(160)
        self.folder_view.setFrameShape(QFrame.Shape.NoFrame)
        self.folder_view.setItemDelegate(FolderDelegate(self.folder_view))
        self.folder_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical, self.splitter)
        self.right_splitter.setObjectName("listSplitter")
        self.right_splitter.setChildrenCollapsible(False)

        list_area = QWidget(self.right_splitter)
        list_layout = QVBoxLayout(list_area)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(0)
        filter_row = QHBoxLayout()
        filter_row.setContentsMargins(6, 4, 6, 4)
        self.filter_edit = QLineEdit(list_area)
        self.filter_edit.setObjectName("quickFilter")
        self.filter_edit.setAccessibleName("Quick filter")
        self.filter_edit.setPlaceholderText(
            "Filter this folder: words, from:, has:attachment, is:unread…  (Ctrl+Shift+K)"
        )
        self.filter_edit.setClearButtonEnabled(True)
        filter_row.addWidget(self.filter_edit, 3)
        self.search_edit = QLineEdit(list_area)
        self.search_edit.setObjectName("globalSearch")
        self.search_edit.setAccessibleName("Search all mail")
        self.search_edit.setPlaceholderText("Search all mail  (Ctrl+K)")
        self.search_edit.setClearButtonEnabled(True)
        filter_row.addWidget(self.search_edit, 2)
        self.count_label = QLabel(list_area)
        self.count_label.setObjectName("messageCount")
        self.count_label.setStyleSheet("color: #666;")
        filter_row.addWidget(self.count_label)
        list_layout.addLayout(filter_row)

        self.message_view = MessageListView(list_area)
        # A viewport made here, as Qt makes its own: PySide6 names a widget that Qt made
        # only after making the Python class of every QWidget subclass (17 ms), and the
        # first paint waited for that (open_window() watches the viewport for it).
        viewport = QWidget()
        viewport.setObjectName("qt_scrollarea_viewport")
        viewport.setBackgroundRole(QPalette.ColorRole.Base)
        viewport.setAutoFillBackground(True)
        self.message_view.setViewport(viewport)
        self.message_view.setObjectName("messageList")
        self.message_view.setAccessibleName("Messages")
        self.message_view.setModel(self.message_model)
        self.message_view.setDragEnabled(True)
        self.message_view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.message_view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.message_view.setSortingEnabled(True)
        self.message_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.message_view.header()
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        header.setMinimumSectionSize(24)
        for column in (Column.FLAG, Column.ATTACHMENT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, 26)
        header.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(Column.SENDER, 200)
        header.resizeSection(Column.DATE, 140)
        header.resizeSection(Column.SIZE, 70)
        header.resizeSection(Column.ACCOUNT, 110)
        header.setSortIndicator(Column.DATE, Qt.SortOrder.DescendingOrder)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        for column in (Column.FOLDER, Column.ACCOUNT):
            header.resizeSection(column, 120)
            self.message_view.setColumnHidden(column, True)  # shown for search results
        list_layout.addWidget(self.message_view, 1)

        self.reading_pane = ReadingPane(self._pool, self.right_splitter)
        self.right_splitter.addWidget(list_area)
        self.right_splitter.addWidget(self.reading_pane)
        self.right_splitter.setStretchFactor(0, 2)
        self.right_splitter.setStretchFactor(1, 3)
        self.splitter.addWidget(self.folder_view)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 1050])
        self.right_splitter.setSizes([330, 410])

        self.pages.addWidget(mail_page)
        self.mail_page = mail_page
        self.setCentralWidget(self.pages)

    @property
    def welcome(self) -> WelcomePage:
        """The first-run page, built when first shown: a window with accounts paints
        sooner without it (its fonts, its default button)."""
        if self._welcome is None:
            self._welcome = WelcomePage(self.pages)
            self._welcome.add_account_clicked.connect(self.request_add_account)
            self.pages.addWidget(self._welcome)
        return self._welcome

    def set_mark_read_delay(self, delay_ms: int) -> None:
        """0: at once; -1: never; else after that many milliseconds."""
        self._user_changed(replace(self._preferences, mark_read_delay_ms=delay_ms))

    def _connect(self) -> None:
        self.folder_view.selectionModel().currentChanged.connect(self._folder_changed)
        self.folder_model.modelAboutToBeReset.connect(self._remember_tree_state)
        self.folder_model.modelReset.connect(self._restore_tree_state)
        self.folder_model.messages_dropped.connect(self.move_messages)
        self.folder_model.folder_dropped.connect(self.move_folder)
        self.folder_view.customContextMenuRequested.connect(self._folder_context_menu)
        self.message_view.selectionModel().currentRowChanged.connect(self._message_changed)
        self.message_view.selectionModel().selectionChanged.connect(self._update_actions)
        self.message_view.doubleClicked.connect(lambda *_: self.open_in_window())
        self.message_view.customContextMenuRequested.connect(self._context_menu)
        self.message_view.header().sortIndicatorChanged.connect(lambda *_: self._save_sort())
        self.message_model.modelAboutToBeReset.connect(self._remember_current)
        self.message_model.modelReset.connect(self._list_reset)
        self.message_model.rowsInserted.connect(self._update_count)
        for listed in (self.message_model.modelReset, self.message_model.rowsInserted):
            listed.connect(self._choose_wanted)
        self.message_model.loaded.connect(self._wanted_not_listed)
        self.message_model.load_failed.connect(self._forget_wanted)
        self.message_view.used.connect(self._forget_wanted)
        self.message_model.rowsRemoved.connect(self._update_count)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(
            lambda: self.message_model.set_quick_filter(self.filter_edit.text())
        )
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._run_search)
        self.search_edit.textChanged.connect(lambda _: self._search_timer.start())
        self.search_edit.returnPressed.connect(self._run_search)
        self.reading_pane.link_hovered.connect(self._link_hovered)
        self.reading_pane.load_remote_requested.connect(self.load_remote_content)
        self.reading_pane.attachment_saved.connect(
            lambda text: self.statusBar().showMessage(text, 5000)
        )
        self.reading_pane.attachment_failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text))
        )
        self.watcher.changed.connect(self._store_changed)
        self.watcher.failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text, key="store"))
        )
        self.message_model.load_failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text, key="store"))
        )
        self._mail.progressed.connect(self._sync_progressed)
        self._mail.synced.connect(self._sync_finished)
        self._mail.failed.connect(self._work_failed)
        self._mail.body_fetched.connect(self._body_fetched)
        self._mail.body_failed.connect(self._body_failed)
        self._mail.committed.connect(self.watcher.poke)
        self._mail.flags_written.connect(self._flags_written)
        self._update_actions()

    # -- preferences (kept in the profile's config by the caller) ---------------------------

    def mark_read_delay_ms(self) -> int:
        """How long a shown message waits before it is marked read; -1: never."""
        return self._preferences.mark_read_delay_ms

    def preferences(self) -> Preferences:
        return self._preferences

    def apply_preferences(self, preferences: Preferences) -> None:
        """Show and use ``preferences`` (from the config or the Preferences dialog)."""
        plain_changed = preferences.prefer_plain_text != self._preferences.prefer_plain_text
        self._preferences = preferences
        if self.compose is not None:
            self.compose.undo_send_seconds = preferences.undo_send_seconds
        for action in self._mark_read_group.actions():
            action.setChecked(action.data() == preferences.mark_read_delay_ms)
        self.prefer_plain_action.blockSignals(True)
        self.prefer_plain_action.setChecked(preferences.prefer_plain_text)
        self.prefer_plain_action.blockSignals(False)
        if plain_changed and self.reading_pane.message_id is not None:
            self._show_current_message()

    def _user_changed(self, preferences: Preferences) -> None:
        self.apply_preferences(preferences)
        self.preferences_changed.emit(preferences)

    def set_prefer_plain(self, checked: bool) -> None:
        self._user_changed(replace(self._preferences, prefer_plain_text=checked))

    def show_about(self) -> None:
        from mailclient.ui.window.diagnostics import AboutDialog

        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- opened from outside (a notification, the tray) -------------------------------------

    def bring_to_front(self) -> None:
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

    def want_message(self, message_id: int, takes_focus: bool) -> None:
        """Choose ``message_id`` once the list on its way lists it (forgotten if the whole
        list comes without it, or the person chooses in the list first)."""
        self._wanted_message = message_id
        self._wanted_takes_focus = takes_focus

    def show_message(self, message_id: int) -> bool:
        """Show the folder of the message with the message selected; False if it is gone."""
        summary = self._store.summary(message_id)
        if summary is None:
            return False
        index = self.folder_model.index_of_folder(summary.folder_id)
        if not index.isValid():
            return False
        self.folder_view.setCurrentIndex(index)
        row = self.message_model.row_of(message_id)
        if row is None and self.message_model.is_loading():
            # All but the first screenful (all of a threaded list) comes from a thread:
            # the message is chosen when it is listed.
            self.want_message(message_id, takes_focus=True)
            return True
        if row is None:
            # Stored after the list last looked (the store watcher polls).
            self.message_model.refresh()
            row = self.message_model.row_of(message_id)
        if row is None:
            return False
        self._forget_wanted()
        self.message_view.setFocus()
        self.message_view.setCurrentIndex(self.message_model.index(row, Column.SUBJECT))
        self.message_view.scrollTo(self.message_view.currentIndex())
        return True

    def show_inboxes(self) -> None:
        """Show every account's inbox together (the newest mail first, by default)."""
        index = self.folder_model.index_of_all_inboxes()
        if index.isValid():
            self.folder_view.setCurrentIndex(index)

    # -- accounts ---------------------------------------------------------------------------

    def set_accounts(self, accounts: list[Account]) -> None:
        self._accounts = list(accounts)
        self.folder_model.set_accounts(self._accounts)
        if self.compose is not None:
            self.compose.set_accounts(self._accounts)
        self._show_accounts_state()

    def _show_accounts_state(self) -> None:
        if not self._accounts:
            self.pages.setCurrentWidget(self.welcome)
            for action in (self.get_mail_action, *self.message_actions):
                action.setEnabled(False)
            return
        self.pages.setCurrentWidget(self.mail_page)
        self.get_mail_action.setEnabled(True)
        self._restore_tree_state()
        if not self.folder_view.currentIndex().isValid():
            self._select_folder_key(str(self._settings.value("folders/current", "")))
            # Once the window is built and the folder's list read.
            QTimer.singleShot(0, self, self._restore_current_message)

    def request_add_account(self) -> None:
        """First run, or File ▸ Add Account: the account dialog answers this signal."""
        self.add_account_requested.emit()

    def _folder_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._forget_wanted()
        if not current.isValid():
            return
        if not current.flags() & Qt.ItemFlag.ItemIsSelectable:
            return  # an account or a container: keep showing what was shown
        if self.outbox_view is not None:
            outbox = current.data(FolderRole.KIND) is NodeKind.OUTBOX
            if outbox == self.outbox_view.isHidden():
                tree, *rest = self.splitter.sizes()
                self.outbox_view.setVisible(outbox)
                self.right_splitter.setVisible(not outbox)
                # The page shown takes the room of the one hidden.
                room = sum(rest)
                self.splitter.setSizes([tree, 0, room] if outbox else [tree, room, 0])
        ids = current.data(FolderRole.FOLDER_IDS) or []
        self._shown_folder_key = self._node_key(current)
        self._leave_search_mode()
        threaded = self._settings.value(f"threads/{self._shown_folder_key}", False, type=bool)
        self.threads_action.blockSignals(True)
        self.threads_action.setChecked(bool(threaded))
        self.threads_action.blockSignals(False)
        self.message_model.set_threaded(bool(threaded))
        self.message_view.setSortingEnabled(not threaded)
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self.message_model.set_quick_filter("")
        folder = current.data(FolderRole.FOLDER)
        self.message_model.set_show_recipients(
            isinstance(folder, Folder)
            and folder.special_use in (SpecialUse.SENT, SpecialUse.DRAFTS)
        )
        # Its first screenful at once, the rest from a thread: a million ids take a third
        # of a second to read (show_message() chooses its message once it is listed).
        self.message_model.show_folders(ids, FIRST_SCREEN_ROWS)
        # The Account column where the folders of several accounts are listed together.
        self.message_view.header().setSectionHidden(
            Column.ACCOUNT, current.data(FolderRole.KIND) is not NodeKind.ALL_INBOXES
        )
        title = current.data()
        self.setWindowTitle(f"{title} — {APP_NAME}")

    # -- the network ---------------------------------------------------------------------------

    def get_mail(self) -> None:
        self._mail.sync_all()

    def _store_changed(self, changes: StoreChanges) -> None:
        self.folder_model.reload()
        if self._searching:
            # A search's results are those of every folder, a new one's too; not those of
            # the folder chosen before it.
            ids = [f.id for f in self._store.folders()] if changes.folder_list_changed else None
        else:
            current = self.folder_view.currentIndex()
            ids = current.data(FolderRole.FOLDER_IDS) if current.isValid() else None
        if ids and sorted(ids) != sorted(self.message_model.folder_ids):
            # The list now stands for other folders ("All inboxes" after the first sync
            # found the inboxes, a folder new on the server during a search): show those.
            self.message_model.show_folders(ids)
            return
        self.message_model.refresh(None if changes.folder_list_changed else changes.folder_ids)

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """After the window is shown with cached mail: watch the store, start the network."""
        self.watcher.start()
        self._mail.start()

    def closeEvent(self, event: QCloseEvent) -> None:
        # Compose windows close first, each asking about unsaved text; Cancel keeps all open.
        if self.compose is not None and not self.compose.close_all():
            event.ignore()
            return
        self.save_state()
        self.hide()  # off the screen at once, while the threads below are stopped
        self._show_timer.stop()
        self._mark_read_timer.stop()
        for window in list(self._message_windows):
            window.close()
        self.watcher.stop()
        self._mail.stop()
        self.message_model.stop_reading()
        self._pool.waitForDone(5000)
        super().closeEvent(event)
