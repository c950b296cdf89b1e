"""The user interface, grouped by what the user sees.

- ``window``: the main window's shell, Preferences, the tray, notifications, About, crashes;
- ``mailbox``: the folder pane, the message list, the reading pane, the message window;
- ``compose``: the compose window and what it uses (addresses, spelling, Send Later, Undo);
- ``accounts``: Add account, Manage accounts, password / certificate / OAuth2 questions;
- ``outbox``: the outbox view;
- ``widgets``: small pieces shared by all of them (icons, plain text, the error bar, keys).

``window`` ties the rooms together; the rooms use ``widgets`` and never each other (an import
contract in pyproject.toml keeps it so).
"""
