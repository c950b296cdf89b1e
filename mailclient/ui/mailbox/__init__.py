"""The mailbox: the folder pane, the message list, the reading pane and the message window."""
