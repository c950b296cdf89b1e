"""The main window: folders on the left, the message list above the reading pane.

Everything shown comes from the local store, read on this thread in small pieces (ordered
ids, a page of summaries); bodies are read and parsed on a pool thread. Network work is
asked of the MailWorkers hub and its results come back as signals; the store's change
counter (StoreWatcher) tells the models when to re-read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QByteArray,
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QIcon,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from mailclient import APP_NAME
from mailclient.accounts.model import Account
from mailclient.accounts.preferences import Preferences
from mailclient.core.atomic import write_atomic
from mailclient.core.models import FLAGGED, SEEN, Folder, MessageSummary, SpecialUse
from mailclient.core.profile import create_private_file
from mailclient.core.query import parse_as_typed
from mailclient.mime.filename import safe_filename
from mailclient.store.mail import MailStore, SortKey, StoreChanges
from mailclient.ui.compose.undo_send import UndoSendBar
from mailclient.ui.mailbox.folder_model import FolderRole, FolderTreeModel, NodeKind
from mailclient.ui.mailbox.folder_pane import FolderDelegate
from mailclient.ui.mailbox.message_file import MessageFileWindow
from mailclient.ui.mailbox.message_model import (
    SORT_KEYS,
    TAGS,
    Column,
    MessageListModel,
    MessageRole,
    star_icon,
)
from mailclient.ui.mailbox.message_view import MessageListView
from mailclient.ui.mailbox.message_window import LEAVING, MessageWindow
from mailclient.ui.mailbox.printing import ask_and_print
from mailclient.ui.mailbox.reading_pane import ReadingPane, load_job
from mailclient.ui.widgets.error_bar import ErrorBar, ShownError
from mailclient.ui.widgets.icons import icon
from mailclient.ui.widgets.shortcuts import MAIN_WINDOW, keys
from mailclient.ui.window.diagnostics import AboutDialog
from mailclient.ui.window.folder_subscriptions import show_unsubscribed_action, subscription_item
from mailclient.ui.window.other_accounts import add_other_accounts, folder_label
from mailclient.ui.window.renamed_account import rename_in_settings, renamed_key
from mailclient.ui.window.server_tags import fill_server_tags, tags_on
from mailclient.workers.events import (
    BodyFailed,
    BodyFetched,
    SyncFinished,
    SyncProgress,
    WorkFailed,
)
from mailclient.workers.mail import ChangeFolder, MailWorkers, SetFlags, UndoChanges
from mailclient.workers.store_watcher import StoreWatcher
from mailclient.workers.tasks import error_text, run_task

if TYPE_CHECKING:
    from mailclient.smtp.sender import FlushReport
    from mailclient.ui.compose.manager import ComposeManager
    from mailclient.ui.outbox.view import OutboxView
    from mailclient.workers.reading import PreparedMessage
    from mailclient.workers.sending import OriginalToFlag

# Thunderbird's junk keywords (RFC 5788 registry).
JUNK_KEYWORD = "$Junk"
NOT_JUNK_KEYWORD = "$NotJunk"
UNDO_DEPTH = 30


@dataclass(frozen=True)
class UndoStep:
    """One user action as Edit ▸ Undo names it, and how to take it back per account."""

    text: str
    changes: list[UndoChanges]


MARK_READ_CHOICES = (
    ("&Immediately", 0),
    ("After &2 Seconds", 2000),
    ("After &5 Seconds", 5000),
    ("&Never (M marks them)", -1),
)
SETTINGS_FILE = "window.ini"
# More rows than the tallest screen shows.
FIRST_SCREEN_ROWS = 256


def window_settings(profile_root: Path) -> QSettings:
    """The window's own settings (geometry, columns, view options) in the profile folder."""
    path = profile_root / SETTINGS_FILE
    create_private_file(path)  # QSettings keeps an existing file's mode, makes new ones 0644
    return QSettings(str(path), QSettings.Format.IniFormat)


class WelcomePage(QWidget):
    """What a first run shows: no accounts yet, and how to add one."""

    add_account_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        layout = QVBoxLayout(self)
        layout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel(f"Welcome to {APP_NAME}", self)
        title.setObjectName("appTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(title)
        self.status_label = QLabel("No accounts yet.", self)
        self.status_label.setObjectName("accountsLabel")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.status_label)
        self.add_button = QPushButton("&Add account…", self)
        self.add_button.setObjectName("addAccountButton")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_account_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.add_button)
        row.addStretch(1)
        layout.addSpacing(12)
        layout.addLayout(row)


