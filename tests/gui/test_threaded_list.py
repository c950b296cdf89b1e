"""The threaded message list of a big folder: the newest threads at once, the rest below."""

from __future__ import annotations

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from mailclient.store.mail import MailStore
from mailclient.ui.mailbox.message_model import FIRST_THREADS, Column, MessageListModel
from tests.gui import test_models
from tests.gui.test_models import _folder_id, _message

store = test_models.store  # the list models' tests' store: two accounts, a few folders


def test_a_threaded_folder_shows_its_newest_threads_first_and_the_rest_below(
    qtmodeltester: ModelTester, qtbot: QtBot, store: MailStore
) -> None:
    inbox = _folder_id(store, "work", "INBOX")
    # 200 threads of two messages each: a message and, a minute later, its reply.
    store.add_messages(
        inbox,
        [
            _message(uid, message_id=f"<{uid}@x>", in_reply_to=f"<{uid - 1}@x>" if uid % 2 else "")
            for uid in range(2, 402)
        ],
    )
    whole = [p.id for p in store.threaded([inbox])]
    model = MessageListModel(store)
    qtmodeltester.check(model)
    model.set_threaded(True)
    events: list[str] = []
    model.modelReset.connect(lambda *a: events.append("reset"))
    model.rowsInserted.connect(lambda _p, first, last: events.append(f"inserted {first}-{last}"))
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.show_folders([inbox])
        # At once: the newest threads, whole, and no more.
        assert model.rowCount() == 2 * FIRST_THREADS and model.is_loading()
        assert [model.message_id(r) for r in range(model.rowCount())] == whole[: 2 * FIRST_THREADS]
        assert model.index(0, Column.SUBJECT).data() == "▾ message 400"
    # Then the rest, below what is shown; the switch to threads read nothing in vain.
    assert events == ["reset", f"inserted {2 * FIRST_THREADS}-399"]
    assert [model.message_id(r) for r in range(model.rowCount())] == whole
