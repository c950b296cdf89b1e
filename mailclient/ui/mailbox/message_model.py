"""The message list: a lazy table over the store's ordered message ids.

The model holds the ordered row ids of the shown folders and materialises summaries only
for the pages a view asks for, keeping a bounded cache. Nothing here touches the network.

Choosing folders reads the id list at once (the user waits for the folder anyway), or only
its first screenful at once when asked to, as the window does (a million ids take a third
of a second). Everything after that reads it on a thread of its own, off
the GUI thread: the rest of that list, the store changing (every batch of a sync), the
quick filter (every keystroke) and the sort; the whole list of folders chosen with a
filter (a search over every folder), whose full-text look-up takes a second at 100,000
messages; and threads, whose newest screenful takes a third of a second at a million
messages, the rest seconds: those newest threads are read first and shown as soon as they
come, the rest follows as rows inserted below them. The rows shown stay until the new list
arrives; then a changed folder, filter, sort or mode resets the view, and a store change
is diffed against the old list and reported as removals, moves and insertions, so the
selection and scroll position survive new mail. At most one query runs at a time;
requests that come meanwhile are folded into one more query. A query asked with an
outdated folder choice, filter, sort or mode is stopped (it would only hold up the next
one) and its answer, if it still comes, dropped. The sorted list without the filter is
kept until the store changes: a filter keystroke keeps its matches (a look-up in the
full-text index) instead of reading and sorting every message again, and clearing the
filter shows it as it is.
"""

from __future__ import annotations

import functools
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPixmap

from mailclient.core.models import MessageSummary
from mailclient.core.units import human_size
from mailclient.mime.decode import without_invisible
from mailclient.store.db import ReadStopped
from mailclient.store.mail import MailStore, SortKey
from mailclient.store.threads import ThreadedList
from mailclient.ui.mailbox.folder_model import MESSAGE_IDS_MIME, encode_message_ids
from mailclient.ui.widgets.plain_text import tooltip
from mailclient.workers.tasks import Relay, error_text, log_if_bug

PAGE_SIZE = 128
FIRST_THREADS = 60  # read first when a threaded list is shown anew: a screenful and more
# Up to this many rows, row_of() maps every id to its row once (20 ms); beyond, it searches.
MAPPED_ROWS = 50_000
# About 2,000 summaries: dozens of screens of scrolling back and forth. More cost memory
# (2 KB a row) without a visible gain: a page is read again in well under a millisecond.
MAX_PAGES = 16

Index = QModelIndex | QPersistentModelIndex
_TOP = QModelIndex()  # the invisible root, as a default argument


class Column(IntEnum):
    FLAG = 0
    ATTACHMENT = 1
    SUBJECT = 2
    SENDER = 3
    DATE = 4
    SIZE = 5
    FOLDER = 6  # shown for search results, which come from many folders
    ACCOUNT = 7


HEADERS = {
    Column.FLAG: "Flag",
    Column.ATTACHMENT: "Attachment",
    Column.SUBJECT: "Subject",
    Column.SENDER: "From",
    Column.DATE: "Date",
    Column.SIZE: "Size",
    Column.FOLDER: "Folder",
    Column.ACCOUNT: "Account",
}
SORT_KEYS = {
    Column.FLAG: SortKey.FLAGGED,
    Column.ATTACHMENT: SortKey.ATTACHMENTS,
    Column.SUBJECT: SortKey.SUBJECT,
    Column.SENDER: SortKey.SENDER,
    Column.DATE: SortKey.DATE,
    Column.SIZE: SortKey.SIZE,
}


class MessageRole:
    """Custom item data roles of MessageListModel."""

    ID = Qt.ItemDataRole.UserRole + 1
    SUMMARY = Qt.ItemDataRole.UserRole + 2


