"""The issue search index in SQLite: an FTS5 table beside ``issues``.

``issue_search`` holds, per issue (``rowid`` = ``issues.id``), the terms of
its title and body as :func:`autosolve.infra.search.terms.issue_terms` makes
them, separated by spaces; FTS5's ``ascii`` tokenizer (with ``_`` as a word
character) splits them back exactly, so FTS5 indexes the very terms the
ranking counts. ``detail=none``: the index only answers "which rows contain
this term", all the ranking needs, at the least cost per write.

Maintenance: :data:`SCHEMA` once, then :func:`backfill` (a migration);
:func:`index_issues` in the transaction that inserts or updates issues;
deleting an ``issues`` row deletes its entry (trigger).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .records import (
    CorpusDocument,
    IndexedDocument,
    IssueText,
    Posting,
    corpus_document,
    index_entries,
    indexed_document,
)

if TYPE_CHECKING:
    from autosolve.infra.store import Connection

__all__ = ["SCHEMA", "SQLiteSearchIndex", "backfill", "index_issues", "index_stored"]

SCHEMA: tuple[str, ...] = (
    """
    CREATE VIRTUAL TABLE issue_search USING fts5(
        title_terms, body_terms, tokenize = "ascii tokenchars '_'", detail = none
    )
    """,
    # A candidate's number and state, read for every issue a term is found in, without
    # reading its row: SQLite stores `state` after the body, often in overflow pages.
    """
    CREATE INDEX issue_search_candidates
        ON issues (id, repository_id, number, is_pull_request, state)
    """,
    """
    CREATE TRIGGER issue_search_forget AFTER DELETE ON issues BEGIN
        DELETE FROM issue_search WHERE rowid = old.id;
    END
    """,
)
"""The statements that create the index (after ``issues`` exists), in order."""


def index_issues(connection: Connection, issues: Iterable[IssueText]) -> None:
    """(Re)index ``issues`` (not pull requests) from their title and body, in the caller's
    transaction: the store calls this for every issue it inserts or updates."""
    entries = index_entries(issues)
    connection.executemany(
        "DELETE FROM issue_search WHERE rowid = ?", [(entry.issue_id,) for entry in entries]
    )
    connection.executemany(
        "INSERT INTO issue_search (rowid, title_terms, body_terms) VALUES (?, ?, ?)",
        [(entry.issue_id, entry.title_terms, entry.body_terms) for entry in entries],
    )


def index_stored(connection: Connection, repository_id: int, numbers: list[int]) -> None:
    """(Re)index the stored issues ``numbers`` of ``repository_id`` from their rows."""
    rows = connection.execute(
        """
        SELECT id, title, body FROM issues
        WHERE repository_id = ? AND number IN (SELECT value FROM json_each(?))
          AND is_pull_request = 0
        """,
        (repository_id, json.dumps(numbers)),
    )
    index_issues(connection, rows.fetchall())


def backfill(connection: Connection) -> int:
    """Index every stored issue the index lacks (a migration's data step); how many."""
    rows = connection.execute(
        """
        SELECT id, title, body FROM issues
        WHERE is_pull_request = 0 AND id NOT IN (SELECT rowid FROM issue_search)
        """
    ).fetchall()
    index_issues(connection, rows)
    return len(rows)


class SQLiteSearchIndex:
    """:class:`autosolve.infra.search.records.SearchIndex` over one transaction of the store."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def postings(self, repository_id: int, before: int, terms: list[str]) -> list[Posting]:
        """Each issue numbered below ``before`` that contains one of ``terms``, per term."""
        found: list[Posting] = []
        for position, term in enumerate(terms):
            rows = self._connection.execute(
                """
                SELECT ?, i.number, i.state
                FROM issue_search s
                CROSS JOIN issues i INDEXED BY issue_search_candidates ON i.id = s.rowid
                WHERE issue_search MATCH ? AND i.repository_id = ? AND i.number < ?
                  AND i.is_pull_request = 0
                """,
                (position, _phrase(term), repository_id, before),
            )
            found.extend(rows.fetchall())
        return found

    def documents(self, repository_id: int, numbers: list[int]) -> list[IndexedDocument]:
        """The indexed issues among ``numbers``."""
        rows = self._connection.execute(
            """
            SELECT i.number, i.title, i.state, i.labels, s.title_terms, s.body_terms
            FROM issues i JOIN issue_search s ON s.rowid = i.id
            WHERE i.repository_id = ? AND i.number IN (SELECT value FROM json_each(?))
            """,
            (repository_id, json.dumps(numbers)),
        ).fetchall()
        return [indexed_document(row) for row in rows]

    def corpus(self, repository_id: int) -> list[CorpusDocument]:
        """Every indexed issue of the repository."""
        rows = self._connection.execute(
            """
            SELECT i.number, i.labels, s.title_terms, s.body_terms
            FROM issues i JOIN issue_search s ON s.rowid = i.id
            WHERE i.repository_id = ? AND i.is_pull_request = 0
            """,
            (repository_id,),
        ).fetchall()
        return [corpus_document(row) for row in rows]


def _phrase(term: str) -> str:
    """``term`` as an FTS5 string: quoted, so no word is read as an operator."""
    return '"' + term.replace('"', '""') + '"'
