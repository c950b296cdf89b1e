"""What the full-text index keeps of a received message's body."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

from mailclient.mime.search_text import IndexedText, indexed_text


def test_plain_text_with_quoted_lines_apart() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Gr=FC=DFe, the quok=\r\nka.\r\n> an older  line\r\n  >> older still\r\n"
    )
    assert indexed_text(raw) == IndexedText(
        "Grüße, the quokka.", "> an older  line\n  >> older still", ""
    )


def test_html_only_becomes_its_text_without_styles_or_scripts() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<style>p{color:red}</style><script>var secret</script>"
        b"<p>Meet the <b>okapi</b></p><blockquote>earlier words</blockquote>"
    )
    text = indexed_text(raw)
    assert "okapi" in text.body and "color" not in text.body and "secret" not in text.body
    assert "earlier words" in text.quoted


def test_attachment_names_and_the_plain_alternative() -> None:
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("the plain words")
    message.add_alternative("<p>the html words</p>", subtype="html")
    message.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="Plän.pdf")
    message.add_attachment(b"x", maintype="image", subtype="png", filename="photo.png")
    text = indexed_text(message.as_bytes(policy=SMTP))
    assert text.body == "the plain words"
    assert text.filenames.splitlines() == ["Plän.pdf", "photo.png"]


def test_a_message_without_a_body() -> None:
    assert indexed_text(b"Subject: nothing\r\n\r\n") == IndexedText("", "", "")
    assert indexed_text(b"") == IndexedText("", "", "")