def format_date(value: datetime | None, now: datetime) -> str:
    """Today: the time; this week: weekday and time; else the date."""
    if value is None:
        return ""
    local = value.astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if now.date() - local.date() < timedelta(days=7) and local <= now:
        return local.strftime("%a %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def sender_name(sender: str) -> str:
    """The display name of "Name <address>", else the address; without the characters
    that reorder or hide text (stores synced by older versions may hold them)."""
    sender = without_invisible(sender)
    if "<" in sender and sender.rstrip().endswith(">"):
        name = sender[: sender.rfind("<")].strip().strip('"').strip()
        if name:
            return name
        return sender[sender.rfind("<") + 1 : -1].strip()
    return sender.strip()


def recipient_names(to: str) -> str:
    """The names (else addresses) of a To header, comma-separated (Sent and Drafts),
    without the characters that reorder or hide text."""
    # Only Sent and Drafts need it: the email package is left out of the window's start.
    from email.utils import getaddresses

    found = getaddresses([without_invisible(to)])
    return ", ".join(name or address for name, address in found if name or address)


# Thunderbird's five tags: IMAP keywords, with its names and colours.
TAGS = (
    ("$label1", "Important", "#ff0000"),
    ("$label2", "Work", "#ff9900"),
    ("$label3", "Personal", "#009900"),
    ("$label4", "To Do", "#3333ff"),
    ("$label5", "Later", "#993399"),
)
_TAG_COLOURS = {keyword.casefold(): QColor(colour) for keyword, _, colour in TAGS}


def tag_colour(flags: frozenset[str]) -> QColor | None:
    """The colour a message's row is drawn in: that of its first tag, as Thunderbird."""
    if not flags:
        return None
    lowered = {f.casefold() for f in flags}  # keywords are case-insensitive (RFC 3501)
    return next((c for k, c in _TAG_COLOURS.items() if k in lowered), None)


@functools.cache
def star_icon() -> QIcon:
    """The flag marker: an orange star."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    for point in range(10):
        radius = 7.5 if point % 2 == 0 else 3.2
        angle = math.pi / 2 + point * math.pi / 5
        x, y = 8 + radius * math.cos(angle), 8.5 - radius * math.sin(angle)
        if point == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.closeSubpath()
    painter.setPen(QColor("#b36b00"))
    painter.setBrush(QColor("#f5a623"))
    painter.drawPath(path)
    painter.end()
    return QIcon(pixmap)


@functools.cache
def paperclip_icon() -> QIcon:
    """The attachment marker."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = painter.pen()
    pen.setColor(QColor("#555555"))
    pen.setWidthF(1.3)
    painter.setPen(pen)
    path = QPainterPath()
    # An open loop: down the right side, round the bottom, up the left, round the top,
    # and back down the middle, like a paper clip seen from the front.
    path.moveTo(10.5, 4.5)
    path.lineTo(10.5, 11.0)
    path.arcTo(5.5, 8.5, 5.0, 5.0, 0, -180)
    path.lineTo(5.5, 3.5)
    path.arcTo(5.5, 1.0, 3.5, 3.5, 180, -180)
    path.lineTo(9.0, 10.0)
    path.arcTo(7.0, 9.0, 2.0, 2.0, 0, -180)
    path.lineTo(7.0, 5.0)
    painter.drawPath(path)
    painter.end()
    return QIcon(pixmap)


_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole.value
_OTHER_ROLES = frozenset(
    {Qt.ItemDataRole.ToolTipRole.value, _ACCESSIBLE, MessageRole.ID, MessageRole.SUMMARY}
)
_TOOLTIP_CHARS = 1000  # a 20,000-character subject would make a tooltip wider than the screen
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsDragEnabled
    | Qt.ItemFlag.ItemNeverHasChildren
)


class _Row:
    """One materialised row: the summary and its display texts, computed once."""

    __slots__ = ("bold", "colour", "summary", "texts")

    def __init__(
        self,
        summary: MessageSummary,
        now: datetime,
        folder: str = "",
        thread_mark: str = "",
        recipients: bool = False,
    ) -> None:
        self.summary = summary
        self.bold = not summary.seen
        self.colour = tag_colour(summary.flags)
        subject = without_invisible(summary.subject) or "(no subject)"
        self.texts = (
            "",
            "",
            thread_mark.replace("%s", subject) if thread_mark else subject,
            recipient_names(summary.to) if recipients else sender_name(summary.sender),
            format_date(summary.date, now),
            human_size(summary.size),
            folder,
            summary.account,
        )


@dataclass(frozen=True)
class _Diff:
    """How the shown id list becomes a new one: what a view is told, step by step."""

    removed: list[tuple[int, int]]  # runs of rows of the old list
    ordered: list[int] | None  # the rows left, in their new order, if that changed
    position: dict[int, int] | None  # id -> its row in ``ordered``
    inserted: list[tuple[int, int]]  # runs of rows of the new list


