"""The outbox worker: queueing, sending, drafts here and on the server, taking messages back.

The real OutboxSender and outbox table, a scripted SMTP server and a fake Drafts folder.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.models import ANSWERED, FORWARDED
from mailclient.core.outgoing import Attachment, OutboxState
from mailclient.mime.compose import build_message
from mailclient.store.db import damage_marker
from mailclient.store.drafts import LocalDrafts
from mailclient.store.outbox import Outbox, outbox_path
from mailclient.workers import sending
from mailclient.workers.sending import OriginalToFlag, OutboxWorker, SendProblem, SizeLimits
from tests.gui.outbox_world import ACCOUNT, WAIT, World, draft, running_world
from tests.unit.fake_smtp import Script


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from running_world(tmp_path)


def test_send_queues_delivers_and_forgets_the_local_draft(qtbot: QtBot, world: World) -> None:
    reply = draft(
        kind=DraftKind.REPLY, original="<asked@example.org>", in_reply_to="<asked@example.org>"
    )
    world.drafts.save(reply)
    with qtbot.waitSignal(world.worker.original_sent, timeout=WAIT) as flagged:
        world.worker.send(reply)
    assert flagged.args[0] == OriginalToFlag("work", "<asked@example.org>", ANSWERED)
    [received] = world.server.received
    assert received.recipients == ["bob@example.org"]
    assert b"In-Reply-To: <asked@example.org>" in received.data
    assert world.drafts.saved_keys() == []
    assert world.worker.items() == []
    assert world.server_drafts == []  # never saved on the server: nothing to remove there


def test_a_forward_flags_forwarded_and_a_new_message_nothing(qtbot: QtBot, world: World) -> None:
    forward = draft(kind=DraftKind.FORWARD, original="<shared@example.org>")
    with qtbot.waitSignal(world.worker.original_sent, timeout=WAIT) as flagged:
        world.worker.send(forward)
    assert flagged.args[0].flag == FORWARDED
    with (
        qtbot.assertNotEmitted(world.worker.original_sent, wait=300),
        qtbot.waitSignal(world.worker.flushed, timeout=WAIT),
    ):
        world.worker.send(draft(subject="new"))


def test_sending_a_draft_from_the_server_removes_it_there(qtbot: QtBot, world: World) -> None:
    opened = draft(replaces="<old-copy@example.org>")
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(opened, on_server=True)
    assert ("remove", opened.key, "<old-copy@example.org>") in world.server_drafts


def test_a_message_that_cannot_be_built_stays_a_draft(
    qtbot: QtBot, world: World, tmp_path: Path
) -> None:
    broken = draft(attachments=(Attachment(filename="gone.pdf", path=tmp_path / "gone.pdf"),))
    with qtbot.waitSignal(world.worker.send_failed, timeout=WAIT) as failed:
        world.worker.send(broken)
    problem = failed.args[0]
    assert isinstance(problem, SendProblem)
    assert problem.key == broken.key and "gone.pdf" in problem.message
    assert world.drafts.load(broken.key).draft == broken  # what was written is kept
    assert world.worker.items() == []


def test_autosave_and_discard(qtbot: QtBot, world: World) -> None:
    typed = draft(body="half")
    with qtbot.waitSignal(world.worker.draft_saved, timeout=WAIT) as saved:
        world.worker.save_local(typed)
    assert saved.args == [typed.key, False]
    assert world.drafts.load(typed.key).draft == typed
    world.worker.discard(typed)
    qtbot.waitUntil(lambda: world.drafts.saved_keys() == [], timeout=WAIT)


def test_save_to_the_server_then_forget_the_local_copy(qtbot: QtBot, world: World) -> None:
    typed = draft(body="for later")
    with qtbot.waitSignal(world.worker.draft_saved, timeout=WAIT, check_params_cb=lambda k, s: s):
        world.worker.save_to_server(typed, keep_local=False)
    assert ("save", typed.key, "") in world.server_drafts
    qtbot.waitUntil(lambda: world.drafts.saved_keys() == [], timeout=WAIT)


class SlowDisk(LocalDrafts):
    """Local drafts whose save waits until the upload of the same draft started (or a
    while has passed): the Drafts folder must not receive a draft not yet saved here."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.uploading = threading.Event()

    def save(self, draft: Draft, *, upload_error: str = "") -> None:
        self.uploading.wait(2)
        super().save(draft, upload_error=upload_error)


def test_a_draft_is_saved_here_before_it_goes_to_the_server(
    qtbot: QtBot, world: World, tmp_path: Path
) -> None:
    disk = SlowDisk(tmp_path / "slow-drafts")
    world.worker.drafts = disk
    saved_here_at_upload: list[bool] = []

    def upload_started(key: str) -> None:
        saved_here_at_upload.append(key in disk.saved_keys())
        disk.uploading.set()

    world.on_server_save = upload_started
    told: list[bool] = []
    world.worker.draft_saved.connect(lambda key, on_server: told.append(on_server))
    typed = draft(body="for later")
    world.worker.save_to_server(typed, keep_local=True)
    qtbot.waitUntil(lambda: len(told) == 2, timeout=WAIT)
    assert saved_here_at_upload == [True]
    assert told == [False, True]  # in the order it happened: here, then on the server


