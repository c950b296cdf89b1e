"""The search language: what parses into which terms, and clear errors for what does not."""

from __future__ import annotations

import pytest

from mailclient.core.errors import InvalidInput
from mailclient.core.query import Field, Query, QueryError, Term, parse_as_typed, parse_query


def test_free_words_phrases_fields_and_negation() -> None:
    query = parse_query('from:bob "annual  report" -draft has:attachment after:2024-01-01')
    assert query.terms == (
        Term(Field.FROM, "bob"),
        Term(Field.TEXT, "annual report", phrase=True),
        Term(Field.TEXT, "draft", negated=True),
        Term(Field.HAS, "attachment"),
        Term(Field.AFTER, "2024-01-01"),
    )


def test_every_field_of_the_language() -> None:
    query = parse_query(
        "to:alice cc:carol subject:plan body:invoice filename:plan.pdf is:unread "
        "is:flagged is:answered before:2024/3/9 folder:Archive account:work"
    )
    assert [(t.field, t.value) for t in query.terms] == [
        (Field.TO, "alice"),
        (Field.CC, "carol"),
        (Field.SUBJECT, "plan"),
        (Field.BODY, "invoice"),
        (Field.FILENAME, "plan.pdf"),
        (Field.IS, "unread"),
        (Field.IS, "flagged"),
        (Field.IS, "answered"),
        (Field.BEFORE, "2024-03-09"),
        (Field.FOLDER, "Archive"),
        (Field.ACCOUNT, "work"),
    ]


def test_field_names_ignore_case_and_values_may_be_quoted() -> None:
    query = parse_query('FROM:"Bob Smith" Folder:"Sent Items" -subject:"re: x" IS:Unread')
    assert query.terms == (
        Term(Field.FROM, "Bob Smith", phrase=True),
        Term(Field.FOLDER, "Sent Items", phrase=True),
        Term(Field.SUBJECT, "re: x", negated=True, phrase=True),
        Term(Field.IS, "unread"),
    )


def test_gmail_spellings_of_flags() -> None:
    assert parse_query("is:starred is:seen is:replied").terms == (
        Term(Field.IS, "flagged"),
        Term(Field.IS, "read"),
        Term(Field.IS, "answered"),
    )


def test_unknown_field_names_and_colons_are_plain_text() -> None:
    query = parse_query("10:30 https://example.org/x re:hello")
    assert query.terms == (
        Term(Field.TEXT, "10:30"),
        Term(Field.TEXT, "https://example.org/x"),
        Term(Field.TEXT, "re:hello"),
    )


def test_empty_and_blank_queries_match_everything() -> None:
    assert parse_query("") == Query()
    assert parse_query("  \t\n ") == Query()


def test_non_ascii_words_are_kept_as_typed() -> None:
    query = parse_query("Grüße Ελλάδα москва 東京都 from:Jürgen")
    assert [t.value for t in query.terms] == ["Grüße", "Ελλάδα", "москва", "東京都", "Jürgen"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('"annual report', "not closed"),
        ('from:"bob', "not closed"),
        ("from:", "needs a value"),
        ('subject:""', "needs a value"),
        ('""', "empty phrase"),
        ("- word", "negates nothing"),
        ("word -", "negates nothing"),
        ("is:sleepy", "is:unread"),
        ("has:cats", "has:attachment"),
        ("before:yesterday", "YYYY-MM-DD"),
        ("after:2024-02-30", "YYYY-MM-DD"),
        ("after:2024-13-01", "YYYY-MM-DD"),
    ],
)
def test_malformed_queries_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(text)
    assert says in str(raised.value)
    # A QueryError is an InvalidInput: the command line and the window show its message.
    assert isinstance(raised.value, InvalidInput)


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE messages; --",
        'word" OR 1=1 --"',
        "NEAR(a b) AND c OR NOT d",
        "subject:* body:^x from:{sender}",
        "a) (b",
    ],
)
def test_sql_and_fts_syntax_is_only_text(text: str) -> None:
    # Operators of SQL and FTS5 come out as words to look for, never as structure.
    # The store binds each as a parameter and quotes it for FTS5 (tests/unit/test_search.py).
    query = parse_query(text)
    assert query.terms
    assert all(t.field in (Field.TEXT, Field.SUBJECT, Field.BODY, Field.FROM) for t in query.terms)


def test_words_to_highlight_are_the_free_words_and_phrases_that_must_match() -> None:
    query = parse_query('plan "annual report" -draft filename:x.pdf from:bob is:unread body:q3')
    assert query.highlights() == [("plan", False), ("annual report", True), ("q3", False)]


def test_folder_and_account_terms_choose_folders() -> None:
    query = parse_query("report folder:archive -account:home")
    assert query.allows_folder("work", "Archive")
    assert not query.allows_folder("work", "INBOX")
    assert not query.allows_folder("home", "Archive")
    assert parse_query("report").allows_folder("any", "where")
    assert not parse_query("-folder:Trash").allows_folder("work", "trash")


def test_a_query_being_typed_searches_its_words_and_says_what_to_finish() -> None:
    query, error = parse_as_typed('from:bob "annual rep')
    assert query.terms == (Term(Field.FROM, "bob"), Term(Field.TEXT, "annual rep"))
    assert error is not None and "not closed" in str(error)
    assert parse_as_typed("subject: -")[0] == Query()
    assert parse_as_typed("is:unr plan")[0].terms == (
        Term(Field.TEXT, "is:unr"),
        Term(Field.TEXT, "plan"),
    )
    assert parse_as_typed("from:bob") == (Query((Term(Field.FROM, "bob"),)), None)
