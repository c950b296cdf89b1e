"""The main window's actions, menus and toolbar; their keys come from ui.widgets.shortcuts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPixmap, QShortcut
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from mailclient import APP_NAME
from mailclient.ui.mailbox.message_model import TAGS, star_icon
from mailclient.ui.widgets.icons import icon
from mailclient.ui.widgets.shortcuts import MAIN_WINDOW, keys
from mailclient.ui.window.folder_subscriptions import show_unsubscribed_action

if TYPE_CHECKING:
    from mailclient.ui.window.main_window import MainWindow
    from mailclient.ui.window.undo import UndoStep


MARK_READ_CHOICES = (
    ("&Immediately", 0),
    ("After &2 Seconds", 2000),
    ("After &5 Seconds", 5000),
    ("&Never (M marks them)", -1),
)


class WindowActions:
    """MainWindow's actions, menus and toolbar, built once."""

    def _action(
        self: MainWindow,
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

    def _build_actions(self: MainWindow) -> None:
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

    def _build_menus(self: MainWindow) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.file_menu = file_menu
        file_menu.addAction(self.get_mail_action)
        file_menu.addAction(self.add_account_action)
        file_menu.addAction(self.manage_accounts_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_as_action)
        self.print_action = self._action("&Print…", self._print, name="print")
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

    def _print(self: MainWindow) -> None:
        from mailclient.ui.mailbox.printing import ask_and_print

        ask_and_print(self, self.reading_pane.prepared)

    def _mark_read_menu(self: MainWindow) -> QMenu:
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

    def _build_toolbar(self: MainWindow) -> None:
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
