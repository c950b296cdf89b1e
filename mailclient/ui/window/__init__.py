"""The main window's shell.

The window itself, Preferences, the tray icon, new-mail notifications, Help ▸ About and the
dialog that reports a bug of ours.
"""
