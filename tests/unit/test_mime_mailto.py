"""mailto: links (RFC 6068), including the examples of its section 6."""

from __future__ import annotations

import pytest

from mailclient.core.errors import InvalidInput
from mailclient.mime.mailto import MailtoFields, parse_mailto


def test_plain_address() -> None:
    assert parse_mailto("mailto:chris@example.com") == MailtoFields(to="chris@example.com")


def test_rfc6068_examples() -> None:
    assert parse_mailto("mailto:infobot@example.com?subject=current-issue") == MailtoFields(
        to="infobot@example.com", subject="current-issue"
    )
    assert parse_mailto("mailto:infobot@example.com?body=send%20current-issue") == MailtoFields(
        to="infobot@example.com", body="send current-issue"
    )
    fields = parse_mailto("mailto:infobot@example.com?body=send%20current-issue%0D%0Asend%20index")
    assert fields.body == "send current-issue\nsend index"
    assert parse_mailto("mailto:?to=addr1@an.example,addr2@an.example").to == (
        "addr1@an.example,addr2@an.example"
    )
    assert parse_mailto("mailto:addr1@an.example?to=addr2@an.example").to == (
        "addr1@an.example, addr2@an.example"
    )
    fields = parse_mailto("mailto:list@example.org?In-Reply-To=%3C3469A91.D10AF4C@example.com%3E")
    assert fields.in_reply_to == "<3469A91.D10AF4C@example.com>"


def test_percent_encoded_utf8_and_plus_sign() -> None:
    fields = parse_mailto(
        "mailto:user@example.org?subject=%E2%98%95%20caf%C3%A9&body=1+1%3D2&cc=a%2Bb@example.org"
    )
    assert fields.subject == "☕ café"
    assert fields.body == "1+1=2"  # a '+' stays a plus sign
    assert fields.cc == "a+b@example.org"


def test_field_names_ignore_case_and_repeats_join() -> None:
    fields = parse_mailto(
        "MAILTO:bob@example.org?CC=carol@example.org&cc=dave@example.org&Subject=one"
        "&subject=two&BCC=eve@example.org"
    )
    assert fields.to == "bob@example.org"
    assert fields.cc == "carol@example.org, dave@example.org"
    assert fields.bcc == "eve@example.org"
    assert fields.subject == "one"


def test_header_fields_lose_line_breaks() -> None:
    fields = parse_mailto("mailto:bob@example.org?subject=Hi%0D%0ABcc:%20spy@evil.example")
    assert fields.subject == "Hi Bcc: spy@evil.example"
    assert fields.bcc == ""


def test_other_headers_are_ignored() -> None:
    fields = parse_mailto(
        "mailto:bob@example.org?From=boss@example.org&Reply-To=x@evil.example&X-Foo=1"
        "&in-reply-to=not-an-id"
    )
    assert fields == MailtoFields(to="bob@example.org")


def test_fragment_and_slashes() -> None:
    assert parse_mailto("mailto://bob@example.org?subject=a#frag") == MailtoFields(
        to="bob@example.org", subject="a"
    )


def test_not_a_mailto_link() -> None:
    with pytest.raises(InvalidInput):
        parse_mailto("https://example.org")