def _diff(old: Sequence[int], new: Sequence[int]) -> _Diff:
    """Work out removals, a new order and insertions (any thread: plain lists).

    Only the part between the longest common head and tail is compared through a set: a
    sync batch changes the list in a few places, and at 100,000 rows a set of them all is
    4 MB more at every batch."""
    head, shortest = 0, min(len(old), len(new))
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    # One run inserted (the rest of the list below its first screenful, new mail at the
    # top) or removed: no set of the 100,000 ids, no list of their rows.
    if head + tail == len(old):
        return _Diff([], None, None, [(head, len(new) - tail - 1)] if len(new) > len(old) else [])
    if head + tail == len(new):
        return _Diff([(head, len(old) - tail - 1)], None, None, [])
    old_part, new_part = old[head : len(old) - tail], new[head : len(new) - tail]
    added = set(new_part)
    gone = [head + row for row, id_ in enumerate(old_part) if id_ not in added]
    remaining = [id_ for id_ in old_part if id_ in added] if gone else old_part
    added.difference_update(old_part)
    ordered_part = [id_ for id_ in new_part if id_ not in added]
    reordered = ordered_part != remaining
    ordered = [*old[:head], *ordered_part, *old[len(old) - tail :]] if reordered else None
    return _Diff(
        _runs(gone),
        ordered,
        {id_: row for row, id_ in enumerate(ordered)} if ordered is not None else None,
        _runs([head + row for row, id_ in enumerate(new_part) if id_ in added]),
    )


@dataclass(frozen=True)
class _Answer:
    ids: array[int]
    diff: _Diff | None  # from the list shown when the query started, if it was given one
    places: ThreadedList | None = None  # every message in thread order, if threaded
    row_places: array[int] | None = None  # the place of each row, if not every one is shown
    unfiltered: array[int] | None = None  # what ``ids`` were filtered from (not threaded)
    partial: bool = False  # the first rows or threads only: more may follow


@dataclass(frozen=True)
class _Request:
    folder_ids: list[int]
    sort: SortKey
    descending: bool
    quick_filter: str
    threaded: bool = False
    collapsed: frozenset[int] = frozenset()  # threads shown as their first message only
    # The folders' sorted list without the filter, if the store has not changed since it
    # was read: filtered instead of read again (not threaded).
    unfiltered: array[int] | None = None
    limit: int | None = None  # only the first this many rows (threads, if threaded)


@dataclass
class _Read:
    """What _read_ids() found."""

    ids: array[int]
    places: ThreadedList | None = None  # every message in thread order, if threaded
    row_places: array[int] | None = None  # the place of each row, if not every one is shown
    unfiltered: array[int] | None = None  # the whole sorted list ``ids`` were filtered from
    partial: bool = False  # only the first rows or threads were read: more may follow


def _read_ids(store: MailStore, request: _Request, limit: int | None = None) -> _Read:
    """The ids to show, and in threaded mode the thread of every message.

    ``limit``: only the first this many (the first screenful); in threaded mode the first
    this many threads, each whole. The quick filter keeps the matches of the whole sorted
    list, read or given: a keystroke costs a look-up in the full-text index, not reading
    and sorting every message again. Ids are kept in arrays: 8 bytes each, not 36."""
    matching = request.quick_filter.strip()
    if not request.threaded:
        unfiltered = request.unfiltered
        if unfiltered is None:
            args = (request.folder_ids, request.sort, request.descending)
            unfiltered = store.message_id_array(*args, limit=None if matching else limit)
            if limit is not None and not matching:
                return _Read(unfiltered, partial=len(unfiltered) >= limit)
        if not matching:
            return _Read(unfiltered, unfiltered=unfiltered)
        hits = store.matching(request.folder_ids, request.quick_filter)
        ids = array("q", [i for i in unfiltered if i in hits])  # a list of the hits: faster
        return _Read(ids if limit is None else ids[:limit], unfiltered=unfiltered)
    places = store.threaded(request.folder_ids, None if matching else limit)
    if matching:
        places = places.only(store.matching(request.folder_ids, request.quick_filter))
    ids, row_places = visible_rows(places, request.collapsed)
    partial = limit is not None and not matching and places.thread_count >= limit
    return _Read(ids, places, row_places, partial=partial)