class MainWindow(QMainWindow):
    """The window people spend their day in."""

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
        mail: MailWorkers | None,
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
        self.compose: ComposeManager | None = None  # attach_compose() sets these
        self.outbox_view: OutboxView | None = None
        self.compose_actions: list[QAction] = []

        self.folder_model = FolderTreeModel(store, self._accounts, self)
        self.message_model = MessageListModel(store, self)
        self.watcher = StoreWatcher(store, parent=self)

        self._build_central()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._restore_state()
        # The folder shown at start-up reads its first screenful before the rest: the
        # window paints sooner. Later choices read the whole list at once (show_message()
        # looks for its row right after).
        self._first_rows: int | None = FIRST_SCREEN_ROWS
        self._show_accounts_state()

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
        self.welcome = WelcomePage(self.pages)
        self.welcome.add_account_clicked.connect(self.request_add_account)
        self.pages.addWidget(self.welcome)

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

    def _action(
        self,
        text: str,
        slot: Any,
        icon_name: str = "",
        tip: str = "",
        name: str = "",
    ) -> QAction:
        """An action of the window; its keys come from the table in ui.widgets.shortcuts."""
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        action.setShortcuts(keys(MAIN_WINDOW, name))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        if name:
            action.setObjectName(name)
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.get_mail_action = self._action(
            "&Get Mail",
            self.get_mail,
            "get-mail",
            "Check every account for new mail",
            "getMail",
        )
        self.add_account_action = self._action(
            "&Add Account…", self.request_add_account, name="addAccount"
        )
        self.manage_accounts_action = self._action(
            "&Manage Accounts…", self.manage_accounts_requested.emit, name="manageAccounts"
        )
        self.preferences_action = self._action(
            "&Preferences…",
            self.preferences_requested.emit,
            name="preferences",
        )
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("&Quit", self.close, name="quit")
        self.delete_action = self._action(
            "&Delete", lambda: self.delete_selected(), "delete", "Move to Trash (Del)", "delete"
        )
        self.toggle_read_action = self._action(
            "Mark as &Read/Unread",
            lambda: self.toggle_read(),
            "mark-read",
            "Mark as read or unread (M)",
            "toggleRead",
        )
        self.toggle_flag_action = self._action(
            "&Flag/Unflag", lambda: self.toggle_flag(), "", "Flag or unflag (S)", "toggleFlag"
        )
        self.toggle_flag_action.setIcon(star_icon())
        self.undo_action = self._action("&Undo", self.undo, "", "Undo (Ctrl+Z)", "undo")
        self.archive_action = self._action(
            "&Archive", lambda: self.archive_selected(), "archive", "Archive (A)", "archive"
        )
        self.junk_action = self._action(
            "Mark as &Junk", lambda: self.set_junk(True), "junk", "Mark as junk (J)", "junk"
        )
        self.not_junk_action = self._action(
            "Mark as &Not Junk", lambda: self.set_junk(False), name="notJunk"
        )
        self.save_as_action = self._action(
            "&Save As…",
            lambda: self.save_as(),
            name="saveAs",
            tip="Save the message as a .eml file",
        )
        self.delete_for_good_action = self._action(
            "Delete for &Good…", self.delete_for_good, name="deleteForGood"
        )
        self.mark_folder_read_action = self._action(
            "Mark &Folder Read", lambda: self.mark_folder_read(), name="markFolderRead"
        )
        self.open_window_action = self._action(
            "&Open in New Window", self.open_in_window, name="openWindow"
        )
        self.open_window_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.message_view.addAction(self.open_window_action)
        self.load_remote_action = self._action(
            "Load &Remote Content", self.load_remote_content, name="loadRemote"
        )
        self.focus_filter_action = self._action(
            "&Quick Filter",
            self.focus_quick_filter,
            tip="Filter the messages of this folder (Ctrl+Shift+K)",
            name="quickFilter",
        )
        self.search_action = self._action(
            "&Search All Mail",
            self.focus_search,
            tip="Search every folder of every account (Ctrl+K)",
            name="searchAll",
        )
        self.end_search_action = self._action(
            "Back to the Folder", self.end_search, name="endSearch"
        )
        self.end_search_action.setEnabled(False)
        self.threads_action = self._action(
            "&Threads", None, tip="Group this folder by conversation", name="threads"
        )
        self.threads_action.setCheckable(True)
        self.threads_action.toggled.connect(self._threads_toggled)
        # Thunderbird's keys for threads; in the list only, where Left and Right do nothing else.
        for text, name, slot in (
            ("Collapse Thread", "collapseThread", lambda: self._collapse_current(True)),
            ("Expand Thread", "expandThread", lambda: self._collapse_current(False)),
            (
                "Expand All Threads",
                "expandAllThreads",
                lambda: self.message_model.set_collapsed(None, False),
            ),
            (
                "Collapse All Threads",
                "collapseAllThreads",
                lambda: self.message_model.set_collapsed(None, True),
            ),
        ):
            action = self._action(text, slot, name=name)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            self.message_view.addAction(action)
        self.prefer_plain_action = self._action("Prefer &Plain Text", None, name="preferPlain")
        self.prefer_plain_action.setCheckable(True)
        self.prefer_plain_action.toggled.connect(self.set_prefer_plain)
        self.about_action = self._action(f"&About {APP_NAME}", self.show_about, name="about")
        self.tag_menu = QMenu("&Tag", self)
        self.tag_menu.setObjectName("tagMenu")
        self.tag_actions = []
        for number, (keyword, name, colour) in enumerate(TAGS, start=1):
            action = self._action(
                f"&{number} {name}",
                lambda _=False, k=keyword: self.toggle_tag(k),
                name=f"tag{number}",
            )
            action.setCheckable(True)
            action.setData(keyword)
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(colour))
            action.setIcon(QIcon(swatch))
            self.tag_menu.addAction(action)
            self.tag_actions.append(action)
        self.tag_menu.addSeparator()
        self.remove_tags_action = self._action(
            "&0 Remove All Tags", lambda: self.remove_tags(), name="tagNone"
        )
        self.tag_menu.addAction(self.remove_tags_action)
        self.tag_menu.aboutToShow.connect(self._check_tags)
        self.move_menu = QMenu("&Move To", self)
        self.move_menu.setObjectName("moveMenu")
        self.move_menu.setIcon(icon("folder"))
        self.move_menu.aboutToShow.connect(self._fill_move_menu)
        self.copy_menu = QMenu("&Copy To", self)
        self.copy_menu.setObjectName("copyMenu")
        self.copy_menu.aboutToShow.connect(self._fill_copy_menu)
        self.message_actions = [
            self.save_as_action,
            self.delete_action,
            self.delete_for_good_action,
            self.archive_action,
            self.junk_action,
            self.not_junk_action,
            self.toggle_read_action,
            self.toggle_flag_action,
            self.open_window_action,
            self.move_menu.menuAction(),
            self.copy_menu.menuAction(),
            self.tag_menu.menuAction(),
        ]
        space = QShortcut(keys(MAIN_WINDOW, "pageDown")[0], self.message_view)
        space.setObjectName("pageDown")
        space.setContext(Qt.ShortcutContext.WidgetShortcut)
        space.activated.connect(self.reading_pane.page_down)
        self._space_shortcut = space
        self.escape_action = self._action("Escape", self._escape, name="escape")
        self._undo_steps: list[UndoStep] = []
        self._update_undo()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.file_menu = file_menu
        file_menu.addAction(self.get_mail_action)
        file_menu.addAction(self.add_account_action)
        file_menu.addAction(self.manage_accounts_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_as_action)
        self.print_action = self._action(
            "&Print…", lambda: ask_and_print(self, self.reading_pane.prepared), name="print"
        )
        file_menu.addAction(self.print_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.delete_action)
        edit_menu.addAction(self.delete_for_good_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.focus_filter_action)
        edit_menu.addAction(self.search_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.preferences_action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.threads_action)
        self.show_unsubscribed_action = show_unsubscribed_action(
            self, self.folder_model, self._settings
        )
        view_menu.addAction(self.show_unsubscribed_action)
        view_menu.addSeparator()
        view_menu.addAction(self.prefer_plain_action)
        view_menu.addAction(self.load_remote_action)
        view_menu.addSeparator()
        view_menu.addMenu(self._mark_read_menu())
        message_menu = bar.addMenu("&Message")
        self.message_menu = message_menu
        message_menu.addAction(self.open_window_action)
        message_menu.addSeparator()
        message_menu.addAction(self.toggle_read_action)
        message_menu.addAction(self.toggle_flag_action)
        message_menu.addAction(self.mark_folder_read_action)
        message_menu.addSeparator()
        message_menu.addAction(self.archive_action)
        message_menu.addAction(self.junk_action)
        message_menu.addAction(self.not_junk_action)
        message_menu.addMenu(self.tag_menu)
        message_menu.addMenu(self.move_menu)
        message_menu.addMenu(self.copy_menu)
        message_menu.addAction(self.delete_action)
        self.folder_menu = bar.addMenu("F&older")
        self.folder_menu.setObjectName("folderMenu")
        self.folder_menu.aboutToShow.connect(
            lambda: self._fill_folder_menu(self.folder_menu, self._current_folder())
        )
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _mark_read_menu(self) -> QMenu:
        menu = QMenu("&Mark Shown Messages as Read", self)
        menu.setObjectName("markReadMenu")
        group = QActionGroup(menu)
        # Optional: a delay set in the Preferences may match none of these.
        group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self._mark_read_group = group
        current = self.mark_read_delay_ms()
        for text, delay in MARK_READ_CHOICES:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(delay == current)
            action.setData(delay)
            group.addAction(action)
            action.triggered.connect(lambda _=False, d=delay: self.set_mark_read_delay(d))
        return menu

    def set_mark_read_delay(self, delay_ms: int) -> None:
        """0: at once; -1: never; else after that many milliseconds."""
        self._user_changed(replace(self._preferences, mark_read_delay_ms=delay_ms))

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main toolbar", self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setIconSize(QSize(20, 20))
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addAction(self.get_mail_action)
        toolbar.addSeparator()
        toolbar.addAction(self.toggle_read_action)
        toolbar.addAction(self.toggle_flag_action)
        move_button = QToolButton(toolbar)
        move_button.setObjectName("moveButton")
        move_button.setMenu(self.move_menu)
        move_button.setDefaultAction(self.move_menu.menuAction())
        move_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        move_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addWidget(move_button)
        toolbar.addAction(self.archive_action)
        toolbar.addAction(self.junk_action)
        toolbar.addAction(self.delete_action)
        self.toggle_read_action.setIconText("Read/Unread")
        self.toggle_flag_action.setIconText("Flag")
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.sync_label = QLabel(self)
        self.sync_label.setObjectName("syncStatus")
        self.sync_label.setTextFormat(Qt.TextFormat.PlainText)  # folder names come from servers
        self.sync_progress = QProgressBar(self)
        self.sync_progress.setObjectName("syncProgress")
        self.sync_progress.setMaximumWidth(160)
        self.sync_progress.setMaximumHeight(14)
        self.sync_progress.setTextVisible(False)
        self.sync_progress.hide()
        status.addPermanentWidget(self.sync_label)
        status.addPermanentWidget(self.sync_progress)
        self._progress: dict[str, SyncProgress] = {}

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
        self.message_model.rowsRemoved.connect(self._update_count)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)
        self._filter_timer.timeout.connect(
            lambda: self.message_model.set_quick_filter(self.filter_edit.text())
        )
        self.search_edit.textChanged.connect(lambda _: self._search_timer.start())
        self.search_edit.returnPressed.connect(self._run_search)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._run_search)
        self.reading_pane.link_hovered.connect(self._link_hovered)
        self.reading_pane.load_remote_requested.connect(self.load_remote_content)
        self.reading_pane.attachments.saved.connect(
            lambda text: self.statusBar().showMessage(text, 5000)
        )
        self.reading_pane.attachments.failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text))
        )
        self.watcher.changed.connect(self._store_changed)
        self.watcher.failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text, key="store"))
        )
        self.message_model.load_failed.connect(
            lambda text: self.error_bar.show_error(ShownError(text, key="store"))
        )
        if self._mail is not None:
            self._mail.progressed.connect(self._sync_progressed)
            self._mail.synced.connect(self._sync_finished)
            self._mail.failed.connect(self._work_failed)
            self._mail.body_fetched.connect(self._body_fetched)
            self._mail.body_failed.connect(self._body_failed)
            self._mail.committed.connect(self.watcher.poke)
        self._update_actions()

    # -- state kept between runs ------------------------------------------------------------

    def _restore_state(self) -> None:
        s = self._settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for name, splitter in (
            ("splitter/main", self.splitter),
            ("splitter/list", self.right_splitter),
        ):
            value = s.value(name)
            if isinstance(value, QByteArray):
                splitter.restoreState(value)
        header = s.value("list/header")
        if isinstance(header, QByteArray):
            self.message_view.header().restoreState(header)
        try:
            key = SortKey(str(s.value("list/sort", SortKey.DATE.value)))
        except ValueError:
            key = SortKey.DATE
        descending = str(s.value("list/descending", "true")).lower() == "true"
        self.message_model.set_sort(key, descending)
        column = next((c for c, k in SORT_KEYS.items() if k is key), Column.DATE)
        order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
        self.message_view.header().setSortIndicator(column, order)
        self._expanded = set(str(v) for v in (s.value("folders/expanded") or []))

    def save_state(self) -> None:
        s = self._settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("splitter/main", self.splitter.saveState())
        s.setValue("splitter/list", self.right_splitter.saveState())
        s.setValue("list/header", self.message_view.header().saveState())
        self._save_sort()
        s.setValue("folders/current", self._shown_folder_key)
        current = self.message_view.currentIndex()
        s.setValue("list/current", current.data(MessageRole.ID) if current.isValid() else 0)
        self._remember_tree_state()
        s.setValue("folders/expanded", sorted(self._expanded))
        s.sync()

    def _save_sort(self) -> None:
        self._settings.setValue("list/sort", self.message_model.sort_key.value)
        self._settings.setValue(
            "list/descending", "true" if self.message_model.descending else "false"
        )

    def mark_read_delay_ms(self) -> int:
        """How long a shown message waits before it is marked read; -1: never."""
        return self._preferences.mark_read_delay_ms

    # -- preferences (kept in the profile's config by the caller) ---------------------------

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

    # -- opened from outside (a notification, the tray) -------------------------------------

    def bring_to_front(self) -> None:
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()

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
        if row is None:
            # Stored after the list last looked (the store watcher polls).
            self.message_model.refresh()
            row = self.message_model.row_of(message_id)
        if row is None:
            return False
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

    def account_renamed(self, old: str, new: str) -> None:
        """What the window keeps of account ``old`` (open folders, the one shown), under
        its new name ``new``, before set_accounts() shows it."""
        self._expanded = {renamed_key(key, old, new) for key in self._expanded}
        self._shown_folder_key = renamed_key(self._shown_folder_key, old, new)
        rename_in_settings(self._settings, old, new)

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
        self.get_mail_action.setEnabled(self._mail is not None)
        self._restore_tree_state()
        if not self.folder_view.currentIndex().isValid():
            self._select_folder_key(str(self._settings.value("folders/current", "")))
            # Once the window is built and the folder's list read.
            QTimer.singleShot(0, self, self._restore_current_message)

    def _restore_current_message(self) -> None:
        """The message chosen when the window last closed, chosen again (if still listed)."""
        if not self.isVisible() or self.message_view.currentIndex().isValid():
            return
        try:
            message_id = int(str(self._settings.value("list/current", 0)))
        except ValueError:
            return
        row = self.message_model.row_of(message_id) if message_id else None
        if row is not None:
            self.message_view.setCurrentIndex(self.message_model.index(row, Column.SUBJECT))
            self.message_view.scrollTo(
                self.message_view.currentIndex(), QAbstractItemView.ScrollHint.PositionAtCenter
            )

    def request_add_account(self) -> None:
        """First run, or File ▸ Add Account: the account dialog answers this signal."""
        self.add_account_requested.emit()

    # -- folder tree ------------------------------------------------------------------------

    @staticmethod
    def _node_key(index: QModelIndex) -> str:
        kind = index.data(FolderRole.KIND)
        if kind is NodeKind.ALL_INBOXES:
            return "all"
        if kind is NodeKind.ACCOUNT:
            return f"account:{index.data(FolderRole.ACCOUNT)}"
        folder = index.data(FolderRole.FOLDER)
        if isinstance(folder, Folder):
            return f"folder:{folder.account}:{folder.name}"
        return f"node:{index.data(FolderRole.ACCOUNT)}:{index.data()}"

    def _walk(self, parent: QModelIndex | None = None) -> list[QModelIndex]:
        parent = parent if parent is not None else QModelIndex()
        found = []
        for row in range(self.folder_model.rowCount(parent)):
            index = self.folder_model.index(row, 0, parent)
            found.append(index)
            found += self._walk(index)
        return found

    def _remember_tree_state(self) -> None:
        # Accounts start expanded, so for them the collapsed state is what is remembered.
        if not hasattr(self, "_expanded"):
            return
        for index in self._walk():
            key = self._node_key(index)
            expanded = self.folder_view.isExpanded(index)
            if key.startswith("account:"):
                key, expanded = f"collapsed:{key}", not expanded
            if expanded:
                self._expanded.add(key)
            else:
                self._expanded.discard(key)

    def _restore_tree_state(self) -> None:
        for index in self._walk():
            key = self._node_key(index)
            if key.startswith("account:"):
                self.folder_view.setExpanded(index, f"collapsed:{key}" not in self._expanded)
            elif key in self._expanded:
                self.folder_view.setExpanded(index, True)
        if self._shown_folder_key:
            self._select_folder_key(self._shown_folder_key, show=False)

    def _select_folder_key(self, key: str, show: bool = True) -> None:
        target = next((i for i in self._walk() if self._node_key(i) == key), None)
        if target is None or not target.flags() & Qt.ItemFlag.ItemIsSelectable:
            target = self.folder_model.index_of_all_inboxes()
        if not target.isValid():
            return
        selection = self.folder_view.selectionModel()
        if not show:
            selection.blockSignals(True)
        selection.setCurrentIndex(target, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if not show:
            selection.blockSignals(False)

    def _folder_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
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
        self.message_model.show_folders(ids, self._first_rows)
        self._first_rows = None
        # The Account column where the folders of several accounts are listed together.
        self.message_view.header().setSectionHidden(
            Column.ACCOUNT, current.data(FolderRole.KIND) is not NodeKind.ALL_INBOXES
        )
        title = current.data()
        self.setWindowTitle(f"{title} — {APP_NAME}")

    # -- message list -----------------------------------------------------------------------

    def _remember_current(self) -> None:
        index = self.message_view.currentIndex()
        self._current_before_reset = index.data(MessageRole.ID) if index.isValid() else None

    def _list_reset(self) -> None:
        # A new filter or sort keeps the chosen message chosen, if it is still listed.
        row = (
            self.message_model.row_of(self._current_before_reset)
            if self._current_before_reset is not None
            else None
        )
        self._current_before_reset = None
        if row is not None:
            self.message_view.selectionModel().setCurrentIndex(
                self.message_model.index(row, Column.SUBJECT),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            self.message_view.scrollTo(self.message_view.currentIndex())
        else:
            self.reading_pane.show_placeholder(self._placeholder_text())
        self._update_count()
        self._update_actions()

    def _placeholder_text(self) -> str:
        if self.message_model.rowCount() == 0:
            if self._searching:
                return "No message in any folder matches the search."
            if self.message_model.quick_filter:
                return "No message matches the filter."
            return "This folder is empty."
        return "No message selected"

    def _update_count(self, *args: object) -> None:
        count = self.message_model.rowCount()
        self.count_label.setText(f"{count:,} message{'s' if count != 1 else ''}")

    def _filter_changed(self, text: str) -> None:
        self._filter_timer.start()

    def _escape(self) -> None:
        """Escape: out of a search, back to the folder; in the quick filter, clear it."""
        if self._searching:
            self.end_search()
        elif self.filter_edit.hasFocus() or self.filter_edit.text():
            self.clear_quick_filter()

    def clear_quick_filter(self) -> None:
        """Escape in the filter: every message again, the chosen one still chosen."""
        self.filter_edit.clear()
        self.message_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_quick_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    # -- threads ----------------------------------------------------------------------------

    def _threads_toggled(self, threaded: bool) -> None:
        """View ▸ Threads, remembered for each folder."""
        if self._shown_folder_key and not self._searching:
            self._settings.setValue(f"threads/{self._shown_folder_key}", threaded)
        self.message_model.set_threaded(threaded)
        self.message_view.setSortingEnabled(not threaded)

    def _collapse_current(self, collapsed: bool) -> None:
        row = self.message_view.currentIndex().row()
        thread = self.message_model.thread_of(row)
        if thread is None:
            return
        message_id = self.message_model.message_id(row)
        self.message_model.set_collapsed({thread}, collapsed)
        # The cursor stays on the message, or goes to its thread's first one when hidden.
        new_row = self.message_model.row_of(message_id) if message_id is not None else None
        if new_row is None:
            new_row = next(
                (
                    r
                    for r in range(self.message_model.rowCount())
                    if self.message_model.thread_of(r) == thread
                ),
                None,
            )
        if new_row is not None:
            self.message_view.setCurrentIndex(self.message_model.index(new_row, Column.SUBJECT))

    # -- search across all folders ----------------------------------------------------------

    @property
    def _searching(self) -> bool:
        return self.end_search_action.isEnabled()

    def focus_search(self) -> None:
        self.search_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_edit.selectAll()

    def _run_search(self) -> None:
        """Show the messages of every folder of every account that match the search."""
        self._search_timer.stop()
        text = self.search_edit.text()
        if not text.strip():
            if self._searching:
                self.end_search()
            return
        _, problem = parse_as_typed(text)
        self.search_edit.setToolTip(str(problem) if problem else "")
        if problem is not None:
            self.statusBar().showMessage(str(problem), 5000)
        if not self._searching:
            self.end_search_action.setEnabled(True)
            for column in (Column.FOLDER, Column.ACCOUNT):
                self.message_view.setColumnHidden(column, False)
            self.filter_edit.blockSignals(True)
            self.filter_edit.clear()
            self.filter_edit.blockSignals(False)
            self.filter_edit.setEnabled(False)
            self.setWindowTitle(f"Search — {APP_NAME}")
        self.message_model.set_threaded(False)  # hits come newest first, from anywhere
        self.message_view.setSortingEnabled(True)
        self.message_model.set_quick_filter(text)
        self.message_model.show_folders([f.id for f in self._store.folders()])

    def end_search(self) -> None:
        """Escape: back to the folder shown before the search."""
        if not self._searching:
            return
        self.search_edit.blockSignals(True)
        self.search_edit.clear()
        self.search_edit.blockSignals(False)
        self._leave_search_mode()
        if self._shown_folder_key:
            self._select_folder_key(self._shown_folder_key, show=False)
        index = self.folder_view.currentIndex()
        if index.isValid():
            self._folder_changed(index, index)
        self.message_view.setFocus()

    def _leave_search_mode(self) -> None:
        self._search_timer.stop()
        self.end_search_action.setEnabled(False)
        self.filter_edit.setEnabled(True)
        for column in (Column.FOLDER, Column.ACCOUNT):
            self.message_view.setColumnHidden(column, True)

    def selected_summaries(self) -> list[MessageSummary]:
        rows = sorted({i.row() for i in self.message_view.selectionModel().selectedRows()})
        if not rows and self.message_view.currentIndex().isValid():
            rows = [self.message_view.currentIndex().row()]
        return [s for s in (self.message_model.summary(r) for r in rows) if s is not None]

    def _update_actions(self, *args: object) -> None:
        has = bool(self.message_view.selectionModel().selectedRows()) or (
            self.message_view.currentIndex().isValid()
        )
        for action in self.message_actions:
            action.setEnabled(has and bool(self._accounts))
        self.load_remote_action.setEnabled(
            self.reading_pane.prepared is not None
            and self.reading_pane.prepared.safe_html is not None
            and self.reading_pane.prepared.safe_html.remote_blocked > 0
        )

    def _message_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._mark_read_timer.stop()
        self._update_actions()
        if not current.isValid():
            return
        summary = self.message_model.summary(current.row())
        if summary is None:
            return
        if summary.id != self.reading_pane.message_id:
            self.reading_pane.show_loading(summary, "")
        self._show_timer.start()

    def _show_current_message(self) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        self._load_message(summary)

    def _load_message(self, summary: MessageSummary) -> None:
        job = load_job(
            self._store.path,
            summary.id,
            prefer_plain=self.prefer_plain_action.isChecked(),
            allow_remote=summary.id in self._remote_allowed,
        )
        run_task(
            self,
            job,
            lambda prepared: self._message_loaded(summary, prepared),
            lambda error: self._body_failed(BodyFailed(summary.id, error_text(error))),
        )

    def _message_loaded(self, summary: MessageSummary, prepared: PreparedMessage | None) -> None:
        current = self.message_view.currentIndex()
        if not current.isValid() or current.data(MessageRole.ID) != summary.id:
            return
        if prepared is None:
            if self._mail is None:
                self.reading_pane.show_loading(summary, "This message has not been downloaded.")
                return
            self.reading_pane.show_loading(summary, "Loading message…")
            self._mail.fetch_body(summary)
            return
        self.reading_pane.show_prepared(prepared)
        self._update_actions()
        delay = self.mark_read_delay_ms()
        if not summary.seen and delay >= 0:
            self._mark_read_timer.start(delay)

    def _mark_current_read(self) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None or summary.seen or summary.id != self.reading_pane.message_id:
            return
        self._set_flags([summary], add=frozenset({SEEN}))

    def _body_fetched(self, event: BodyFetched) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if (
            summary is not None
            and summary.id == event.message_id
            and self.reading_pane.prepared is None
        ):
            self._load_message(summary)
        for window in self._message_windows:
            window.body_fetched(event.message_id)

    def _body_failed(self, event: BodyFailed) -> None:
        index = self.message_view.currentIndex()
        if index.isValid() and index.data(MessageRole.ID) == event.message_id:
            summary = self.message_model.summary(index.row())
            if summary is not None:
                self.reading_pane.show_loading(
                    summary, f"The message could not be loaded. {event.message}"
                )

    def _column_menu(self, position: Any) -> None:
        """Right-click on the list's header: which columns to show (the subject always)."""
        header = self.message_view.header()
        menu = QMenu(self)
        menu.setObjectName("columnMenu")
        self._fill_column_menu(menu)
        menu.exec(header.viewport().mapToGlobal(position))

    def _fill_column_menu(self, menu: QMenu) -> None:
        header = self.message_view.header()
        for column in Column:
            if column is Column.SUBJECT:
                continue
            action = menu.addAction(
                str(
                    self.message_model.headerData(
                        column, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
                    )
                )
            )
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            action.toggled.connect(lambda shown, c=column: header.setSectionHidden(c, not shown))

    def _context_menu(self, position: Any) -> None:
        if not self.message_view.indexAt(position).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.open_window_action)
        menu.addSeparator()
        if self.compose_actions:
            menu.addActions(self.compose_actions)
            menu.addSeparator()
        menu.addAction(self.toggle_read_action)
        menu.addAction(self.toggle_flag_action)
        menu.addAction(self.archive_action)
        menu.addAction(self.junk_action)
        menu.addAction(self.not_junk_action)
        menu.addMenu(self.tag_menu)
        menu.addMenu(self.move_menu)
        menu.addMenu(self.copy_menu)
        menu.addAction(self.delete_action)
        menu.exec(self.message_view.viewport().mapToGlobal(position))

    # -- actions ----------------------------------------------------------------------------

    def get_mail(self) -> None:
        if self._mail is not None:
            self._mail.sync_all()

    def _set_flags(
        self,
        summaries: list[MessageSummary],
        add: frozenset[str] = frozenset(),
        remove: frozenset[str] = frozenset(),
        undo_text: str = "",
    ) -> None:
        if self._mail is None or not summaries:
            return
        self._mail.set_flags([s.id for s in summaries], add, remove)
        if undo_text:
            self._push_undo(undo_text, summaries, flags=(add, remove))

    def toggle_read(self, summaries: list[MessageSummary] | None = None) -> None:
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        self._mark_read_timer.stop()
        # Like Thunderbird: if any is unread, mark all read; else mark all unread.
        if any(not s.seen for s in summaries):
            self._set_flags(summaries, add=frozenset({SEEN}), undo_text="Mark as Read")
        else:
            self._set_flags(summaries, remove=frozenset({SEEN}), undo_text="Mark as Unread")

    def toggle_flag(self, summaries: list[MessageSummary] | None = None) -> None:
        summaries = self.selected_summaries() if summaries is None else summaries
        if any(not s.flagged for s in summaries):
            self._set_flags(summaries, add=frozenset({FLAGGED}), undo_text="Flag")
        else:
            self._set_flags(summaries, remove=frozenset({FLAGGED}), undo_text="Unflag")

    def toggle_tag(self, keyword: str, summaries: list[MessageSummary] | None = None) -> None:
        """Keys 1 to 5: the tag on (or, if every chosen message has it, off), as an IMAP keyword."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries:
            return
        name = next((n for k, n, _ in TAGS if k == keyword), keyword)
        if all(keyword in s.flags for s in summaries):
            self._set_flags(summaries, remove=frozenset({keyword}), undo_text=f"Untag {name}")
        else:
            self._set_flags(summaries, add=frozenset({keyword}), undo_text=f"Tag {name}")

    def remove_tags(self) -> None:
        """0: every tag off."""
        summaries = self.selected_summaries()
        tags = tags_on(frozenset().union(*(s.flags for s in summaries)))
        if summaries and tags:
            self._set_flags(summaries, remove=tags, undo_text="Remove Tags")

    def _check_tags(self) -> None:
        summaries = self.selected_summaries()
        for action in self.tag_actions:
            keyword = action.data()
            action.setChecked(bool(summaries) and all(keyword in s.flags for s in summaries))
        accounts = sorted({s.account for s in summaries})
        fill_server_tags(
            self.tag_menu,
            self.remove_tags_action,
            self._store.keywords(accounts[0]) if len(accounts) == 1 else [],
            lambda k: bool(summaries) and all(k in s.flags for s in summaries),
            self.toggle_tag,
        )

    def _special_folder(self, account: str, use: SpecialUse) -> Folder | None:
        return next((f for f in self.folder_model.folders(account) if f.special_use is use), None)

    def delete_selected(self, summaries: list[MessageSummary] | None = None) -> None:
        """Del: to the Trash (undoable); in the Trash, for good after asking."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries or self._mail is None:
            return
        in_trash = [
            s
            for s in summaries
            if (trash := self._special_folder(s.account, SpecialUse.TRASH)) is not None
            and s.folder_id == trash.id
        ]
        if in_trash and not self._confirm_delete_for_good(len(in_trash)):
            return
        self._select_after(summaries)
        self._mail.delete([s.id for s in summaries])
        leaving = [s for s in summaries if s not in in_trash]
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in leaving:
            by_account.setdefault(summary.account, []).append(summary)
        for account, moved in by_account.items():
            trash = self._special_folder(account, SpecialUse.TRASH)
            if trash is not None:
                self._push_undo("Delete", moved, target=trash)

    def delete_for_good(self) -> None:
        """Shift+Del: delete for good, wherever the messages are, after asking."""
        summaries = self.selected_summaries()
        if not summaries or self._mail is None:
            return
        if not self._confirm_delete_for_good(len(summaries)):
            return
        self._select_after(summaries)
        self._mail.expunge([s.id for s in summaries])

    def _confirm_delete_for_good(self, count: int) -> bool:
        """Ask before deleting for good, unless the user said not to ask again."""
        key = "confirm/delete_for_good"
        if str(self._settings.value(key, "true")).lower() == "false":
            return True
        messages = "this message" if count == 1 else f"these {count:,} messages"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete for good",
            f"Delete {messages} for good? This cannot be undone.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("confirmDeleteForGood")
        delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        again = QCheckBox("Don't ask again", box)
        again.setObjectName("dontAskAgain")
        box.setCheckBox(again)
        box.exec()
        if box.clickedButton() is not delete:
            return False
        if again.isChecked():
            self._settings.setValue(key, "false")
        return True

    def archive_selected(self, summaries: list[MessageSummary] | None = None) -> None:
        """A: to the account's Archive folder."""
        chosen = self.selected_summaries() if summaries is None else summaries
        self._move_to_special(chosen, SpecialUse.ARCHIVE, "Archive", "has no Archive folder")

    def _move_to_special(
        self, summaries: list[MessageSummary], use: SpecialUse, undo_text: str, missing: str
    ) -> None:
        if not summaries or self._mail is None:
            return
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        for account, chosen in by_account.items():
            target = self._special_folder(account, use)
            if target is None:
                self.error_bar.show_error(ShownError(f"The account {account} {missing}."))
                continue
            self.move_messages(chosen, target, undo_text=undo_text)

    def set_junk(self, junk: bool, summaries: list[MessageSummary] | None = None) -> None:
        """J: mark as junk ($Junk) and move to Junk; Not Junk: $NotJunk, back to the Inbox."""
        summaries = self.selected_summaries() if summaries is None else summaries
        if not summaries or self._mail is None:
            return
        add, remove = (JUNK_KEYWORD, NOT_JUNK_KEYWORD) if junk else (NOT_JUNK_KEYWORD, JUNK_KEYWORD)
        flags = (frozenset({add}), frozenset({remove}))
        self._mail.set_flags([s.id for s in summaries], *flags)
        text = "Mark as Junk" if junk else "Mark as Not Junk"
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        for account, chosen in by_account.items():
            junk_folder = self._special_folder(account, SpecialUse.JUNK)
            target = junk_folder if junk else self._special_folder(account, SpecialUse.INBOX)
            moving = [
                s
                for s in chosen
                if target is not None
                and s.folder_id != target.id
                and (junk or (junk_folder is not None and s.folder_id == junk_folder.id))
            ]
            if moving and target is not None:
                self._select_after(moving)
                self._mail.move([s.id for s in moving], target.id)
            self._push_undo(text, chosen, flags=flags, target=target if moving else None)

    def mark_folder_read(self, folder_ids: list[int] | None = None) -> None:
        """Shift+C: every message of the shown folder(s) (or of ``folder_ids``) read."""
        mail, path = self._mail, self._store.path
        folder_ids = list(folder_ids if folder_ids is not None else self.message_model.folder_ids)
        if mail is None or not folder_ids:
            return

        def find() -> list[MessageSummary]:
            from mailclient.workers.reading import thread_store

            store = thread_store(path)
            return store.summaries(store.unseen_ids(folder_ids))

        def found(summaries: list[MessageSummary]) -> None:
            self._set_flags(summaries, add=frozenset({SEEN}), undo_text="Mark Folder Read")

        run_task(self, find, found, pool=self._pool)

    # -- folders ----------------------------------------------------------------------------

    def _current_folder(self) -> Folder | None:
        folder = self.folder_view.currentIndex().data(FolderRole.FOLDER)
        return folder if isinstance(folder, Folder) else None

    def _folder_context_menu(self, position: Any) -> None:
        index = self.folder_view.indexAt(position)
        folder = index.data(FolderRole.FOLDER) if index.isValid() else None
        if not isinstance(folder, Folder):
            return
        menu = QMenu(self)
        menu.setObjectName("folderContextMenu")
        self._fill_folder_menu(menu, folder)
        menu.exec(self.folder_view.viewport().mapToGlobal(position))

    def _fill_folder_menu(self, menu: QMenu, folder: Folder | None) -> None:
        """New, Rename, Delete, Empty Trash/Junk and Mark Folder Read, for ``folder``."""
        menu.clear()
        enabled = folder is not None and self._mail is not None
        fixed = folder is not None and folder.special_use is not None
        items: list[tuple[str, str, Any, bool]] = [
            ("&New Folder…", "newFolder", lambda: self.new_folder(folder), enabled),
            ("&Rename…", "renameFolder", lambda: self.rename_folder(folder), enabled and not fixed),
            ("&Delete", "deleteFolder", lambda: self.delete_folder(folder), enabled and not fixed),
        ]
        if folder is not None and folder.special_use in (SpecialUse.TRASH, SpecialUse.JUNK):
            text = "&Empty Trash" if folder.special_use is SpecialUse.TRASH else "&Empty Junk"
            items.append((text, "emptyFolder", lambda: self.empty_folder(folder), enabled))
        items.append(subscription_item(self._mail, folder, enabled))
        items.append(
            (
                "&Mark Folder Read",
                "markThisFolderRead",
                lambda: self.mark_folder_read([folder.id] if folder else None),
                enabled,
            )
        )
        for text, name, slot, on in items:
            action = menu.addAction(text)
            action.setObjectName(name)
            action.setEnabled(on)
            action.triggered.connect(slot)

    def _ask_name(self, title: str, label: str, text: str = "") -> str:
        name, ok = QInputDialog.getText(self, title, label, text=text)
        return name.strip() if ok else ""

    def new_folder(self, parent: Folder | None, name: str | None = None) -> None:
        """A folder below ``parent`` (None: at the top of the account shown)."""
        if self._mail is None or parent is None:
            return
        leaf = name if name is not None else self._ask_name("New Folder", "Name:")
        if not leaf:
            return
        full = f"{parent.name}{parent.delimiter}{leaf}" if parent.delimiter else leaf
        self._mail.change_folder(ChangeFolder(parent.account, "create", None, full))

    def rename_folder(self, folder: Folder | None, leaf: str | None = None) -> None:
        if self._mail is None or folder is None:
            return
        leaf = (
            leaf if leaf is not None else self._ask_name("Rename Folder", "New name:", folder.leaf)
        )
        if not leaf or leaf == folder.leaf:
            return
        cut = len(folder.name) - len(folder.leaf)
        self._mail.change_folder(
            ChangeFolder(folder.account, "rename", folder.id, folder.name[:cut] + leaf)
        )

    def move_folder(self, folder: Folder, new_name: str) -> None:
        """A folder dragged onto another (or its account): a rename, kept while offline."""
        if self._mail is not None:
            self._mail.change_folder(ChangeFolder(folder.account, "rename", folder.id, new_name))

    def delete_folder(self, folder: Folder | None) -> None:
        """To the Trash (renamed below it) where there is one, else for good after asking."""
        if self._mail is None or folder is None:
            return
        trash = self._special_folder(folder.account, SpecialUse.TRASH)
        in_trash = trash is not None and (
            folder.id == trash.id or folder.name.startswith(f"{trash.name}{trash.delimiter}")
        )
        if trash is not None and trash.delimiter and not in_trash:
            target = f"{trash.name}{trash.delimiter}{folder.leaf}"
            self._mail.change_folder(ChangeFolder(folder.account, "rename", folder.id, target))
            self.statusBar().showMessage(f"Moved the folder {folder.leaf} to the Trash", 4000)
            return
        answer = QMessageBox.question(
            self,
            "Delete Folder",
            f"Delete the folder {folder.leaf} and the messages in it for good?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._mail.change_folder(ChangeFolder(folder.account, "delete", folder.id))

    def empty_folder(self, folder: Folder | None) -> None:
        """Empty Trash / Empty Junk: every message in it deleted for good, after asking."""
        mail, path = self._mail, self._store.path
        if mail is None or folder is None:
            return
        answer = QMessageBox.question(
            self,
            f"Empty {folder.leaf}",
            f"Delete every message in {folder.leaf} for good?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            return thread_store(path).message_ids(folder.id)

        run_task(self, find, lambda ids: mail.expunge(ids), pool=self._pool)

    # -- undo -------------------------------------------------------------------------------

    def _push_undo(
        self,
        text: str,
        summaries: list[MessageSummary],
        flags: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset()),
        target: Folder | None = None,
    ) -> None:
        """Remember how to take back a change just asked of the workers."""
        by_account: dict[str, list[MessageSummary]] = {}
        for summary in summaries:
            by_account.setdefault(summary.account, []).append(summary)
        add, remove = flags
        changes = []
        for account, chosen in by_account.items():
            inverse = [
                *(
                    SetFlags(ids, frozenset(), frozenset({flag}))
                    for flag in sorted(add)
                    if (ids := tuple(s.id for s in chosen if flag not in s.flags))
                ),
                *(
                    SetFlags(ids, frozenset({flag}), frozenset())
                    for flag in sorted(remove)
                    if (ids := tuple(s.id for s in chosen if flag in s.flags))
                ),
            ]
            moved = tuple(
                (s.id, s.folder_id, s.message_id)
                for s in chosen
                if target is not None and target.account == account and s.folder_id != target.id
            )
            if inverse or moved:
                changes.append(
                    UndoChanges(
                        account, moved, target.id if moved and target else None, tuple(inverse)
                    )
                )
        if changes:
            self._undo_steps = [*self._undo_steps[-(UNDO_DEPTH - 1) :], UndoStep(text, changes)]
            self._update_undo()

    def undo(self) -> None:
        """Ctrl+Z: take back the last change of the stack."""
        if not self._undo_steps or self._mail is None:
            return
        step = self._undo_steps.pop()
        for change in step.changes:
            self._mail.undo(change)
        self._update_undo()
        self.statusBar().showMessage(f"Undone: {step.text}", 4000)

    def _update_undo(self) -> None:
        if self._undo_steps:
            text = self._undo_steps[-1].text
            self.undo_action.setText(f"&Undo {text}")
            self.undo_action.setToolTip(f"Undo {text} (Ctrl+Z)")
        else:
            self.undo_action.setText("&Undo")
            self.undo_action.setToolTip("Nothing to undo")
        self.undo_action.setEnabled(bool(self._undo_steps))

    def move_messages(
        self, moving: list[int] | list[MessageSummary], target: Folder, undo_text: str = ""
    ) -> None:
        """Move messages (ids dropped on a folder, or summaries) to ``target``."""
        if self._mail is None or not moving:
            return
        if isinstance(moving[0], MessageSummary):
            summaries = [s for s in moving if isinstance(s, MessageSummary)]
        else:
            wanted = set(moving)
            summaries = [s for s in self.selected_summaries() if s.id in wanted]
        ids = [s.id for s in summaries] or [i for i in moving if isinstance(i, int)]
        if summaries and summaries[0].account != target.account:
            self.transfer_messages(summaries, target)  # dropped on another account's folder
            return
        if summaries:
            self._select_after(summaries)
        self._mail.move(ids, target.id)
        self.statusBar().showMessage(
            f"Moving {len(ids)} message{'s' if len(ids) != 1 else ''} to {target.leaf}", 4000
        )
        if summaries:
            self._push_undo(undo_text or f"Move to {target.leaf}", summaries, target=target)

    def _select_after(self, leaving: list[MessageSummary]) -> None:
        """Before messages leave the list, move the cursor to the one after them."""
        rows = [r for r in (self.message_model.row_of(s.id) for s in leaving) if r is not None]
        if not rows:
            return
        leaving_ids = {s.id for s in leaving}
        candidates = list(range(max(rows) + 1, self.message_model.rowCount()))
        candidates += list(range(min(rows) - 1, -1, -1))
        for row in candidates:
            if self.message_model.message_id(row) not in leaving_ids:
                self.message_view.selectionModel().setCurrentIndex(
                    self.message_model.index(row, Column.SUBJECT),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows,
                )
                return
        self.message_view.selectionModel().clear()
        self.reading_pane.show_placeholder("No message selected")

    def _fill_move_menu(self) -> None:
        self.move_menu.clear()
        summaries = self.selected_summaries()
        if not summaries:
            self.move_menu.addAction("No message selected").setEnabled(False)
            return
        account = summaries[0].account
        current = {s.folder_id for s in summaries}
        for folder in self.folder_model.folders(account):
            action = self.move_menu.addAction(
                folder.name.replace(folder.delimiter or "/", " ▸ ")
                if folder.name.upper() != "INBOX"
                else "Inbox"
            )
            action.setEnabled(folder.id not in current)
            action.triggered.connect(
                lambda _=False, f=folder: self.move_messages(
                    [s.id for s in self.selected_summaries() if s.account == f.account], f
                )
            )
        add_other_accounts(
            self.move_menu,
            self._accounts,
            self.folder_model,
            account,
            lambda f: self.transfer_messages(self.selected_summaries(), f),
        )

    def _fill_copy_menu(self) -> None:
        self.copy_menu.clear()
        summaries = self.selected_summaries()
        if summaries:
            add_other_accounts(
                self.copy_menu,
                self._accounts,
                self.folder_model,
                summaries[0].account,
                lambda f: self.transfer_messages(self.selected_summaries(), f, copy=True),
            )
        if not any(a.menu() for a in self.copy_menu.actions()):
            self.copy_menu.clear()
            self.copy_menu.addAction("No folder of another account").setEnabled(False)

    def transfer_messages(
        self, summaries: list[MessageSummary], target: Folder, copy: bool = False
    ) -> None:
        """Copy or move to a folder of another account (APPEND there, then delete here)."""
        chosen = [s.id for s in summaries if s.account != target.account]
        if self._mail is None or not chosen:
            return
        if not copy:
            self._select_after([s for s in summaries if s.id in chosen])
        self._mail.transfer(chosen, target.id, copy)
        verb = "Copying" if copy else "Moving"
        self.statusBar().showMessage(
            f"{verb} {len(chosen)} message{'s' if len(chosen) != 1 else ''} to "
            f"{target.account} ▸ {folder_label(target)}",
            4000,
        )

    def open_in_window(self) -> None:
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        folder = self.folder_model.folder(summary.folder_id)
        compose = self.compose
        if compose is not None and folder is not None and folder.special_use is SpecialUse.DRAFTS:
            # A draft opens where it can be finished: in a compose window.
            self._with_current_raw(lambda s, raw: compose.open_server_draft(s.account, raw))
            return
        window = MessageWindow(summary, self._store.path, self._pool, self)
        window.allow_remote = summary.id in self._remote_allowed
        self._show_message_window(window)

    def open_message_file(self, path: Path) -> None:
        """Show the message saved in ``path`` (a .eml file) in a message window."""
        self._show_message_window(MessageFileWindow(path, self._pool, self))

    def _show_message_window(self, window: MessageWindow) -> None:
        window.prefer_plain = self.prefer_plain_action.isChecked()
        window.closed.connect(
            lambda w=window: self._message_windows.remove(w) if w in self._message_windows else None
        )
        window.fetch_requested.connect(self._fetch_for_window)
        window.action_requested.connect(
            lambda name, shown, w=window: self._window_action(w, name, shown)
        )
        self._message_windows.append(window)
        window.show()
        window.load()

    def _window_action(self, window: MessageWindow, name: str, summary: MessageSummary) -> None:
        """An action of a message window, carried out here for its message."""
        compose = self.compose
        if name in ("reply", "replyAll", "forward"):
            if compose is None:
                return
            prepared = window.pane.prepared
            raw = (
                prepared.raw if prepared is not None and prepared.message_id == summary.id else None
            )
            if raw is None:
                window.statusBar().showMessage("The message is being downloaded; try again.", 5000)
                return
            if name == "forward":
                compose.forward(summary.account, raw)
            else:
                compose.reply(summary.account, raw, reply_all=name == "replyAll")
            return
        after = self._summary_after(summary) if name in LEAVING else None
        if name == "delete":
            self.delete_selected([summary])
        elif name == "archive":
            self.archive_selected([summary])
        elif name == "junk":
            self.set_junk(True, [summary])
        elif name == "toggleRead":
            self.toggle_read([summary])
        elif name == "toggleFlag":
            self.toggle_flag([summary])
        if name in LEAVING:
            if after is not None:
                window.show_summary(after)
            else:
                window.close()

    def _summary_after(self, summary: MessageSummary) -> MessageSummary | None:
        """The message listed after ``summary`` (else before it), as Thunderbird moves on."""
        row = self.message_model.row_of(summary.id)
        if row is None:
            return None
        for candidate in (row + 1, row - 1):
            if 0 <= candidate < self.message_model.rowCount():
                found = self.message_model.summary(candidate)
                if found is not None:
                    return found
        return None

    def _fetch_for_window(self, summary: MessageSummary) -> None:
        if self._mail is not None:
            self._mail.fetch_body(summary)

    def save_as(self, path: str | None = None) -> None:
        """The current message as it came, in a .eml file (written off this thread)."""
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        if path is None:
            suggested = safe_filename(summary.subject or "message", "message") + ".eml"
            path, _ = QFileDialog.getSaveFileName(
                self, "Save Message", str(Path.home() / suggested), "Mail messages (*.eml)"
            )
        if not path:
            return
        target = Path(path)

        def save(summary: MessageSummary, raw: bytes) -> None:
            def write() -> None:
                write_atomic(target, raw, 0o600)

            run_task(
                self,
                write,
                lambda _: self.statusBar().showMessage(f"Saved {target.name}", 5000),
                lambda error: self.error_bar.show_error(
                    ShownError(f"The message could not be saved: {error_text(error)}")
                ),
            )

        self._with_current_raw(save)

    def load_remote_content(self) -> None:
        message_id = self.reading_pane.message_id
        if message_id is None:
            return
        self._remote_allowed.add(message_id)
        self._show_current_message()

    def set_prefer_plain(self, checked: bool) -> None:
        self._user_changed(replace(self._preferences, prefer_plain_text=checked))

    def show_about(self) -> None:
        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    # -- worker events ----------------------------------------------------------------------

    def _store_changed(self, changes: StoreChanges) -> None:
        self.folder_model.reload()
        current = self.folder_view.currentIndex()
        ids = current.data(FolderRole.FOLDER_IDS) if current.isValid() else None
        if ids and sorted(ids) != sorted(self.message_model.folder_ids):
            # The shown node now stands for other folders ("All inboxes" after the first
            # sync found the inboxes): show those.
            self.message_model.show_folders(ids)
            return
        self.message_model.refresh(None if changes.folder_list_changed else changes.folder_ids)

    def _sync_progressed(self, progress: SyncProgress) -> None:
        self._progress[progress.account] = progress
        self._show_progress()

    def _sync_finished(self, event: SyncFinished) -> None:
        self._progress.pop(event.account, None)
        self.error_bar.clear_key(f"account:{event.account}")
        self._show_progress()

    def _show_progress(self) -> None:
        if not self._progress:
            self.sync_label.setText("")
            self.sync_progress.hide()
            return
        progress = list(self._progress.values())[-1]
        where = (
            progress.folder
            if len(self._accounts) < 2
            else f"{progress.folder} ({progress.account})"
        )
        if not progress.folder:
            self.sync_label.setText(f"Checking {progress.account} for new mail…")
            self.sync_progress.setRange(0, 0)
        elif progress.total:
            self.sync_label.setText(f"Syncing {where} — {progress.done:,} of {progress.total:,}")
            self.sync_progress.setRange(0, progress.total)
            self.sync_progress.setValue(progress.done)
        else:
            self.sync_label.setText(f"Syncing {where}")
            self.sync_progress.setRange(0, 0)
        self.sync_progress.show()

    def _work_failed(self, failure: WorkFailed) -> None:
        self._progress.pop(failure.account, None)
        self._show_progress()
        mail = self._mail
        retry = (
            (lambda: mail.retry(failure))
            if mail is not None and failure.command is not None
            else None
        )
        self.error_bar.show_error(
            ShownError(failure.message, retry, key=f"account:{failure.account}")
        )

    def _link_hovered(self, target: str) -> None:
        if target:
            self.statusBar().showMessage(target)
        else:
            self.statusBar().clearMessage()

    # -- writing --------------------------------------------------------------------------

    def attach_compose(self, compose: ComposeManager, outbox_view: OutboxView) -> None:
        """Writing mail: New, Reply, Reply All, Forward, and the Outbox as a folder."""
        self.compose = compose
        self.outbox_view = outbox_view
        compose.undo_send_seconds = self._preferences.undo_send_seconds
        self.undo_send_bar = UndoSendBar(compose.outbox.edit, compose.outbox.send_now, self)
        self._page_layout.insertWidget(0, self.undo_send_bar)
        compose.outbox.held.connect(self.undo_send_bar.hold)
        compose.outbox.released.connect(self.undo_send_bar.forget)
        compose.outbox.notice.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        new = self._action(
            "&New Message",
            lambda: self._new_message(),
            "write",
            "Write (Ctrl+N)",
            "new",
        )
        new.setIconText("Write")
        reply = self._action(
            "&Reply", lambda: self._reply(False), "reply", "Reply (Ctrl+R)", "reply"
        )
        reply_all = self._action(
            "Reply &All",
            lambda: self._reply(True),
            "reply-all",
            "Reply to all (Ctrl+Shift+R)",
            "replyAll",
        )
        forward = self._action("For&ward", self._forward, "forward", "Forward (Ctrl+L)", "forward")
        forward_attached = self._action(
            "Forward as Attac&hment",
            lambda: self._forward(as_attachment=True),
            "forward",
            "Forward the whole message as an attachment",
            "forwardAsAttachment",
        )
        add_sender = self._action(
            "Add Sender to Address &Book",
            self._add_sender_to_address_book,
            "",
            "Keep the sender of the selected messages in the address book",
            "addSenderToAddressBook",
        )
        address_book = self._action(
            "&Address Book",
            lambda: compose.open_address_book(self),
            "",
            "Address Book (Ctrl+Shift+B)",
            "addressBook",
        )
        self.compose_actions = [reply, reply_all, forward]
        self.message_actions += [*self.compose_actions, forward_attached, add_sender]
        self.file_menu.insertAction(self.file_menu.actions()[0], address_book)
        self.file_menu.insertAction(self.file_menu.actions()[0], new)
        first = self.message_menu.actions()[0]
        self.message_menu.insertActions(
            first, [new, *self.compose_actions, forward_attached, add_sender]
        )
        self.message_menu.insertSeparator(first)
        toolbar_first = self.toolbar.actions()[0]
        self.toolbar.insertActions(toolbar_first, [new, *self.compose_actions])
        self.toolbar.insertSeparator(toolbar_first)
        self.reading_pane.add_header_actions(self.compose_actions)

        self.splitter.addWidget(outbox_view)
        outbox_view.hide()
        self.folder_model.show_outbox(outbox_view.model.rowCount())
        outbox_view.count_changed.connect(self.folder_model.set_outbox_count)
        outbox_view.refresh()
        compose.notice.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        compose.outbox.failed.connect(lambda text: self.error_bar.show_error(ShownError(text)))
        compose.outbox.original_sent.connect(self._flag_original)
        compose.outbox.server_folder_changed.connect(self._sync_special_folder)
        compose.outbox.flushed.connect(self._outbox_flushed)
        compose.outbox.draft_sent.connect(self._draft_sent)
        self._update_actions()

    def _new_message(self) -> None:
        if self.compose is None:
            return
        summary = self.selected_summaries()
        account = summary[0].account if summary else None
        self.compose.new_message(account, parent=self)

    def _reply(self, reply_all: bool) -> None:
        compose = self.compose
        if compose is not None:
            self._with_current_raw(
                lambda s, raw: compose.reply(s.account, raw, reply_all=reply_all)
            )

    def _add_sender_to_address_book(self) -> None:
        compose = self.compose
        if compose is None:
            return
        for name, address in getaddresses([s.sender for s in self.selected_summaries()]):
            if "@" in address:
                compose.contacts.add(name, address)
        self.statusBar().showMessage("Added to the address book", 3000)

    def _forward(self, *, as_attachment: bool = False) -> None:
        compose = self.compose
        if compose is not None:
            self._with_current_raw(
                lambda s, raw: compose.forward(s.account, raw, as_attachment=as_attachment)
            )

    def _with_current_raw(self, use: Any) -> None:
        """Call ``use(summary, raw)`` for the current message, reading it off this thread."""
        index = self.message_view.currentIndex()
        summary = self.message_model.summary(index.row()) if index.isValid() else None
        if summary is None:
            return
        prepared = self.reading_pane.prepared
        if prepared is not None and prepared.message_id == summary.id:
            use(summary, prepared.raw)
            return
        path = self._store.path

        def read() -> bytes | None:
            from mailclient.workers.reading import thread_store

            return thread_store(path).body(summary.id)

        def done(raw: bytes | None) -> None:
            if raw is not None:
                use(summary, raw)
                return
            self.statusBar().showMessage("The message is being downloaded; try again.", 5000)
            if self._mail is not None:
                self._mail.fetch_body(summary)

        run_task(
            self, read, done, lambda error: self.error_bar.show_error(ShownError(error_text(error)))
        )

    def _outbox_flushed(self, report: FlushReport) -> None:
        """A message the server refused waits for the user: say so here, not only in the
        Outbox (with Retry); one that went out clears what was said about it."""
        from mailclient.smtp.sender import Outcome  # loaded by the outbox worker already

        outbox = self.compose.outbox if self.compose is not None else None
        for result in report.results:
            key = f"outbox:{result.item_id}"
            if result.outcome is Outcome.FAILED and outbox is not None:
                subject = result.subject or "(no subject)"
                reason = result.error or "; ".join(
                    f"{r.recipient}: {r.code} {r.reply}" for r in result.refused
                )
                self.error_bar.show_error(
                    ShownError(
                        f"“{subject}” was not sent: {reason} It waits in the Outbox.",
                        lambda i=result.item_id: outbox.retry(i),
                        key=key,
                    )
                )
            elif result.outcome is Outcome.SENT:
                self.error_bar.clear_key(key)

    def _sync_special_folder(self, account: str, use: SpecialUse) -> None:
        """We appended to (or expunged from) this folder: show it as it is now."""
        folder = self._special_folder(account, use)
        if self._mail is not None and folder is not None:
            self._mail.sync(account, [folder.name])

    def _draft_sent(self, account: str, message_id: str) -> None:
        """A draft from the Drafts folder went to the outbox: out of the list at once (the
        outbox worker removes it from the server too; a second expunge finds nothing)."""
        mail, path = self._mail, self._store.path
        drafts = self._special_folder(account, SpecialUse.DRAFTS)
        if mail is None or drafts is None:
            return

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            store = thread_store(path)
            ids = store.ids_with_message_id(account, message_id)
            return [loc.id for loc in store.locations(ids) if loc.folder_id == drafts.id]

        run_task(self, find, lambda ids: mail.expunge(ids) if ids else None, pool=self._pool)

    def _flag_original(self, target: OriginalToFlag) -> None:
        """A reply or forward went out: flag what it answered, here and on the server."""
        mail, path = self._mail, self._store.path
        if mail is None:
            return

        def find() -> list[int]:
            from mailclient.workers.reading import thread_store

            return thread_store(path).ids_with_message_id(target.account, target.message_id)

        run_task(self, find, lambda ids: mail.set_flags(ids, frozenset({target.flag}), frozenset()))

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """After the window is shown with cached mail: watch the store, start the network."""
        self.watcher.start()
        if self._mail is not None:
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
        if self._mail is not None:
            self._mail.stop()
        self._pool.waitForDone(5000)
        super().closeEvent(event)
