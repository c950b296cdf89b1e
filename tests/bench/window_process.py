"""The process bench_window.py starts and times: the real window, or an empty QMainWindow.

``python -m tests.bench.window_process window PROFILE [scroll]`` opens the profile's main
window as ``mailclient`` does (mailclient.app.gui.open_window, offscreen) and, once the
message list has painted its rows, (with ``scroll``) scrolls it from top to bottom, then
times the quick filter, sorting and the threaded list; ``... empty`` shows an empty
QMainWindow as the baseline. Either prints one JSON line of figures. The parent passes the
wall-clock time it launched the process in BENCH_LAUNCHED, so "painted" counts the
interpreter start and every import too.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _launched() -> float:
    return float(os.environ.get("BENCH_LAUNCHED", time.time()))


def _rss_kib() -> dict[str, int]:
    status = Path("/proc/self/status").read_text()
    found = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def _wait_for_paint(widget: Any, ready: Any) -> float:
    """Run the event loop until ``widget`` painted while ``ready()``; return that time."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject

    painted: list[float] = []
    loop = QEventLoop()

    class Watcher(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and ready() and not painted:
                painted.append(time.time())
                loop.quit()
            return False

    watcher = Watcher()
    widget.installEventFilter(watcher)
    loop.exec()
    widget.removeEventFilter(watcher)
    return painted[0]


def empty() -> dict[str, Any]:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.resize(1280, 800)
    window.show()
    painted = _wait_for_paint(window, lambda: True)
    figures = {"painted_ms": (painted - _launched()) * 1000, **_rss_kib()}
    window.close()
    del app
    return figures


def main_window(profile: Path, scroll: bool, drag: bool) -> dict[str, Any]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from mailclient.app.gui import open_window
    from mailclient.app.services import Services
    from mailclient.core.profile import Profile
    from mailclient.store.mail import MailStore, NewMessage
    from mailclient.ui.mailbox.message_model import Column

    services = Services.open(Profile(profile))
    # As ``mailclient`` starts: what is not needed for the list comes after its first paint.
    app, window, store = open_window(services, then=lambda: None)
    window.resize(1280, 800)
    view = window.message_view
    painted = _wait_for_paint(view.viewport(), lambda: window.message_model.rowCount() > 0)
    figures: dict[str, Any] = {
        "painted_ms": (painted - _launched()) * 1000,
        **{f"start_{k}": v for k, v in _rss_kib().items()},
    }
    # The first screenful is painted; the rest of the list follows from a thread.
    while window.message_model.is_loading():
        QApplication.processEvents()
        time.sleep(0.001)
    figures["all_rows_ms"] = (time.time() - _launched()) * 1000
    figures["rows"] = window.message_model.rowCount()

    bar = view.verticalScrollBar()
    viewport = view.viewport()
    if scroll:
        # One screenful at a time, each painted before the next, top to bottom.
        pages = 0
        began = time.perf_counter()
        while True:
            viewport.update()
            QApplication.processEvents()
            pages += 1
            if bar.value() >= bar.maximum():
                break
            bar.setValue(bar.value() + bar.pageStep())
        scrolled = time.perf_counter() - began
        figures.update(
            scroll_s=scrolled, scroll_pages=pages, scroll_ms_per_page=scrolled * 1000 / pages
        )
    if scroll or drag:
        # Dragging the scroll bar's thumb from top to bottom: 100 painted positions.
        bar.setValue(0)
        steps = []
        for step in range(1, 101):
            began = time.perf_counter()
            bar.setValue(bar.maximum() * step // 100)
            viewport.update()
            QApplication.processEvents()
            steps.append(time.perf_counter() - began)
        figures.update(
            drag_ms_per_step=sum(steps) * 1000 / 100,
            drag_longest_ms=max(steps) * 1000,
            cached_pages=window.message_model.cached_pages(),
        )
    figures.update({f"scrolled_{k}": v for k, v in _rss_kib().items()})

    model = window.message_model

    def timed(name: str, action: Any) -> None:
        """Until the new list is painted, and the longest the GUI thread was busy meanwhile.

        The list may be read on another thread: the event loop runs in slices, each timed,
        so that the figure says how long the window could not react. Nothing asks for a
        repaint while the list is read (a window waiting for it has nothing new to paint).
        """
        began = time.perf_counter()
        action()
        longest = time.perf_counter() - began
        while model.is_loading():
            slice_began = time.perf_counter()
            QApplication.processEvents()
            longest = max(longest, time.perf_counter() - slice_began)
            time.sleep(0.001)
        viewport.update()
        slice_began = time.perf_counter()
        QApplication.processEvents()
        longest = max(longest, time.perf_counter() - slice_began)
        figures[f"{name}_ms"] = (time.perf_counter() - began) * 1000
        figures[f"{name}_gui_ms"] = longest * 1000

    timed("filter_report", lambda: model.set_quick_filter("report"))
    timed("filter_clear", lambda: model.set_quick_filter(""))
    timed("sort_sender", lambda: model.sort(Column.SENDER, Qt.SortOrder.AscendingOrder))
    # A sync batch of 100 new messages lands, with the list sorted by sender and then by
    # date: what each batch of a sync costs the window. They are removed again after.
    inbox = model.folder_ids[0]
    writer = MailStore.open(store.path)

    def new_mail(first_uid: int) -> None:
        writer.add_messages(
            inbox,
            [
                NewMessage(uid, frozenset(), sender="New <n@example.org>", subject="benchnew")
                for uid in range(first_uid, first_uid + 100)
            ],
        )

    new_mail(10_000_000)
    timed("refresh_sender", lambda: model.refresh([inbox]))
    timed("sort_date", lambda: model.sort(Column.DATE, Qt.SortOrder.DescendingOrder))
    new_mail(10_001_000)
    timed("refresh_date", lambda: model.refresh([inbox]))
    writer.remove_messages(writer.message_ids(inbox, quick_filter="benchnew"))
    writer.close()

    # View ▸ Threads, then the folder shown again as a folder change shows it.
    window.threads_action.setChecked(True)
    QApplication.processEvents()
    while model.is_loading():
        QApplication.processEvents()
        time.sleep(0.001)
    # The threads come from a thread: the rows shown stay until the new ones replace them.
    replaced: list[bool] = []
    model.modelReset.connect(lambda: replaced.append(True))
    began = time.time()
    model.show_folders(model.folder_ids)
    longest = time.time() - began
    painted = _wait_for_paint(viewport, lambda: bool(replaced) and model.rowCount() > 0)
    figures["threads_painted_ms"] = (painted - began) * 1000
    while model.is_loading():
        slice_began = time.perf_counter()
        QApplication.processEvents()
        longest = max(longest, time.perf_counter() - slice_began)
        time.sleep(0.001)
    figures["threads_all_ms"] = (time.time() - began) * 1000
    figures["threads_gui_ms"] = longest * 1000
    figures.update({f"end_{k}": v for k, v in _rss_kib().items()})
    window.close()
    store.close()
    del app
    return figures


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "empty":
        result = empty()
    else:
        result = main_window(
            Path(sys.argv[2]), scroll="scroll" in sys.argv[3:], drag="drag" in sys.argv[3:]
        )
    print("BENCH " + json.dumps(result), flush=True)