def find_id(ids: array[int], message_id: int) -> int | None:
    """The position of ``message_id`` in ``ids``, searched for among the raw bytes."""
    raw = ids.tobytes()
    needle = array(ids.typecode, [message_id]).tobytes()
    at = raw.find(needle)
    while at != -1 and at % ids.itemsize:  # the bytes straddle two ids: go on
        at = raw.find(needle, at + 1)
    return None if at == -1 else at // ids.itemsize


def visible_rows(
    places: ThreadedList, collapsed: Collection[int]
) -> tuple[array[int], array[int] | None]:
    """The ids shown (every message, but only the first of a collapsed thread) and the
    place of each (None when every place is shown)."""
    if not collapsed:
        return places.ids[:], None
    shown = array("q")
    row_places = array("i")
    last_thread = None
    for position, (id_, thread) in enumerate(zip(places.ids, places.threads, strict=True)):
        if thread not in collapsed or thread != last_thread:
            shown.append(id_)
            row_places.append(position)
        last_thread = thread
    return shown, row_places


def _query(
    path: Path, request: _Request, shown: array[int] | None, stop: threading.Event
) -> _Answer | None:
    """The id query, on a pool thread, with a store connection of its own (< 1 ms to open).

    Given the list shown now (a copy), it also works out the diff to the new one, which
    for 100,000 rows costs tens of milliseconds the GUI thread is spared. None: ``stop``
    was set (the list asked for is no longer wanted) and the read stopped.
    """
    store = MailStore.open(path)
    try:
        if request.threaded:
            store.link_unthreaded()  # after an upgrade, once: a write over every message
        store.stop_reads_when(stop.is_set)
        read = _read_ids(store, request, request.limit)
    except ReadStopped:
        return None
    finally:
        store.close()
    if stop.is_set():
        return None
    diff = None
    if shown is not None and read.ids != shown:
        diff = _diff(shown, read.ids)
    return _Answer(read.ids, diff, read.places, read.row_places, read.unfiltered, read.partial)


