"""The search language people know from Gmail and notmuch, parsed into plain terms.

``parse_query('from:bob "annual report" -draft has:attachment after:2024-01-01')`` gives
a Query of Terms; the store and the IMAP module turn the terms into parameters of their
own queries. Nothing the user types is ever passed on as SQL, FTS5 or IMAP syntax: a term
is a field and a value, and the value is only ever bound as a parameter or quoted.

Grammar: terms separated by white space, all of which must match. A term is a word, a
``"quoted phrase"``, or ``field:value`` (the value may be quoted), each optionally
preceded by ``-`` to negate it. ``field:`` with an unknown field name is an ordinary word
(a time like 10:30 or a URL searches as text, as in Gmail and notmuch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mailclient.core.errors import InvalidInput


class QueryError(InvalidInput):
    """The query cannot be understood; the message says where and why."""

    def __init__(self, message: str) -> None:
        super().__init__("query", message)


class Field(StrEnum):
    """What a term looks at."""

    TEXT = "text"  # any text: headers, attachment names and the body
    FROM = "from"
    TO = "to"  # To and Cc
    CC = "cc"
    SUBJECT = "subject"
    BODY = "body"
    FILENAME = "filename"
    HAS = "has"
    IS = "is"
    BEFORE = "before"
    AFTER = "after"
    FOLDER = "folder"
    ACCOUNT = "account"


TEXT_FIELDS = frozenset(
    {Field.TEXT, Field.FROM, Field.TO, Field.CC, Field.SUBJECT, Field.BODY, Field.FILENAME}
)
_FIELDS = {f.value: f for f in Field if f is not Field.TEXT}


class Flag(StrEnum):
    """The values of ``is:``."""

    UNREAD = "unread"
    READ = "read"
    FLAGGED = "flagged"
    ANSWERED = "answered"


_HAS = ("attachment",)
# Synonyms people type, as Gmail and Thunderbird spell them.
_IS_ALIASES = {"starred": Flag.FLAGGED, "seen": Flag.READ, "replied": Flag.ANSWERED}
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")


@dataclass(frozen=True)
class Term:
    """One condition of a query.

    ``value`` is the text to look for (for text fields), the Flag value for ``is:``,
    ``attachment`` for ``has:``, an ISO date for ``before:``/``after:``, or the name for
    ``folder:``/``account:``. The words of a text value must appear together, in order;
    ``phrase`` marks a value given in quotes, matched as whole words, where otherwise the
    last word also matches as the start of a longer one (``invoice``: ``invoices``).
    """

    field: Field
    value: str
    negated: bool = False
    phrase: bool = False

    @property
    def day(self) -> date:
        """The date of a ``before:`` or ``after:`` term."""
        return date.fromisoformat(self.value)


@dataclass(frozen=True)
class Query:
    """A parsed query: every term must hold (an empty query matches everything)."""

    terms: tuple[Term, ...] = ()

    @property
    def text_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.field in TEXT_FIELDS)

    def allows_folder(self, account: str, folder: str) -> bool:
        """Whether the ``folder:`` and ``account:`` terms let messages of this folder match."""
        for term in self.terms:
            if term.field is Field.FOLDER:
                same = term.value.casefold() == folder.casefold()
            elif term.field is Field.ACCOUNT:
                same = term.value == account
            else:
                continue
            if same == term.negated:
                return False
        return True

    def highlights(self) -> list[tuple[str, bool]]:
        """What to mark in a shown message: the free words and phrases (and ``body:``
        terms) that must match, each with whether it is a quoted phrase."""
        marked: list[tuple[str, bool]] = []
        for term in self.terms:
            if term.field in (Field.TEXT, Field.BODY) and not term.negated:
                marked.append((term.value, term.phrase))
        return marked


def parse_query(text: str) -> Query:
    """Parse ``text``; raises QueryError with a message a person can act on."""
    return Query(tuple(_Parser(text).terms()))


def parse_as_typed(text: str) -> tuple[Query, QueryError | None]:
    """Parse a query being typed: what does not parse yet (an open quote, ``from:``)
    searches as plain words, and the error says what to finish."""
    try:
        return parse_query(text), None
    except QueryError as error:
        if text.count('"') % 2:
            try:
                closed = parse_query(text + '"').terms
            except QueryError:
                pass
            else:
                # The phrase being typed: its last word may go on.
                last = Term(closed[-1].field, closed[-1].value, closed[-1].negated)
                return Query((*closed[:-1], last)), error
        words = (word.strip('"-') for word in text.split())
        return Query(tuple(Term(Field.TEXT, w) for w in words if w and not w.endswith(":"))), error


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def terms(self) -> list[Term]:
        found: list[Term] = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                return found
            found.append(self._term())

    def _skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _term(self) -> Term:
        start = self.pos
        negated = self.text[self.pos] == "-"
        if negated:
            self.pos += 1
            if self.pos >= len(self.text) or self.text[self.pos].isspace():
                raise QueryError(
                    f"A '-' at position {start + 1} negates nothing: write it right before "
                    "a word, as in -draft."
                )
        if self.text[self.pos] == '"':
            return self._text(Field.TEXT, self._quoted(), negated, phrase=True)
        word = self._word()
        name, colon, rest = word.partition(":")
        field = _FIELDS.get(name.lower()) if colon else None
        if field is None:
            return self._text(Field.TEXT, word, negated, phrase=False)
        if not rest and self.pos < len(self.text) and self.text[self.pos] == '"':
            value, phrase = self._quoted(), True
        else:
            value, phrase = rest, False
        if not value.strip():
            raise QueryError(
                f"'{name}:' needs a value right after the colon, as in {_EXAMPLE[field]}."
            )
        return self._field(field, value, negated, phrase)

    def _word(self) -> str:
        start = self.pos
        # A quote ends a word: from:"Bob Smith" is a field and a quoted value.
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            if self.text[self.pos] == '"':
                break
            self.pos += 1
        return self.text[start : self.pos]

    def _quoted(self) -> str:
        start = self.pos
        end = self.text.find('"', start + 1)
        if end < 0:
            raise QueryError(
                f'The quote at position {start + 1} is not closed: add a " after the phrase.'
            )
        self.pos = end + 1
        return self.text[start + 1 : end]

    @staticmethod
    def _text(field: Field, value: str, negated: bool, phrase: bool) -> Term:
        if not value.strip():
            raise QueryError('An empty phrase ("") matches nothing: put words between the quotes.')
        return Term(field, " ".join(value.split()), negated, phrase)

    def _field(self, field: Field, value: str, negated: bool, phrase: bool) -> Term:
        if field in TEXT_FIELDS:
            return self._text(field, value, negated, phrase)
        key = value.strip().lower()
        if field is Field.IS:
            flag = _IS_ALIASES.get(key) or next((f for f in Flag if f.value == key), None)
            if flag is None:
                known = ", ".join(f"is:{f.value}" for f in Flag)
                raise QueryError(f"'is:{value}' is not known; use one of {known}.")
            return Term(field, flag.value, negated)
        if field is Field.HAS:
            if key not in _HAS:
                raise QueryError(f"'has:{value}' is not known; use has:attachment.")
            return Term(field, key, negated)
        if field in (Field.BEFORE, Field.AFTER):
            return Term(field, _parse_date(field, value).isoformat(), negated)
        return Term(field, value.strip(), negated, phrase)


_EXAMPLE = {
    Field.FROM: "from:bob",
    Field.TO: "to:alice@example.org",
    Field.CC: "cc:carol",
    Field.SUBJECT: 'subject:"annual report"',
    Field.BODY: "body:invoice",
    Field.FILENAME: "filename:plan.pdf",
    Field.HAS: "has:attachment",
    Field.IS: "is:unread",
    Field.BEFORE: "before:2024-12-31",
    Field.AFTER: "after:2024-01-01",
    Field.FOLDER: "folder:Archive",
    Field.ACCOUNT: "account:work",
}


def _parse_date(field: Field, value: str) -> date:
    match = _DATE.fullmatch(value.strip())
    if match is not None:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise QueryError(
        f"'{field.value}:{value}' is not a date; write it as YYYY-MM-DD, as in {_EXAMPLE[field]}."
    )
