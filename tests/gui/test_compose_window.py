"""The compose window on its own, driven by keyboard and mouse (no servers involved)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QToolButton
from pytestqt.qtbot import QtBot

from mailclient.accounts.identities import Identity, identities_of
from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.mime.reply import new_body
from mailclient.ui.compose import window as compose
from mailclient.ui.compose.address_edit import AddressEdit, completion_model
from mailclient.ui.compose.window import ComposeWindow
from tests.gui.compose_helpers import DialogAnswerer, account, close_discarding, is_closed
from tests.support.waiting import wait_until

ACCOUNTS = [
    account(signature="Alice\nExample Corp", identities=("alice@example.net",)),
    account("home", "alice@home.example", display_name="Alice", signature="A."),
]


@pytest.fixture(autouse=True)
def fast_autosave(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose, "AUTOSAVE_MS", 50)


@pytest.fixture
def open_window(qtbot: QtBot) -> Iterator[Callable[..., ComposeWindow]]:
    """Opens compose windows; those a test leaves open are closed discarding their text."""
    opened: list[ComposeWindow] = []

    def open_one(draft: Draft | None = None, **options: object) -> ComposeWindow:
        window = _open(qtbot, draft, **options)
        opened.append(window)
        return window

    yield open_one
    for window in opened:
        close_discarding(qtbot, window)


def _open(qtbot: QtBot, draft: Draft | None = None, **options: object) -> ComposeWindow:
    identities = identities_of(ACCOUNTS)
    if draft is None:
        draft = Draft(account="work", sender=identities[0].sender, body="\n\n-- \nAlice")
    window = ComposeWindow(draft, identities, **options)  # type: ignore[arg-type]
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def chip_texts(edit: AddressEdit) -> list[str]:
    return [chip.text for chip in edit.chips()]


def test_new_message_by_keyboard(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    assert window.to_edit.hasFocus()
    assert window.windowTitle() == "Write: (no subject)"
    assert not window.cc_edit.isVisible() and not window.bcc_edit.isVisible()
    qtbot.keyClicks(window.to_edit, "Bob <bob@example.org>, carol@example.org")
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)
    assert window.subject_edit.hasFocus()
    qtbot.keyClicks(window.subject_edit, "Lunch on Friday?")
    assert window.windowTitle() == "Write: Lunch on Friday?"
    qtbot.keyClick(window.subject_edit, Qt.Key.Key_Tab)
    assert window.body_edit.hasFocus()
    qtbot.keyClicks(window.body_edit, "Shall we meet at noon?")
    with qtbot.waitSignal(window.send_requested) as sent:
        qtbot.keyClick(window.body_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    draft = sent.args[0]
    assert draft.to == "Bob <bob@example.org>, carol@example.org"
    assert draft.subject == "Lunch on Friday?"
    assert draft.body == "Shall we meet at noon?\n\n-- \nAlice"
    assert draft.html is None
    assert draft.account == "work" and draft.sender == "Alice Example <alice@example.org>"
    wait_until(lambda: is_closed(window), qtbot=qtbot)


def test_invalid_address_is_marked_and_stops_sending(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    qtbot.keyClicks(window.to_edit, "bob@example.org, carol@")
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)  # leaving the field checks it
    assert window.to_edit.is_marked_invalid()
    assert "carol@" in window.to_edit.toolTip()
    qtbot.keyClicks(window.subject_edit, "x")
    answers = DialogAnswerer(qtbot).answer("OK")
    with qtbot.assertNotEmitted(window.send_requested):
        window.send_action.trigger()
    assert answers.done() and "carol@" in answers.seen[0]
    assert window.isVisible()
    window.to_edit.setFocus()
    qtbot.keyClicks(window.to_edit, "example.org")
    assert not window.to_edit.is_marked_invalid()  # fixed: the mark goes at once


def test_no_recipient_is_refused(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    answers = DialogAnswerer(qtbot).answer("OK")
    with qtbot.assertNotEmitted(window.send_requested):
        window.send_action.trigger()
    assert answers.seen == ["Add at least one recipient."]


def test_cc_and_bcc_show_and_hide(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    window.show_cc_action.trigger()
    assert window.cc_edit.isVisible() and window.cc_edit.hasFocus()
    qtbot.keyClicks(window.cc_edit, "dave@example.org")
    window.show_cc_action.trigger()  # hiding a field with addresses in it is refused
    assert window.cc_edit.isVisible()
    window.cc_edit.clear()
    window.show_cc_action.trigger()
    assert not window.cc_edit.isVisible()
    window.show_bcc_action.trigger()
    qtbot.keyClicks(window.bcc_edit, "eve@example.org")
    assert window.draft().bcc == "eve@example.org"


@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_completion_from_known_people(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    model = completion_model(["Carol Singer <carol@example.org>", "Bob <bob@example.org>"])
    window.set_completion_model(model)
    qtbot.keyClicks(window.to_edit, "dave@example.org, sing")
    wait_until(window.to_edit.completer_popup_visible, qtbot=qtbot)
    qtbot.keyClick(window.to_edit.completion_popup(), Qt.Key.Key_Return)
    assert chip_texts(window.to_edit) == ["dave@example.org", "Carol Singer <carol@example.org>"]
    assert window.to_edit.editor.text() == ""
    qtbot.keyClicks(window.to_edit, "bo")
    wait_until(window.to_edit.completer_popup_visible, qtbot=qtbot)
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)
    assert chip_texts(window.to_edit)[-1] == "Bob <bob@example.org>"
    assert window.to_edit.addresses() == (
        "dave@example.org, Carol Singer <carol@example.org>, Bob <bob@example.org>"
    )


@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_a_completed_person_can_be_sent_to(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    model = completion_model(['"Builder, Bob" <bob@example.test>', "Carol <carol@example.org>"])
    window.set_completion_model(model)
    qtbot.keyClicks(window.to_edit, "carol@example.org; bui")
    wait_until(window.to_edit.completer_popup_visible, qtbot=qtbot)
    qtbot.keyClick(window.to_edit.completion_popup(), Qt.Key.Key_Return)
    assert chip_texts(window.to_edit) == ["carol@example.org", '"Builder, Bob" <bob@example.test>']
    qtbot.keyClicks(window.to_edit, "car")
    wait_until(window.to_edit.completer_popup_visible, qtbot=qtbot)
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)
    assert chip_texts(window.to_edit)[-1] == "Carol <carol@example.org>"
    assert not any(chip.problem for chip in window.to_edit.chips())
    qtbot.keyClick(window.to_edit, Qt.Key.Key_Tab)  # leaving the field checks it
    assert not window.to_edit.is_marked_invalid()
    qtbot.keyClicks(window.subject_edit, "Plans")
    with qtbot.waitSignal(window.send_requested) as sent:
        window.send_action.trigger()
    assert sent.args[0].to == (
        'carol@example.org, "Builder, Bob" <bob@example.test>, Carol <carol@example.org>'
    )


def test_each_recipient_is_a_chip_marked_on_its_own(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    edit = window.to_edit
    qtbot.keyClicks(edit, '"Doe, J." <j@example.org>; bob@example, carol.example.org, da')
    assert chip_texts(edit) == ['"Doe, J." <j@example.org>', "bob@example", "carol.example.org"]
    assert edit.editor.text() == "da"
    [bad] = [chip for chip in edit.chips() if chip.problem]
    assert bad.text == "carol.example.org"
    assert bad.label.text().startswith("\u26a0")  # a sign, not only a colour
    assert bad.accessibleName() == "Not an address: carol.example.org"
    assert "is not an address" in bad.toolTip()

    qtbot.keyClicks(edit, "ve@example.org")
    qtbot.keyClick(edit, Qt.Key.Key_Tab)  # leaving the field makes a chip of the rest
    assert chip_texts(edit)[-1] == "dave@example.org" and edit.editor.text() == ""
    assert edit.is_marked_invalid() and "'carol.example.org'" in edit.toolTip()

    bad.remove_button.click()
    wait_until(lambda: "carol.example.org" not in chip_texts(edit), qtbot=qtbot)
    assert not edit.is_marked_invalid()
    assert edit.text() == '"Doe, J." <j@example.org>, bob@example, dave@example.org'

    edit.editor.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)  # the last one comes back to be edited
    assert edit.editor.text() == "dave@example.org"
    assert chip_texts(edit) == ['"Doe, J." <j@example.org>', "bob@example"]

    edit.selectAll()
    qtbot.keyClicks(edit, "zoe@example.org")  # typing over everything replaces it
    assert edit.text() == "zoe@example.org" and chip_texts(edit) == []


def test_only_the_bad_address_is_named(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    window.to_edit.setText("bob@example.org, carol.example.org, dave@example.org")
    qtbot.keyClicks(window.subject_edit, "x")
    answers = DialogAnswerer(qtbot).answer("OK")
    with qtbot.assertNotEmitted(window.send_requested):
        window.send_action.trigger()
    assert answers.done()
    assert answers.seen == ["To: 'carol.example.org' is not an address like ann@example.org"]
    # The bad one is taken back for editing; the good ones stay chips.
    assert window.to_edit.editor.text() == "carol.example.org"
    assert chip_texts(window.to_edit) == ["bob@example.org", "dave@example.org"]


def test_reply_starts_in_the_body_above_the_quote(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    draft = Draft(
        account="work",
        sender="Alice Example <alice@example.org>",
        to="bob@example.org",
        subject="Re: Lunch",
        body="\n\n-- \nAlice\n\nOn Mon, Bob wrote:\n> Shall we?\n",
        kind=DraftKind.REPLY,
        original="<m1@example.org>",
    )
    window = open_window(draft)
    assert window.body_edit.hasFocus()
    assert window.body_edit.textCursor().position() == 0
    qtbot.keyClicks(window.body_edit, "Yes!")
    assert window.draft().body.startswith("Yes!\n\n-- \nAlice\n\nOn Mon")


def test_changing_from_swaps_the_signature(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window(
        Draft(
            account="work",
            sender="Alice Example <alice@example.org>",
            body=new_body("Alice\nExample Corp"),
        )
    )
    assert window.draft().body == "\n\n-- \nAlice\nExample Corp"
    window.from_box.setCurrentIndex(2)
    assert window.draft().account == "home"
    assert window.draft().body == "\n\n-- \nA."


def test_attachments_add_show_and_remove(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], tmp_path: Path
) -> None:
    (tmp_path / "report.pdf").write_bytes(b"x" * 250_000)
    (tmp_path / "notes.txt").write_text("notes")
    window = open_window()
    assert not window.attachment_list.isVisible()
    window.add_files([tmp_path / "report.pdf", tmp_path / "notes.txt"])
    assert window.attachment_list.isVisible()
    chips = window.attachment_list.list
    labels = [
        chips.itemWidget(chips.item(row)).findChild(QLabel, "attachmentLabel").text()
        for row in range(2)
    ]
    assert chips.count() == 2
    assert "report.pdf" in labels[0] and "250 kB" in labels[0]
    assert window.attachment_list.summary.text() == "2 attachments, 250 kB"
    remove = window.attachment_list.findChildren(QToolButton, "removeAttachment")[0]
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    assert [a.filename for a in window.draft().attachments] == ["notes.txt"]
    window.attachment_list.list.setCurrentRow(0)
    window.attachment_list.list.setFocus()
    qtbot.keyClick(window.attachment_list.list, Qt.Key.Key_Delete)
    assert window.draft().attachments == ()
    assert not window.attachment_list.isVisible()


def test_files_dropped_on_the_body_become_attachments(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG")
    window = open_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo)), QUrl("https://example.org/x")])
    viewport = window.body_edit.viewport()
    enter = QDragEnterEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPoint(10, 10).toPointF(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(viewport, drop)
    assert [a.path for a in window.draft().attachments] == [photo]
    assert "photo" not in window.body_edit.toPlainText()


def test_mentioned_attachment_asks_before_sending(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    window.to_edit.setText("bob@example.org")
    window.subject_edit.setText("Report")
    window.body_edit.setPlainText("Here is the report, attached.\n\n> nothing attached here")
    answers = DialogAnswerer(qtbot).answer("Keep Writing")
    with qtbot.assertNotEmitted(window.send_requested):
        window.send()
    assert "mentions an attachment" in answers.seen[0]
    answers.answer("Send Without Attachment")
    with qtbot.waitSignal(window.send_requested):
        window.send()


def test_size_above_the_servers_limit_warns(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 2_000_000)
    window = open_window(size_limit=lambda account: 1_000_000 if account == "work" else None)
    assert not window.warning.isVisible()
    window.add_files([big])
    assert window.warning.isVisible()
    assert "1.0 MB" in window.warning.text()
    window.from_box.setCurrentIndex(2)  # the other account's server has no known limit
    assert not window.warning.isVisible()
    window.from_box.setCurrentIndex(0)
    window.to_edit.setText("bob@example.org")
    window.subject_edit.setText("big")
    answers = DialogAnswerer(qtbot).answer("Keep Writing")
    with qtbot.assertNotEmitted(window.send_requested):
        window.send()
    assert "accepts at most" in answers.seen[0]


def test_rich_text_sends_html_with_a_plain_alternative(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    window.body_edit.setPlainText("")
    window.rich_action.trigger()
    assert window.format_bar.isVisible()
    body = window.body_edit
    body.setFocus()
    qtbot.keyClick(body, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(body, "Bold")
    qtbot.keyClick(body, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(body, " plain ")
    qtbot.keyClick(body, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(body, "slanted")
    qtbot.keyClick(body, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(body, Qt.Key.Key_Return)
    window.bullets_action.trigger()
    qtbot.keyClicks(body, "first")
    qtbot.keyClick(body, Qt.Key.Key_Return)
    qtbot.keyClicks(body, "second")
    draft = window.draft()
    assert draft.html is not None
    assert "font-weight:700" in draft.html and "font-style:italic" in draft.html
    assert "<ul" in draft.html and "<body>" in draft.html
    assert draft.body == "Bold plain slanted\n- first\n- second"
    window.rich_action.trigger()  # back to plain text: the words stay
    assert window.body_edit.toPlainText() == "Bold plain slanted\n- first\n- second"
    assert window.draft().html is None


def test_links_in_rich_text(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window()
    window.body_edit.setPlainText("")
    window.rich_action.trigger()
    qtbot.keyClicks(window.body_edit, "see ")
    monkeypatch.setattr(compose.QInputDialog, "getText", lambda *a, **k: ("example.org/docs", True))
    window.link_action.trigger()
    qtbot.keyClicks(window.body_edit, " now")
    draft = window.draft()
    assert draft.html is not None and 'href="https://example.org/docs"' in draft.html
    assert draft.body == "see https://example.org/docs now"


def test_autosave_hands_out_changes_only(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    with qtbot.assertNotEmitted(window.autosave_requested, wait=200):
        pass  # nothing typed: nothing saved
    with qtbot.waitSignal(window.autosave_requested) as saved:
        qtbot.keyClicks(window.subject_edit, "Draft")
    assert saved.args[0].subject == "Draft"
    with qtbot.assertNotEmitted(window.autosave_requested, wait=200):
        pass


def test_mentioned_attachment_offers_attach_first(
    qtbot: QtBot,
    open_window: Callable[..., ComposeWindow],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(b"%PDF-1.4")
    monkeypatch.setattr(
        compose.QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(report)], "")
    )
    window = open_window()
    window.to_edit.setText("bob@example.org")
    window.subject_edit.setText("Report")
    window.body_edit.setPlainText("The report is attached.")
    defaults: list[str] = []

    def press_return() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QMessageBox) and not defaults:
            defaults.append(dialog.defaultButton().text().replace("&", ""))
            qtbot.keyClick(dialog, Qt.Key.Key_Return)

    timer = QTimer()
    timer.timeout.connect(press_return)
    timer.start(20)
    with qtbot.assertNotEmitted(window.send_requested):
        window.send()
    timer.stop()
    assert defaults == ["Attach…"]
    assert [a.path for a in window.draft().attachments] == [report]
    assert window.isVisible()


def test_escape_and_ctrl_w_close(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    window.body_edit.setFocus()
    with qtbot.waitSignal(window.discarded):
        qtbot.keyClick(window.body_edit, Qt.Key.Key_Escape)
    assert is_closed(window)

    window = open_window()
    qtbot.keyClicks(window.subject_edit, "Unfinished")
    answers = DialogAnswerer(qtbot).answer("Cancel")
    qtbot.keyClick(window.subject_edit, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert answers.done() and answers.seen == ["Save this message as a draft before closing?"]
    assert window.isVisible()


@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_escape_in_completion_closes_only_the_list(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    window.set_completion_model(completion_model(["Bob <bob@example.org>"]))
    qtbot.keyClicks(window.to_edit, "bo")
    wait_until(window.to_edit.completer_popup_visible, qtbot=qtbot)
    qtbot.keyClick(window.to_edit.completion_popup(), Qt.Key.Key_Escape)
    wait_until(lambda: not window.to_edit.completer_popup_visible(), qtbot=qtbot)
    assert window.isVisible()


def test_choosing_only_another_sender_is_no_change(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    window.from_box.setCurrentIndex(2)  # another account, another signature
    assert window.draft().account == "home"
    assert not window.has_changes()
    with qtbot.waitSignal(window.discarded):
        window.close()

    window = open_window()
    qtbot.keyClicks(window.subject_edit, "Hello")
    window.from_box.setCurrentIndex(2)
    assert window.has_changes()  # a real change stays one


def test_close_with_changes_asks(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    qtbot.keyClicks(window.subject_edit, "Unfinished")
    answers = DialogAnswerer(qtbot).answer("Cancel")
    window.close()
    assert window.isVisible() and answers.done()

    answers.answer("Save")
    with qtbot.waitSignal(window.save_requested) as saved:
        window.close()
    draft, closing = saved.args
    assert draft.subject == "Unfinished" and closing is True
    assert not window.isVisible()


def test_close_discarding(qtbot: QtBot, open_window: Callable[..., ComposeWindow]) -> None:
    window = open_window()
    qtbot.keyClicks(window.subject_edit, "Never mind")
    answers = DialogAnswerer(qtbot).answer("Discard")
    with qtbot.waitSignal(window.discarded):
        window.close()
    assert answers.done()


def test_close_without_changes_does_not_ask(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window()
    with qtbot.waitSignal(window.discarded):
        window.close()


def test_a_recovered_draft_asks_even_unchanged(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    window = open_window(unsaved=True)
    answers = DialogAnswerer(qtbot).answer("Cancel")
    window.close()
    assert answers.done() and window.isVisible()
    answers = DialogAnswerer(qtbot).answer("Discard")
    window.close()
    assert answers.done() and is_closed(window)


def test_forwarded_attachments_are_listed(
    qtbot: QtBot, open_window: Callable[..., ComposeWindow]
) -> None:
    draft = Draft(
        account="home",
        sender="Alice <alice@home.example>",
        subject="Fwd: photos",
        attachments=(Attachment(filename="beach.jpg", data=b"j" * 3000),),
        kind=DraftKind.FORWARD,
    )
    window = open_window(draft)
    assert window.to_edit.hasFocus()
    assert window.from_box.currentData() == Identity(
        "home", "Alice <alice@home.example>", "alice@home.example", "A."
    )
    assert window.attachment_list.summary.text() == "1 attachment, 3 kB"
    assert window.draft().attachments == draft.attachments