class MessageListModel(QAbstractTableModel):
    """Messages of one or more folders, sorted and filtered by the store."""

    loaded = Signal()  # a new id list was applied (after a refresh, a filter or a sort)
    load_failed = Signal(str)  # a sentence for the user

    def __init__(self, store: MailStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        # The pool before the relay: deleted first, it waits for a query still running,
        # whose result then goes to a relay that still exists.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._generation = 0  # bumped whenever the folders, filter, sort or mode change
        self._query_generation = 0  # what the running query was asked with
        self._querying = False
        self._stop = threading.Event()  # set: the running query is no longer wanted
        self._again = False  # something asked for a new list while a query ran
        self._reset_wanted = False  # the next list answers a new filter or sort
        self._store_changes = 0  # bumped whenever the store says the shown folders changed
        # The sorted list of the shown folders without the filter, and what it was read for
        # (folders, sort, store changes): what the next filter keystroke filters.
        self._unfiltered: array[int] | None = None
        self._unfiltered_for: tuple[object, ...] = ()
        self._query_for: tuple[object, ...] = ()  # the same, for the running query
        self._relay = Relay(self)
        self._relay.returned.connect(self._ids_read)
        self._relay.raised.connect(self._query_failed)
        self._folder_ids: list[int] = []
        self._sort_key = SortKey.DATE
        self._descending = True
        self._filter = ""
        self._folder_names: dict[int, str] = {}  # for the Folder column
        self._threaded = False
        self._collapsed: set[int] = set()
        self._places = ThreadedList()  # in threaded mode: all, in thread order
        self._row_places: array[int] | None = None  # each row's place, if not every one's
        self._ids = array("q")  # the row ids, in the order shown
        self._rows: dict[int, int] | None = None  # id -> row, built when first asked
        # Each page's summaries, each replaced by its row's texts when a view first asks
        # for them: a screen shows a fraction of a page (a tenth, a step of a dragged
        # thumb), and the texts cost twice what reading the summary does.
        self._pages: OrderedDict[int, list[_Row | MessageSummary | None]] = OrderedDict()
        self._last_page = -1
        self._now = datetime.now().astimezone()
        self._bold = QFont()
        self._bold.setBold(True)
        self._recipients = False  # Sent and Drafts: who it went to, not who wrote it

    # -- what is shown ----------------------------------------------------------------------

    @property
    def folder_ids(self) -> list[int]:
        return list(self._folder_ids)

    @property
    def quick_filter(self) -> str:
        return self._filter

    @property
    def sort_key(self) -> SortKey:
        return self._sort_key

    @property
    def descending(self) -> bool:
        return self._descending

    def is_loading(self) -> bool:
        """Whether a new id list is being read (the rows shown are the previous ones)."""
        return self._querying

    def show_folders(self, folder_ids: Sequence[int], first_rows: int | None = None) -> None:
        """Show the messages of ``folder_ids``, read at once.

        With ``first_rows``, only that many are read at once (a screenful: the window paints
        sooner); the rest follow from a thread, as rows inserted below, and ``loaded`` tells
        when they are there. With a quick filter, or in threaded mode, nothing is read at
        once: the list replaces the rows shown when it comes, as after a filter keystroke
        (threads: the newest first, the rest below them).
        """
        self._folder_ids = list(folder_ids)
        self._folder_names = {f.id: f.name for f in self._store.folders()}
        # Read anew: a list kept from when these folders were last shown may miss mail
        # stored since (the store watcher polls), and a screenful is read in a millisecond.
        self._unfiltered, self._unfiltered_for = None, ()
        if self._filter.strip() or self._threaded:
            # The full-text look-up over the folders, threading them (the newest threads
            # of a million messages: a third of a second) or linking the messages of an
            # upgraded store: the list comes from the pool thread.
            self._request(reset=True)
            return
        self._outdate()
        self._reset_wanted = False
        self.beginResetModel()
        read = self._query(first_rows)
        self._ids = read.ids
        self._rows = None
        self._pages.clear()
        self._now = datetime.now().astimezone()
        self.endResetModel()
        if read.partial:
            self._request(reset=False)

    def set_show_recipients(self, recipients: bool) -> None:
        """Show the recipients instead of the sender (Sent and Drafts, as Thunderbird)."""
        if recipients != self._recipients:
            self._recipients = recipients
            self._forget_rows()
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, Column.SENDER, Column.SENDER)
            if self._ids:
                self.dataChanged.emit(
                    self.index(0, Column.SENDER), self.index(len(self._ids) - 1, Column.SENDER)
                )

    @property
    def show_recipients(self) -> bool:
        return self._recipients

    def set_quick_filter(self, text: str) -> None:
        if text != self._filter:
            self._filter = text
            self._request(reset=True)

    def set_sort(self, key: SortKey, descending: bool) -> None:
        if (key, descending) != (self._sort_key, self._descending):
            self._sort_key, self._descending = key, descending
            self._request(reset=True)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if self._threaded:
            return  # conversations come newest first
        key = SORT_KEYS.get(Column(column)) if 0 <= column < len(Column) else None
        if key is not None:
            self.set_sort(key, order == Qt.SortOrder.DescendingOrder)

    def _query(self, limit: int | None = None) -> _Read:
        """The plain sorted list (or its first ``limit`` rows), read at once."""
        if not self._folder_ids:
            return _Read(array("q"))
        read = _read_ids(self._store, self._current_request(), limit)
        self._keep_places(read.places, read.row_places)
        if read.unfiltered is not None and limit is None:
            self._unfiltered, self._unfiltered_for = read.unfiltered, self._list_state()
        return read

    def _list_state(self) -> tuple[object, ...]:
        """What the unfiltered list depends on."""
        return (tuple(self._folder_ids), self._sort_key, self._descending, self._store_changes)

    def _current_request(self, limit: int | None = None) -> _Request:
        known = self._unfiltered_for == self._list_state() and not self._threaded
        return _Request(
            list(self._folder_ids),
            self._sort_key,
            self._descending,
            self._filter,
            self._threaded,
            frozenset(self._collapsed),
            self._unfiltered if known else None,
            limit,
        )

    def _keep_places(self, places: ThreadedList | None, row_places: array[int] | None) -> None:
        self._places = places if places is not None else ThreadedList()
        self._row_places = row_places

    def _place(self, row: int) -> int | None:
        """The place of ``row`` in the threaded list, if that lists it there: while a store
        change is announced step by step, the rows are not yet all those of the list."""
        if self._row_places is None:
            place = row
        elif 0 <= row < len(self._row_places):
            place = self._row_places[row]
        else:
            return None
        message_id = self.message_id(row)
        if message_id is None or not 0 <= place < len(self._places):
            return None
        return place if self._places.ids[place] == message_id else None

    # -- threads ----------------------------------------------------------------------------

    @property
    def threaded(self) -> bool:
        return self._threaded

    def set_threaded(self, threaded: bool) -> None:
        """Show conversations (newest first, replies indented) or a plain sorted list."""
        if threaded != self._threaded:
            self._threaded = threaded
            self._collapsed.clear()
            self._outdate()
            self._reset_wanted = True
            # Asked for on the next turn of the event loop: a folder shown right after this
            # (as a folder change does) reads its own list, and none is read in vain.
            QTimer.singleShot(0, self, self._read_if_wanted)

    def _read_if_wanted(self) -> None:
        asked = self._querying and self._query_generation == self._generation
        if self._reset_wanted and self._folder_ids and not asked:
            self._request(reset=False)

    def thread_of(self, row: int) -> int | None:
        place = self._place(row)
        return self._places.threads[place] if place is not None else None

    def starts_conversation(self, message_id: int) -> bool:
        """Whether ``message_id`` is listed as the first message of a thread of several."""
        if not self._threaded:
            return False
        try:
            place = self._places.ids.index(message_id)  # 100,000 places: a millisecond
        except ValueError:
            return False
        return self._places.depths[place] == 0 and self._places.thread_size(place)[0] > 1

    def set_collapsed(self, threads: set[int] | None, collapsed: bool) -> None:
        """Collapse (or expand) ``threads``; None: all of them."""
        if not self._threaded:
            return
        before = set(self._collapsed)
        if collapsed:
            self._collapsed |= self._places.threads_of_several(threads)
        elif threads is None:
            self._collapsed.clear()
        else:
            self._collapsed -= threads
        if self._collapsed != before:
            self.beginResetModel()
            self._ids, self._row_places = visible_rows(self._places, self._collapsed)
            self._rows = None
            self._pages.clear()
            self.endResetModel()
            self.loaded.emit()

    def _thread_mark(self, row: int) -> str:
        """The subject's indent and marks in threaded mode ("%s" stands for the subject)."""
        place = self._place(row)
        if place is None:
            return ""
        depth = self._places.depths[place]
        if depth:
            return "    " * depth + "%s"
        count, unread = self._places.thread_size(place)
        if count < 2:
            return "%s"
        if self._places.threads[place] in self._collapsed:
            extra = f", {unread} unread" if unread else ""
            return f"▸ %s  ({count} messages{extra})"
        return "▾ %s"

    # -- reading the id list off the GUI thread ---------------------------------------------

    def _request(self, reset: bool) -> None:
        if reset:
            self._outdate()
            self._reset_wanted = True
        if self._querying:
            self._again = True
            return
        self._start_query()

    def stop_reading(self) -> None:
        """Stop the list being read and wait for its thread (the window is closing: a read
        left running outlives the model, and a long one takes seconds)."""
        self._outdate()
        self._pool.waitForDone()

    def _outdate(self) -> None:
        """The folders, filter, sort or mode changed: the list being read is not wanted."""
        self._generation += 1
        self._stop.set()

    def _start_query(self) -> None:
        self._querying = True
        self._again = False
        self._query_generation = self._generation
        self._query_for = self._list_state()
        # Threads shown anew: the newest first, for a first paint in a fraction of the time
        # the whole list takes; the rest is asked for when they are shown.
        first = self._reset_wanted and self._threaded and not self._filter.strip()
        request = self._current_request(FIRST_THREADS if first else None)
        # A list for a new filter or sort replaces the rows; one after a store change is
        # diffed against them, on the pool thread too. The rows cannot change meanwhile:
        # only answers and show_folders() change them, and show_folders() makes this
        # query's answer outdated.
        shown = None if self._reset_wanted else self._ids[:]
        path = self._store.path
        stop = self._stop = threading.Event()
        self._relay.start(lambda: _query(path, request, shown, stop), self._pool)

    def _ids_read(self, answer: _Answer | None) -> None:
        self._querying = False
        if answer is not None:  # None: stopped, for a list no longer wanted
            self._show_answer(answer)
        if self._again:
            self._start_query()
        else:
            self.loaded.emit()

    def _show_answer(self, answer: _Answer) -> None:
        if answer.unfiltered is not None:
            self._unfiltered, self._unfiltered_for = answer.unfiltered, self._query_for
        if self._query_generation != self._generation:
            # Asked with folders, a filter, sort or mode no longer shown: dropped. What is
            # shown now was read at once, or its query was asked for (``_again``).
            return
        if self._reset_wanted:
            self._reset_wanted = False
            self.beginResetModel()
            self._keep_places(answer.places, answer.row_places)
            self._ids = answer.ids
            self._rows = None
            self._pages.clear()
            self._now = datetime.now().astimezone()
            self.endResetModel()
            self._again = self._again or answer.partial  # the rest, below these rows
        else:
            self._follow_store(answer)
            if answer.unfiltered is answer.ids:
                # The rows hold these ids now: one array of them kept, not two.
                self._unfiltered = self._ids

    def _query_failed(self, error: Exception) -> None:
        self._querying = False
        log_if_bug(error)
        # Told only for the list wanted now: another one's failure has nothing to tell.
        if self._query_generation == self._generation:
            self.load_failed.emit(error_text(error))
        if self._again:
            self._start_query()

    # -- following the store ----------------------------------------------------------------

    def refresh(self, folder_ids: Collection[int] | None = None) -> None:
        """Re-read after the store changed (``folder_ids``: which folders; None = any).

        The list is read off the GUI thread; ``loaded`` tells when it is shown.
        """
        if folder_ids is not None and not set(folder_ids) & set(self._folder_ids):
            return
        self._store_changes += 1
        if self._folder_ids:
            self._request(reset=False)

    def _follow_store(self, answer: _Answer) -> None:
        # Only the rows a view has asked for can be on screen: those pages are re-read.
        cached = sorted(self._pages)
        self._pages.clear()
        self._keep_places(answer.places, answer.row_places)
        self._now = datetime.now().astimezone()
        if answer.diff is not None:
            self._apply(answer.ids, answer.diff)
        for first_page, last_page in _runs(cached):
            first = first_page * PAGE_SIZE
            last = min((last_page + 1) * PAGE_SIZE, len(self._ids)) - 1
            if first <= last:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(Column) - 1))

    def _apply(self, new: array[int], diff: _Diff) -> None:
        # 1. Removals, in runs from the bottom so earlier row numbers stay valid.
        for first, last in reversed(diff.removed):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._ids[first : last + 1]
            self._forget_rows()
            self.endRemoveRows()
        # 2. A changed order of the remaining rows: a layout change that keeps selections.
        if diff.ordered is not None and diff.position is not None:
            self.layoutAboutToBeChanged.emit()
            old_ids = self._ids
            for index in self.persistentIndexList():
                new_row = diff.position[old_ids[index.row()]]
                self.changePersistentIndex(index, self.index(new_row, index.column()))
            self._ids = array("q", diff.ordered)
            self._forget_rows()
            self.layoutChanged.emit()
        # 3. Insertions, top to bottom: each run lands where the new list has it.
        for first, last in diff.inserted:
            self.beginInsertRows(QModelIndex(), first, last)
            self._ids[first:first] = new[first : last + 1]
            self._forget_rows()
            self.endInsertRows()

    def _forget_rows(self) -> None:
        # Views read rows while each step is announced: pages cached then are stale now.
        self._rows = None
        self._pages.clear()

    # -- lookups ----------------------------------------------------------------------------

    def message_id(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, message_id: int) -> int | None:
        """The row of ``message_id``; None when it is not listed.

        A long list is searched rather than mapped: a map of a million ids takes 0.4 s to
        make on the GUI thread, a search of them 15 ms."""
        if self._rows is None:
            if len(self._ids) > MAPPED_ROWS:
                return find_id(self._ids, message_id)
            self._rows = {id_: row for row, id_ in enumerate(self._ids)}
        return self._rows.get(message_id)

    def rows_of(self, message_ids: Collection[int]) -> list[int]:
        """The rows of those of ``message_ids`` that are listed, in no order."""
        if self._rows is not None or len(message_ids) <= 8 or len(self._ids) <= MAPPED_ROWS:
            rows = (self.row_of(id_) for id_ in message_ids)
            return [row for row in rows if row is not None]
        wanted = set(message_ids)
        return [row for row, id_ in enumerate(self._ids) if id_ in wanted]

    def summary(self, row: int) -> MessageSummary | None:
        found = self._entry(row)
        return found.summary if isinstance(found, _Row) else found

    def _row(self, row: int) -> _Row | None:
        found = self._entry(row)
        if found is None or isinstance(found, _Row):
            return found
        made = _Row(
            found,
            self._now,
            self._folder_names.get(found.folder_id, ""),
            self._thread_mark(row) if self._threaded else "",
            self._recipients,
        )
        self._pages[row // PAGE_SIZE][row % PAGE_SIZE] = made
        return made

    def _entry(self, row: int) -> _Row | MessageSummary | None:
        """What the page of ``row`` holds for it (read now if it is not cached)."""
        if not 0 <= row < len(self._ids):
            return None
        number = row // PAGE_SIZE
        page = self._pages.get(number)
        if page is None:
            page = self._load_page(number)
        elif number != self._last_page:
            self._pages.move_to_end(number)
        self._last_page = number
        return page[row - number * PAGE_SIZE]

    def _load_page(self, number: int) -> list[_Row | MessageSummary | None]:
        first = number * PAGE_SIZE
        ids = self._ids[first : first + PAGE_SIZE]
        found = {s.id: s for s in self._store.summaries(ids)}
        page: list[_Row | MessageSummary | None] = [found.get(id_) for id_ in ids]
        self._pages[number] = page
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def cached_pages(self) -> int:
        """How many pages of summaries are materialised (for tests and the benchmark)."""
        return len(self._pages)

    # -- QAbstractItemModel -----------------------------------------------------------------

    def rowCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = _TOP) -> int:
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            if column is Column.SENDER and self._recipients:
                return "To"
            return "" if column in (Column.FLAG, Column.ATTACHMENT) else HEADERS[column]
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return HEADERS[column]
        if role == Qt.ItemDataRole.DecorationRole:
            if column is Column.FLAG:
                return star_icon()
            if column is Column.ATTACHMENT:
                return paperclip_icon()
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        # Called a thousand times per screen: the common roles come first and cheaply.
        if role == _DISPLAY:
            row = self._row(index.row())
            return row.texts[index.column()] if row is not None else None
        if role == _FOREGROUND:
            row = self._row(index.row())
            return row.colour if row is not None else None
        if role == _FONT:
            row = self._row(index.row())
            return self._bold if row is not None and row.bold else None
        if role == _DECORATION:
            column = index.column()
            if column > Column.ATTACHMENT:
                return None
            row = self._row(index.row())
            if row is None:
                return None
            if column == Column.FLAG:
                return star_icon() if row.summary.flagged else None
            return paperclip_icon() if row.summary.has_attachments else None
        if role == _ALIGNMENT:
            return _RIGHT if index.column() == Column.SIZE else None
        if role not in _OTHER_ROLES or not index.isValid():
            return None
        if role == MessageRole.ID:
            return self.message_id(index.row())
        summary = self.summary(index.row())
        if summary is None:
            return None
        column = Column(index.column())
        if role == MessageRole.SUMMARY:
            return summary
        if role == _ACCESSIBLE:
            return self._accessible(summary, column)
        if column is Column.SENDER:
            return tooltip(without_invisible(summary.sender)[:_TOOLTIP_CHARS])
        if column is Column.DATE and summary.date is not None:
            return summary.date.astimezone().strftime("%A %d %B %Y, %H:%M")
        if column is Column.SUBJECT:
            return tooltip(without_invisible(summary.subject)[:_TOOLTIP_CHARS])
        return None

    def _accessible(self, summary: MessageSummary, column: Column) -> str:
        if column is Column.FLAG:
            return "flagged" if summary.flagged else "not flagged"
        if column is Column.ATTACHMENT:
            return "has attachments" if summary.has_attachments else "no attachments"
        folder = self._folder_names.get(summary.folder_id, "")
        text = _Row(summary, self._now, folder, recipients=self._recipients).texts[column]
        if column is Column.SUBJECT and not summary.seen:
            return f"unread: {text}"
        return text

    # -- drag -------------------------------------------------------------------------------

    def mimeTypes(self) -> list[str]:
        return [MESSAGE_IDS_MIME]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        summaries = [s for s in (self.summary(r) for r in rows) if s is not None]
        account = summaries[0].account if summaries else ""
        ids = [s.id for s in summaries if s.account == account]
        return encode_message_ids(account, ids)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers grouped into (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
