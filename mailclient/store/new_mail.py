"""Which messages are new: arrived in an inbox since the last look, not merely unread.

At start-up every message already stored counts as seen before; afterwards a message is
new when the store got it after the previous check (message ids only grow), it sits in an
inbox whose sync was complete at that check and still has the same UIDVALIDITY, and it is
unread. So the first sync of an account, or of an inbox whose UIDVALIDITY changed, brings
no flood of "new" mail, and a message the user moves into the inbox keeps its old id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailclient.core.models import MessageSummary
from mailclient.store.mail import InboxState, MailStore

NEWEST_SHOWN = 5


@dataclass(frozen=True)
class NewMail:
    """What arrived since the previous check."""

    count: int = 0
    newest: list[MessageSummary] = field(default_factory=list)  # newest first, a few of them


class NewMailTracker:
    """Remembers where the previous check stopped; check() after each sync or store change."""

    def __init__(self, store: MailStore, newest_shown: int = NEWEST_SHOWN) -> None:
        self._newest_shown = newest_shown
        self._last_id = store.last_message_id()
        self._inboxes = store.inbox_states()

    def check(self, store: MailStore) -> NewMail:
        """New mail since the last check (or since this tracker was made)."""
        # The last id first: what is stored meanwhile is left for the next check, and the
        # inbox states read afterwards are at least as recent as the messages counted.
        last_id = store.last_message_id()
        inboxes = store.inbox_states()
        watched = [i for i, state in inboxes.items() if self._watched(state)]
        count, newest = store.unseen_arrivals(watched, self._last_id, last_id, self._newest_shown)
        self._last_id = max(self._last_id, last_id)
        self._inboxes = inboxes
        return NewMail(count, newest)

    def _watched(self, state: InboxState) -> bool:
        before = self._inboxes.get(state.folder_id)
        return (
            before is not None
            and before.complete
            and state.complete
            and before.uidvalidity == state.uidvalidity
        )
