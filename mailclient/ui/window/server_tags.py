"""The tag menu's second part: the keywords the account's server allows or its messages
carry (any IMAP keyword other programs set), beside Thunderbird's $label1 to $label5.

Keywords that are not tags but state other programs keep ($Forwarded, $Junk, $MDNSent...)
are left out, as Thunderbird leaves them out of its tag list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from mailclient.ui.mailbox.message_model import TAGS

SERVER_TAG_NAME = "serverTag"
# Lower case; compared case-insensitively (keywords are, RFC 3501 §2.3.2).
NOT_TAGS = frozenset(
    {
        "$forwarded",
        "$mdnsent",
        "$junk",
        "$notjunk",
        "junk",
        "nonjunk",
        "notjunk",
        "$phishing",
        "$submitpending",
        "$submitted",
        "$hasattachment",
        "$hasnoattachment",
        "$autojunk",
        "$autonotjunk",
        "$important",
        "$muted",
        "$watched",
    }
)
_LABELS = frozenset(keyword.casefold() for keyword, _, _ in TAGS)


def server_tags(keywords: Iterable[str]) -> list[str]:
    """Of ``keywords``, those to offer as tags besides the five labels."""
    return [k for k in keywords if k.casefold() not in NOT_TAGS | _LABELS]


def fill_server_tags(
    menu: QMenu,
    before: QAction,
    keywords: Iterable[str],
    on_all: Callable[[str], bool],
    toggle: Callable[[str], None],
) -> list[QAction]:
    """Put the server's keywords into ``menu`` above ``before``, with a separator below
    them (those of the previous showing go);
    each is checked when ``on_all(keyword)`` and toggles with ``toggle(keyword)``."""
    for action in menu.actions():
        if action.objectName() in (SERVER_TAG_NAME, f"{SERVER_TAG_NAME}Separator"):
            menu.removeAction(action)
            action.deleteLater()
    added: list[QAction] = []
    tags = server_tags(keywords)
    if not tags:
        return added
    for keyword in tags:
        # A keyword is shown as it is; "&" would become a mnemonic.
        action = QAction(keyword.replace("&", "&&"), menu)
        action.setObjectName(SERVER_TAG_NAME)
        action.setData(keyword)
        action.setCheckable(True)
        action.setChecked(on_all(keyword))
        action.triggered.connect(lambda _=False, k=keyword: toggle(k))
        menu.insertAction(before, action)
        added.append(action)
    separator = QAction(menu)
    separator.setSeparator(True)
    separator.setObjectName(f"{SERVER_TAG_NAME}Separator")
    menu.insertAction(before, separator)
    return added


def tags_on(flags: Iterable[str]) -> frozenset[str]:
    """The tags among a message's ``flags`` (what Remove All Tags takes off): every keyword
    but those that record state."""
    return frozenset(f for f in flags if not f.startswith("\\") and f.casefold() not in NOT_TAGS)
