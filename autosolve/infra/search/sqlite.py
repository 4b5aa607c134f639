"""The issue search index in SQLite: an FTS5 table beside ``issues``.

``issue_search`` holds, per issue (``rowid`` = ``issues.id``), the terms of
its title and body as :func:`autosolve.infra.search.terms.issue_terms` makes
them, separated by spaces; FTS5's ``ascii`` tokenizer (with ``_`` as a word
character) splits them back exactly, so FTS5 indexes the very terms the
ranking counts. ``detail=none`` and ``columnsize=0``: the index only answers
"which rows contain this term", all the ranking needs (it counts terms and
lengths itself), at the least cost per write.

Maintenance: :data:`SCHEMA` once, then :func:`backfill` (a migration);
:func:`index_issues` in the transaction that inserts issues or changes their text;
deleting an ``issues`` row deletes its entry (trigger).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from . import reads
from .reads import EntryReads
from .records import IssueText, Posting, SearchEngine, index_entries

if TYPE_CHECKING:
    from autosolve.infra.store import Connection

__all__ = ["ENGINE", "SCHEMA", "SQLiteSearchIndex", "backfill", "index_issues"]

SCHEMA: tuple[str, ...] = (
    """
    CREATE VIRTUAL TABLE issue_search USING fts5(
        title_terms, body_terms, tokenize = "ascii tokenchars '_'", detail = none,
        columnsize = 0
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


def index_issues(connection: Connection, issues: Iterable[IssueText], *, new: bool = False) -> None:
    """(Re)index ``issues`` (not pull requests) from their title and body, in the caller's
    transaction: the store calls this for every issue it inserts or whose text it changes
    (``new``: issues inserted just now, which have no entry to replace)."""
    entries = index_entries(issues)
    if not new:
        connection.executemany(
            "DELETE FROM issue_search WHERE rowid = ?", [(entry.issue_id,) for entry in entries]
        )
    connection.executemany(
        "INSERT INTO issue_search (rowid, title_terms, body_terms) VALUES (?, ?, ?)", entries
    )


def backfill(connection: Connection) -> int:
    """Index every stored issue the index lacks (a migration's data step); how many."""
    return reads.backfill(connection, index_issues, SQLiteSearchIndex.entry_issue)


class SQLiteSearchIndex(EntryReads):
    """:class:`autosolve.infra.search.records.SearchIndex` over one transaction of the store."""

    entry_issue = "s.rowid"

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


def _phrase(term: str) -> str:
    """``term`` as an FTS5 string: quoted, so no word is read as an operator."""
    return '"' + term.replace('"', '""') + '"'


ENGINE = SearchEngine(SCHEMA, index_issues, backfill, SQLiteSearchIndex)
"""This engine's index, for the store's dialect."""