def test_a_server_that_cannot_be_reached_keeps_the_draft_here(qtbot: QtBot, world: World) -> None:
    world.imap_down = True
    typed = draft(body="offline")
    with qtbot.waitSignal(world.worker.draft_save_failed, timeout=WAIT) as failed:
        world.worker.save_to_server(typed, keep_local=False)
    assert "kept on this computer" in failed.args[1]

    def kept_with_the_reason() -> bool:
        saved = world.drafts.saved_keys()
        return typed.key in saved and world.drafts.load(typed.key).upload_error != ""

    qtbot.waitUntil(kept_with_the_reason, timeout=WAIT)
    assert world.drafts.load(typed.key).draft == typed


def test_edit_takes_a_refused_message_back_with_its_bcc(qtbot: QtBot, world: World) -> None:
    unknown = (550, "5.1.1 No such user")
    world.server.script = Script(
        rcpt_replies={"nobody@example.org": unknown, "hidden@example.org": unknown}
    )
    refused = draft(
        to="nobody@example.org", bcc="hidden@example.org", subject="Oops", body="Keep me."
    )
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(refused)
    [item] = world.worker.items()
    assert (
        item.state is OutboxState.SENDING
        or item.state is OutboxState.QUEUED
        or (item.state is OutboxState.FAILED)
    )
    with qtbot.waitSignal(world.worker.edit_ready, timeout=WAIT) as ready:
        world.worker.edit(item.id)
    back = ready.args[0]
    assert (back.to, back.bcc, back.subject) == ("nobody@example.org", "hidden@example.org", "Oops")
    assert back.body.startswith("Keep me.")
    assert back.key != refused.key and back.replaces == ""
    assert world.worker.items() == []
    assert world.drafts.load(back.key).draft == back  # saved before it left the outbox


def test_delete_and_retry(qtbot: QtBot, world: World) -> None:
    world.server.script = Script(rcpt_replies={"bob@example.org": (550, "5.1.1 No such user")})
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(draft())
    [item] = world.worker.items()
    assert item.state is OutboxState.FAILED
    world.server.script = Script()
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.retry(item.id)
    assert world.worker.items() == []
    world.server.script = Script(rcpt_replies={"bob@example.org": (550, "5.1.1 No such user")})
    with qtbot.waitSignal(world.worker.flushed, timeout=WAIT):
        world.worker.send(draft(subject="second"))
    [item] = world.worker.items()
    with qtbot.waitSignal(world.worker.outbox_changed, timeout=WAIT):
        world.worker.delete(item.id)
    assert world.worker.items() == []


def test_the_servers_size_limit_is_remembered(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.server.script = Script(extensions=["PIPELINING", "SIZE 1000000"])
    monkeypatch.setattr(sending, "open_smtp", world.connect)
    limits = SizeLimits(tmp_path / "limits.json")
    assert limits.get("work") is None
    smtp = OutboxWorker.connect_recording(limits)(ACCOUNT, "secret")
    smtp.quit()
    assert limits.get("work") == 1_000_000
    assert SizeLimits(tmp_path / "limits.json").get("work") == 1_000_000  # kept on disk
    (tmp_path / "broken.json").write_text("[not a dict")
    assert SizeLimits(tmp_path / "broken.json").get("work") is None


def test_a_message_that_may_have_gone_warns_again_when_it_is_sent(
    qtbot: QtBot, world: World
) -> None:
    outbox = Outbox.open(world.store_path)
    try:
        item = outbox.add("work", build_message(draft(subject="Twice?").outgoing()))
        outbox.claim([item.id])
        outbox.mark_data_ending(item.id)
        (recovered,) = outbox.recover_interrupted()  # a sender died after the final dot
    finally:
        outbox.close()
    assert recovered.maybe_sent
    with qtbot.waitSignal(world.worker.failed, timeout=WAIT) as warned:
        world.worker.flush()
    assert warned.args[0] == (
        "“Twice?” was sent, but an earlier attempt that was interrupted after the data may "
        "already have delivered it: its recipients may receive it twice."
    )
    assert len(world.server.received) == 1


def test_a_damaged_outbox_file_is_told_with_what_was_kept(qtbot: QtBot, world: World) -> None:
    outbox = Outbox.open(world.store_path)
    try:
        outbox.add("work", build_message(draft(subject="Kept").outgoing()))
    finally:
        outbox.close()
    damage_marker(outbox_path(world.store_path)).touch()  # as an error met in use leaves it
    with qtbot.waitSignal(world.worker.failed, timeout=WAIT) as told:
        world.worker.flush()
    assert told.args[0].startswith("The outbox file was damaged. It was moved to ")
    assert "1 message read from it is in the outbox again" in told.args[0]
    qtbot.waitUntil(lambda: len(world.server.received) == 1, timeout=WAIT)
