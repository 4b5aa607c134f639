"""The issue search index as the store hands it out: each question one read transaction.

The engines' readers (:mod:`autosolve.infra.search`) work inside a
transaction the caller holds; the store's users (the related-issues search
of an analysis, ``ctl similar``, the quality bench) ask a few questions per
issue, each answered on its own, so none holds a database connection while
it ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from autosolve.infra.search import CorpusDocument, IndexedDocument, Posting

from .engine import Connection, placeholders

__all__ = ["StoredSearchIndex"]


class StoredSearchIndex:
    """:class:`autosolve.infra.search.SearchIndex` over the store's read transactions."""

    def __init__(self, read: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._read = read

    def postings(self, repository_id: int, before: int, terms: list[str]) -> list[Posting]:
        """Each issue numbered below ``before`` that contains one of ``terms``, per term."""
        with self._read() as connection:
            return connection.dialect.search.reader(connection).postings(
                repository_id, before, terms
            )

    def documents(self, repository_id: int, numbers: list[int]) -> list[IndexedDocument]:
        """The indexed issues among ``numbers`` (any order)."""
        with self._read() as connection:
            return connection.dialect.search.reader(connection).documents(repository_id, numbers)

    def corpus(self, repository_id: int) -> list[CorpusDocument]:
        """Every indexed issue of the repository, for the term statistics."""
        with self._read() as connection:
            return connection.dialect.search.reader(connection).corpus(repository_id)

    def bodies(self, repository_id: int, numbers: list[int]) -> dict[int, str]:
        """The bodies of the stored issues among ``numbers`` (excerpts of candidates)."""
        if not numbers:
            return {}
        with self._read() as connection:
            rows = connection.execute(
                f"SELECT number, body FROM issues WHERE repository_id = ? "
                f"AND number IN {placeholders(len(numbers))}",
                (repository_id, *numbers),
            ).fetchall()
        return {number: body or "" for number, body in rows}
