"""What the search index hands back, the same from either database.

The engines only find: which earlier issues contain a term (:class:`Posting`)
and what the index holds about a few of them (:class:`IndexedDocument`).
Every score is computed from these by :mod:`autosolve.domain.related`, so
SQLite and PostgreSQL rank alike by construction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .terms import issue_term_texts

if TYPE_CHECKING:
    from autosolve.infra.store import Connection

__all__ = [
    "CorpusDocument",
    "IndexEntry",
    "IndexWriter",
    "IndexedDocument",
    "IssueText",
    "Posting",
    "SearchEngine",
    "SearchIndex",
    "corpus_document",
    "index_entries",
    "indexed_document",
]

IssueText = tuple[int, str, str | None]
"""``(issues.id, title, body)`` of one issue to index."""


class IndexEntry(NamedTuple):
    """What the index stores for one issue (a tuple: SQLite's rows as they are)."""

    issue_id: int
    title_terms: str
    """The title's terms, separated by single spaces."""
    body_terms: str
    """The terms of the start of the body, separated by single spaces."""


def index_entries(issues: Iterable[IssueText]) -> list[IndexEntry]:
    """The index entries of ``issues``, each made once for both engines."""
    return [
        IndexEntry(issue_id, *issue_term_texts(title, body)) for issue_id, title, body in issues
    ]


Posting = tuple[int, int, str]
"""One earlier issue that contains one of the terms asked for: ``(term, number, state)``,
``term`` the position of the term in the list asked for, ``state`` the mirrored one
(``open`` or ``closed``). A plain tuple: a query reads thousands, straight from rows."""


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """An indexed issue with what ranking and display need."""

    number: int
    title: str
    """The title as GitHub has it (for display; ranking reads the terms)."""
    state: str
    labels: tuple[str, ...]
    title_terms: str
    """The title's terms, separated by single spaces (as stored)."""
    body_terms: str


@dataclass(frozen=True, slots=True)
class CorpusDocument:
    """An indexed issue as the corpus statistics count it."""

    number: int
    labels: tuple[str, ...]
    title_terms: str
    """The title's terms, separated by single spaces."""
    body_terms: str


class IndexWriter(Protocol):
    """An engine's ``index_issues``: ``new`` when the issues were inserted just now."""

    def __call__(
        self, connection: Connection, issues: Iterable[IssueText], *, new: bool = False
    ) -> None: ...


class SearchIndex(Protocol):
    """The index of one database, as the shared ranking reads it.

    Every method looks at one repository's issues only (pull requests are
    never candidates); ``before`` is an issue number: GitHub numbers issues in
    the order they are opened, so ``number < before`` is "opened earlier".
    """

    def postings(self, repository_id: int, before: int, terms: list[str]) -> list[Posting]:
        """Each issue numbered below ``before`` that contains one of ``terms``, per term."""
        ...

    def documents(self, repository_id: int, numbers: list[int]) -> list[IndexedDocument]:
        """The indexed issues among ``numbers`` (any order)."""
        ...

    def corpus(self, repository_id: int) -> list[CorpusDocument]:
        """Every indexed issue of the repository, for the term statistics."""
        ...


@dataclass(frozen=True, slots=True)
class SearchEngine:
    """One database's index, as the store maintains and reads it (its dialect carries it)."""

    schema: tuple[str, ...]
    """The statements that create the index (after ``issues`` exists), in order."""
    index_issues: IndexWriter
    """(Re)index issues in the caller's transaction (the issue upsert's)."""
    backfill: Callable[[Connection], int]
    """Index every stored issue the index lacks; how many."""
    reader: Callable[[Connection], SearchIndex]
    """The :class:`SearchIndex` over one transaction."""
    tuning: tuple[str, ...] = ()
    """The statements that tune the index :attr:`schema` made (store migration 7), in order."""


def indexed_document(row: Sequence[Any]) -> IndexedDocument:
    """The record of a ``number, title, state, labels, title_terms, body_terms`` row."""
    number, title, state, labels, title_terms, body_terms = row
    return IndexedDocument(number, title, state, _labels(labels), title_terms, body_terms)


def corpus_document(row: Sequence[Any]) -> CorpusDocument:
    """The record of a ``number, labels, title_terms, body_terms`` row."""
    number, labels, title_terms, body_terms = row
    return CorpusDocument(number, _labels(labels), title_terms, body_terms)


def _labels(text: str | None) -> tuple[str, ...]:
    """The label names of an ``issues.labels`` JSON text."""
    return tuple(json.loads(text)) if text else ()
