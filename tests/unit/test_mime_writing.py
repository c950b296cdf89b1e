"""The rules of writing a message, without its window: what to ask before sending, what
counts as a change, how a signature is swapped, how big the message will be."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mailclient.core.draft import Draft, DraftKind
from mailclient.core.outgoing import Attachment
from mailclient.core.units import human_size
from mailclient.mime.writing import (
    ConcernKind,
    attachment_size,
    clean_html,
    concerns,
    estimated_size,
    has_changes,
    link_target,
    mentions_attachment,
    only_sender_changed,
    over_limit,
    recipients_problem,
    replaced_signature,
    window_title,
    worth_autosaving,
)

READY = Draft(
    account="work", sender="Alice <alice@example.org>", to="bob@example.org", subject="Hi"
)


def kinds(draft: Draft, size: int = 1000, limit: int | None = None) -> list[ConcernKind]:
    return [c.kind for c in concerns(draft, size, limit)]


def test_a_complete_message_raises_no_concern() -> None:
    assert kinds(READY) == []


def test_no_recipient_stops_sending_and_bcc_alone_is_enough() -> None:
    found = concerns(replace(READY, to=" "), 1000, None)
    assert [(c.kind, c.blocking, c.text) for c in found] == [
        (ConcernKind.NO_RECIPIENT, True, "Add at least one recipient.")
    ]
    assert kinds(replace(READY, to="", bcc="carol@example.org")) == []


def test_an_attachment_gone_from_the_disk_stops_sending(tmp_path: Path) -> None:
    here = tmp_path / "here.pdf"
    here.write_bytes(b"%PDF")
    gone = tmp_path / "gone.pdf"
    draft = replace(
        READY,
        attachments=(Attachment(path=here, filename="here.pdf"), Attachment(path=gone)),
    )
    (concern,) = concerns(draft, 1000, None)
    assert concern.kind is ConcernKind.ATTACHMENT_GONE and concern.blocking
    assert str(gone) in concern.text
    assert kinds(replace(draft, attachments=draft.attachments[:1])) == []


def test_a_mentioned_but_missing_attachment_is_asked_about() -> None:
    (concern,) = concerns(replace(READY, body="The report is attached."), 1000, None)
    assert concern.kind is ConcernKind.ATTACHMENT_FORGOTTEN and not concern.blocking
    attached = (Attachment(data=b"x", filename="report.txt"),)
    assert kinds(replace(READY, body="Attached.", attachments=attached)) == []


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ("Anbei der Bericht.", True),
        ("See the file I promised.", True),
        ("Ci-joint la facture.", True),
        ("Thanks!\n\n> see the attached file\n-- \nattached", False),
        ("He was attacked by geese.", False),
    ],
)
def test_only_the_writers_own_words_count(body: str, mentions: bool) -> None:
    assert mentions_attachment(body) is mentions


def test_too_large_for_the_server_is_asked_about() -> None:
    (concern,) = concerns(READY, 2_500_000, 2_000_000)
    assert concern.kind is ConcernKind.TOO_LARGE and not concern.blocking
    assert "about 2.5 MB" in concern.text and "at most 2.0 MB" in concern.text
    assert kinds(READY, 2_000_000, 2_000_000) == []
    assert kinds(READY, 9_000_000, None) == []
    assert not over_limit(10, 0)


def test_no_subject_is_asked_last() -> None:
    draft = replace(READY, subject="  ", body="see attachment", to="")
    assert kinds(draft, 5000, 10) == [
        ConcernKind.NO_RECIPIENT,
        ConcernKind.ATTACHMENT_FORGOTTEN,
        ConcernKind.TOO_LARGE,
        ConcernKind.NO_SUBJECT,
    ]


def test_recipient_problems_name_each_bad_item() -> None:
    assert recipients_problem("To", "") == ""
    assert recipients_problem("To", "bob@example.org, carol@example.org") == ""
    one = recipients_problem("Cc", "bob@example.org, nobody")
    assert one.startswith("Cc: ") and "nobody" in one
    two = recipients_problem("To", "nobody, bob@example.org, somebody")
    assert two == "To: 'nobody', 'somebody' are not addresses like ann@example.org"


def test_what_counts_as_a_change() -> None:
    assert has_changes(None, READY)
    assert not has_changes(READY, replace(READY))
    assert has_changes(READY, replace(READY, body="more"))
    other_from = replace(READY, account="home", sender="Alice <alice@home.example>")
    assert only_sender_changed(READY, other_from)
    assert not only_sender_changed(READY, replace(other_from, subject="Hello"))
    assert not only_sender_changed(None, other_from)


def test_autosave_only_what_neither_was_opened_nor_saved_already() -> None:
    edited = replace(READY, body="more")
    assert worth_autosaving(edited, None, None)
    assert worth_autosaving(edited, None, READY)
    assert not worth_autosaving(edited, edited, READY)
    assert not worth_autosaving(READY, None, READY)


def test_signature_swapped_in_place_or_added_to_a_new_message() -> None:
    body = "Hello\n\n-- \nAlice\n\n> quoted"
    assert (
        replaced_signature(body, "Alice", "A.", DraftKind.REPLY) == "Hello\n\n-- \nA.\n\n> quoted"
    )
    assert replaced_signature("Hello\n\n", "", "A.", DraftKind.NEW) == "Hello\n\n-- \nA."
    assert replaced_signature("Hello", "", "A.", DraftKind.REPLY) is None
    assert replaced_signature(body, "Alice", "Alice", DraftKind.NEW) is None
    # The writer removed the old signature: nothing to swap.
    assert replaced_signature("Hello", "Alice", "A.", DraftKind.NEW) is None


def test_sizes() -> None:
    assert [human_size(n) for n in (999, 1000, 45_600, 2_340_000)] == [
        "999 B",
        "1 kB",
        "46 kB",
        "2.3 MB",
    ]
    # Attachments grow by a third in base64; headers add a few kB.
    assert estimated_size("", [3000]) == 4000 + 4096
    assert estimated_size("ü" * 100, []) == 220 + 4096


def test_attachment_size_from_data_or_file(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"12345")
    assert attachment_size(Attachment(data=b"abc")) == 3
    assert attachment_size(Attachment(path=path)) == 5
    assert attachment_size(Attachment(path=tmp_path / "gone")) == 0


def test_links_without_a_scheme() -> None:
    assert link_target("example.org/docs") == "https://example.org/docs"
    assert link_target("bob@example.org") == "mailto:bob@example.org"
    assert link_target("HTTP://example.org") == "HTTP://example.org"
    assert link_target("example.org/~bob@home") == "https://example.org/~bob@home"


def test_title_and_html() -> None:
    assert window_title("  Lunch ") == "Write: Lunch"
    assert window_title(" ") == "Write: (no subject)"
    assert clean_html('<body style="font-size:9pt;">x</body>') == "<body>x</body>"
