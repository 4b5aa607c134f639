"""The statements both engines run alike: they differ only in how an entry names its issue.

SQLite's FTS5 entry is keyed by its ``rowid``, PostgreSQL's row by
``issue_id``; everything else (the store's ``?`` placeholders, the joins, the
records made from the rows) is the same, so it is written once here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .records import (
    CorpusDocument,
    IndexedDocument,
    IndexWriter,
    corpus_document,
    indexed_document,
)

if TYPE_CHECKING:
    from autosolve.infra.store import Connection

__all__ = ["EntryReads", "backfill"]


def _placeholders(count: int) -> str:
    # Not the store's `placeholders`: the store is to import this package, and an import
    # back would make a circle.
    return f"({', '.join('?' * count)})"


def backfill(connection: Connection, index: IndexWriter, entry_issue: str) -> int:
    """Index with ``index`` every stored issue without an entry; how many."""
    rows = connection.execute(
        f"""
        SELECT i.id, i.title, i.body FROM issues i
        WHERE i.is_pull_request = 0
          AND NOT EXISTS (SELECT 1 FROM issue_search s WHERE {entry_issue} = i.id)
        """
    ).fetchall()
    index(connection, [tuple(row) for row in rows])
    return len(rows)


class EntryReads:
    """An engine's index entries read with their issues (``entry_issue``: the entry's key)."""

    entry_issue: str
    """The column of ``issue_search s`` that holds ``issues.id``."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def documents(self, repository_id: int, numbers: list[int]) -> list[IndexedDocument]:
        """The indexed issues among ``numbers``."""
        if not numbers:
            return []
        rows = self._connection.execute(
            f"""
            SELECT i.number, i.title, i.state, i.labels, s.title_terms, s.body_terms
            FROM issues i JOIN issue_search s ON {self.entry_issue} = i.id
            WHERE i.repository_id = ? AND i.number IN {_placeholders(len(numbers))}
            """,
            (repository_id, *numbers),
        ).fetchall()
        return [indexed_document(row) for row in rows]

    def corpus(self, repository_id: int) -> list[CorpusDocument]:
        """Every indexed issue of the repository."""
        rows = self._connection.execute(
            f"""
            SELECT i.number, i.labels, s.title_terms, s.body_terms
            FROM issues i JOIN issue_search s ON {self.entry_issue} = i.id
            WHERE i.repository_id = ? AND i.is_pull_request = 0
            """,
            (repository_id,),
        ).fetchall()
        return [corpus_document(row) for row in rows]
