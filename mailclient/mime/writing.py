"""The rules of writing a message, apart from the window that shows them.

What the compose window decides without Qt: what to ask before a message leaves (no
recipient, an attachment gone from the disk or mentioned but missing, a size above the
server's limit, no subject), how a recipient field's problem is worded, what counts as a
change worth saving or asking about, how a signature is swapped for another, and how big
a message will be on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.errors import InvalidInput
from mailclient.core.outgoing import Attachment
from mailclient.core.units import human_size
from mailclient.mime.compose import check_recipients
from mailclient.mime.reply import signature_block

TITLE_PREFIX = "Write: "
# Words that say something is attached, in the text the writer typed (not in quotes).
_MENTIONS = re.compile(
    r"\b(attach(ed|ing|ment|ments)?|enclosed|see the file|angehängt|anbei|anhang|pièce jointe|"
    r"ci-joint|adjunto)\b",
    re.IGNORECASE,
)
# Base64 makes attachments a third larger; headers and text add a little.
_ENCODING_GROWTH = 4 / 3
_OVERHEAD = 4096
_LINK_SCHEME = re.compile(r"^(https?|mailto):", re.IGNORECASE)


def window_title(subject: str) -> str:
    return TITLE_PREFIX + (subject.strip() or "(no subject)")


# -- before sending -------------------------------------------------------------------------


class ConcernKind(StrEnum):
    """Something to stop at, or to ask about, before a message leaves."""

    NO_RECIPIENT = "no-recipient"
    ATTACHMENT_GONE = "attachment-gone"
    ATTACHMENT_FORGOTTEN = "attachment-forgotten"
    TOO_LARGE = "too-large"
    NO_SUBJECT = "no-subject"


_BLOCKING = frozenset({ConcernKind.NO_RECIPIENT, ConcernKind.ATTACHMENT_GONE})


@dataclass(frozen=True)
class Concern:
    """One concern, with the title and sentence the writer is shown."""

    kind: ConcernKind
    title: str
    text: str

    @property
    def blocking(self) -> bool:
        """Whether the message cannot leave at all (else the writer may send anyway)."""
        return self.kind in _BLOCKING


def concerns(draft: Draft, size: int, limit: int | None) -> list[Concern]:
    """What to stop at or ask about before ``draft`` is sent, in the order to ask.

    ``size`` is the message's estimated size, ``limit`` the server's (None: no limit
    known). The addresses themselves are checked field by field (recipients_problem).
    """
    found = []
    if not (draft.to.strip() or draft.cc.strip() or draft.bcc.strip()):
        found.append(
            Concern(ConcernKind.NO_RECIPIENT, "No recipient", "Add at least one recipient.")
        )
    gone = next(
        (a.path for a in draft.attachments if a.path is not None and not a.path.is_file()), None
    )
    if gone is not None:
        found.append(
            Concern(
                ConcernKind.ATTACHMENT_GONE,
                "Attachment missing",
                f"{gone} is no longer there. Remove it or attach it again.",
            )
        )
    if not draft.attachments and mentions_attachment(draft.body):
        found.append(
            Concern(
                ConcernKind.ATTACHMENT_FORGOTTEN,
                "No attachment",
                "The text mentions an attachment, but nothing is attached.",
            )
        )
    if over_limit(size, limit):
        found.append(
            Concern(
                ConcernKind.TOO_LARGE,
                "Message too large",
                f"This message is about {human_size(size)}, but the server accepts at most "
                f"{human_size(limit or 0)}. It will probably be refused. Send anyway?",
            )
        )
    if not draft.subject.strip():
        found.append(
            Concern(
                ConcernKind.NO_SUBJECT, "No subject", "The message has no subject. Send it anyway?"
            )
        )
    return found


def recipients_problem(field: str, text: str) -> str:
    """Why a recipient field does not hold valid addresses ("" when it does, or is empty).

    Each bad item is named by itself, not the whole field."""
    try:
        bad = [item for item in check_recipients(field, text) if not item.valid]
    except InvalidInput as error:
        return str(error)
    if not bad:
        return ""
    if len(bad) == 1:
        return f"{field}: {bad[0].problem}"
    names = ", ".join(repr(item.text) for item in bad)
    return f"{field}: {names} are not addresses like ann@example.org"


def mentions_attachment(body: str) -> bool:
    """Whether the writer's own text (quotes and signature aside) mentions an attachment."""
    own = []
    for line in body.split("\n"):
        if line == "-- ":
            break
        if not line.startswith(">"):
            own.append(line)
    return bool(_MENTIONS.search("\n".join(own)))


# -- size -----------------------------------------------------------------------------------


def estimated_size(body: str, attachment_sizes: Sequence[int]) -> int:
    """About how large the message will be on the wire."""
    return int(len(body.encode("utf-8")) * 1.1 + sum(attachment_sizes) * _ENCODING_GROWTH) + (
        _OVERHEAD
    )


def over_limit(size: int, limit: int | None) -> bool:
    """Whether ``size`` is above the server's ``limit`` (None or 0: no limit known)."""
    return bool(limit) and size > (limit or 0)


def size_warning(size: int, limit: int) -> str:
    """The line the window shows while the message is above the server's limit."""
    return (
        f"This message is about {human_size(size)}; the server accepts at most "
        f"{human_size(limit)}. Remove attachments or share large files another way."
    )


def attachment_size(attachment: Attachment) -> int:
    """The size of an attachment's data, or of its file (0 when the file cannot be read)."""
    if attachment.data is not None:
        return len(attachment.data)
    if attachment.path is not None:
        try:
            return attachment.path.stat().st_size
        except OSError:
            return 0
    return 0


# -- what counts as a change ----------------------------------------------------------------


def has_changes(baseline: Draft | None, current: Draft) -> bool:
    """Whether closing now would lose something: a draft never saved always would."""
    return baseline is None or current != baseline


def worth_autosaving(current: Draft, autosaved: Draft | None, baseline: Draft | None) -> bool:
    """Whether ``current`` differs from both the last autosave and what was opened."""
    return current != autosaved and current != baseline


def only_sender_changed(baseline: Draft | None, current: Draft) -> bool:
    """Whether ``current`` is ``baseline`` but for another From: no change worth a question."""
    return baseline is not None and baseline == replace(
        current, account=baseline.account, sender=baseline.sender
    )


# -- text -----------------------------------------------------------------------------------


def replaced_signature(text: str, old: str, new: str, kind: DraftKind) -> str | None:
    """``text`` with the signature ``old`` swapped for ``new``; a new message without one
    gains ``new`` at its end. None when the text stays as it is."""
    old_block, new_block = signature_block(old), signature_block(new)
    if old_block == new_block:
        return None
    if old_block and old_block in text:
        return text.replace(old_block, new_block, 1)
    if new_block and not old_block and kind is DraftKind.NEW:
        return text.rstrip("\n") + "\n\n" + new_block
    return None


def link_target(typed: str) -> str:
    """What a link typed without a scheme points to: mailto for an address, else https."""
    if _LINK_SCHEME.match(typed):
        return typed
    return f"mailto:{typed}" if "@" in typed and "/" not in typed else f"https://{typed}"


def clean_html(html: str) -> str:
    """Qt's HTML without the editor's own font on <body>: the reader's font applies."""
    return re.sub(r"<body style=\"[^\"]*\">", "<body>", html, count=1)
