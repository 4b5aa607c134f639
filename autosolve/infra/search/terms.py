"""The words of an issue, as the search index keeps them and a query looks them up.

Both databases index exactly the terms this module produces (SQLite's FTS5
splits the stored text on spaces only; PostgreSQL gets the lexemes as they
are), so a term means the same on both engines and the ranking computed from
them in Python is the same too.

A term is a lowercased word: a run of letters, digits, ``_`` and any non-ASCII
character between ASCII punctuation and spaces, so code keeps its identifiers:
``snake_case_names`` and ``E0277`` stay whole, ``std::io::Write`` gives ``std``,
``io``, ``write``. Left out, because they say nothing about what an issue is about:
English function words, bare numbers (line numbers, versions), hexadecimal hashes of
seven characters or more and ``0x`` numbers (commit ids, addresses) and words longer
than :data:`MAX_TERM_LENGTH` (base64, minified code). A light stemmer folds plurals
and ``-ing``/``-ed`` forms (``lifetimes`` → ``lifetime``, ``compiling`` →
``compil``), which measurably helps matching a report against an earlier one worded
differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

__all__ = [
    "BODY_TERMS",
    "MAX_TERM_LENGTH",
    "STOPWORDS",
    "issue_term_texts",
    "issue_terms",
    "stem",
    "terms",
]

BODY_TERMS = 150
"""Terms kept of a body, from its start: what a report is about comes first (the rest is
mostly logs and backtraces), and a bounded body keeps indexing and ranking cheap. On the
rust-lang/rust duplicates, the first 150 terms rank as well as whole bodies."""

MAX_TERM_LENGTH = 64
"""Longer words are data (base64, hashes, minified code), not vocabulary."""

_STOPWORD_TEXT = """
a about after all also an and any are as at be been before being both but by can could
did do does doing down each else few for from had has have having he here how i if in
into is it its just may me might more most must my no not of on only or other our out
over own same shall she should so some such than that the their them then there these
they this those to too under up us very was we were what when where which who whom why
will with would you your
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
"""English function words: frequent everywhere, so they match everything."""

_SEPARATORS = bytes(
    code if code >= 128 or chr(code).isalnum() or chr(code) == "_" else ord(" ")
    for code in range(256)
)
"""ASCII characters other than letters, digits and ``_`` separate words; the rest of
Unicode stays in them (so FTS5's ``ascii`` tokenizer splits stored terms the same way).
A table over the UTF-8 bytes: every byte of a non-ASCII character is 128 or more, so
only ASCII separators change, three times faster than translating the text itself."""
_HASH = re.compile(r"(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,}|0x[0-9a-f]+")
_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))
_SIBILANTS = ("s", "x", "z", "ch", "sh")
"""Stems whose plural takes ``-es`` (``boxes``); any other ``-es`` is ``-e`` + ``s`` (``lines``)."""
_MIN_STEM = 3

_CHARACTERS_PER_TERM = 12
"""Characters read per term asked for: terms average under 10 characters with their spacing.
Reading no further keeps indexing cheap (most of a long body is never read); on the
rust-lang/rust duplicates it ranks as well as reading 32 a term."""

_KNOWN_LIMIT = 1 << 18


def issue_terms(title: str | None, body: str | None) -> tuple[list[str], list[str]]:
    """The terms of an issue's title and of the start of its body (:data:`BODY_TERMS`).

    The index stores these and a query is made of these: one definition, so
    a query term and an indexed term always mean the same.
    """
    title_terms, body_terms = _issue_terms(title, body)
    return list(title_terms), list(body_terms)


def issue_term_texts(title: str | None, body: str | None) -> tuple[str, str]:
    """:func:`issue_terms` separated by single spaces, as the index stores them: joined as
    they are found, with no list made on the way (the index makes two an issue)."""
    title_terms, body_terms = _issue_terms(title, body)
    return " ".join(title_terms), " ".join(body_terms)


def _issue_terms(title: str | None, body: str | None) -> tuple[Iterator[str], Iterator[str]]:
    """The terms of the title, and of the start of the body, as they are found."""
    return _terms(title, None), _terms(body, BODY_TERMS)


def terms(text: str | None, limit: int | None = None) -> list[str]:
    """The terms of ``text`` in order, repeats kept (a term's count is its weight).

    With ``limit``, only the first ``limit`` terms, and only the start of a
    long text is read (enough for them unless it is mostly numbers and
    function words).
    """
    return list(_terms(text, limit))


def _terms(text: str | None, limit: int | None) -> Iterator[str]:
    """The terms of ``text`` as they are found: each word looked up from C (``map``), and
    with ``limit`` none looked up past the last term kept."""
    if not text:
        return iter(())
    if limit is not None:
        text = text[: limit * _CHARACTERS_PER_TERM]
    encoded = text.lower().encode("utf-8", "surrogatepass").translate(_SEPARATORS)
    words = encoded.decode("utf-8", "surrogatepass").split()
    found = filter(None, map(_known.__getitem__, words))
    return found if limit is None else islice(found, limit)


class _KnownWords(dict[str, str]):
    """Word → term ('' when left out): most words recur, so each is worked out once.

    Looked up with ``__getitem__`` from C (``map``); only a new word costs a
    Python call. Bounded: full, it starts over (the words in use come back at once).
    """

    def __missing__(self, word: str) -> str:
        if len(self) >= _KNOWN_LIMIT:
            self.clear()
        term = self[word] = _term(word)
        return term


_known = _KnownWords()


def _term(word: str) -> str:
    if word in STOPWORDS or word.isdigit() or len(word) > MAX_TERM_LENGTH:
        return ""
    if _HASH.fullmatch(word):
        return ""
    return stem(word)


def stem(word: str) -> str:
    """``word`` without a plural or ``-ing``/``-ed`` ending; other words unchanged.

    Deliberately light (no Porter rules): it only folds the endings whose
    removal keeps a stem of at least three letters, and leaves identifiers
    with digits or ``_`` alone.
    """
    if len(word) <= _MIN_STEM or not word.isalpha():
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            if suffix == "s" and word.endswith("ss"):
                return word
            if suffix == "es" and not word[:-2].endswith(_SIBILANTS):
                return word[:-1]
            return word[: -len(suffix)] + replacement
    return word
