"""The main window's shell.

The window itself, Preferences, the tray icon, new-mail notifications, Help ▸ About and the
dialog that reports a bug of ours.

main_window.MainWindow builds the window and wires its panes; what it does is split by job
into base classes beside it, whose methods take ``self: MainWindow``: actions (actions, menus,
toolbar), state (window.ini), status (the sync status bar), message_list (the list and the
reading pane), message_windows, search (quick filter and search), threads, message_actions
(read, flag, tag, junk, move, delete), undo, folder_actions (the Folder menu) and writing
(compose wiring). welcome is the first-run page. The window asks the network of a MailHub
(mail_hub): the MailWorkers, or OfflineMail where a window runs without servers.
"""
