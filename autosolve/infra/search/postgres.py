"""The issue search index in PostgreSQL: a table of terms with a GIN index.

``issue_search`` holds, per issue, the terms of its title and body as
:func:`autosolve.infra.search.terms.issue_terms` makes them (space-separated,
the text the ranking counts) and the same terms as a ``tsvector`` that the
server builds from that text with ``array_to_tsvector`` (which drops repeats):
lexemes exactly as given, no parser or dictionary in between, so PostgreSQL
finds the very terms SQLite's FTS5 index finds. The GIN index answers "which
rows contain this lexeme", all the ranking needs; the issue's repository,
number and state sit beside its terms, so the answer comes from this table
alone.

Maintenance: :data:`SCHEMA` once, then :func:`backfill` (a migration), then
:data:`TUNING` (a later one);
:func:`index_issues` in the transaction that inserts issues or changes their text;
deleting an ``issues`` row deletes its entry (``ON DELETE CASCADE``), and a
trigger copies every change of ``issues.state``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from . import reads
from .reads import EntryReads
from .records import IssueText, Posting, SearchEngine, index_entries

if TYPE_CHECKING:
    from autosolve.infra.store import Connection

__all__ = [
    "ENGINE",
    "PENDING_LIST_KB",
    "SCHEMA",
    "TUNING",
    "PostgresSearchIndex",
    "backfill",
    "index_issues",
]

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE issue_search (
        issue_id      BIGINT PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
        repository_id BIGINT NOT NULL,
        number        INTEGER NOT NULL,
        state         TEXT NOT NULL,
        title_terms   TEXT NOT NULL,
        body_terms    TEXT NOT NULL,
        terms         TSVECTOR NOT NULL
    )
    """,
    "CREATE INDEX issue_search_terms ON issue_search USING gin (terms)",
    # The issue's state is copied here so that finding candidates reads one table (half
    # the time of joining `issues` for every issue a term is in); this trigger keeps the
    # copy right whoever changes the state. Repository and number never change.
    """
    CREATE FUNCTION issue_search_follow_state() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE issue_search SET state = NEW.state WHERE issue_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER issue_search_follow_state AFTER UPDATE OF state ON issues
        FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
        EXECUTE FUNCTION issue_search_follow_state()
    """,
)
"""The statements that create the index (after ``issues`` exists), in order."""

PENDING_LIST_KB = 64
"""The most kilobytes of new entries the GIN index keeps unsorted (PostgreSQL's least).

GIN adds an inserted or updated row's lexemes to a *pending list*, merged into
the index proper by (auto)vacuum or once it exceeds this size (4 MB by
default), and every lookup reads the whole list. After an initial sync of
15,815 issues the list held ~330 pages, read once per query term: a query's
postings took 25 ms instead of 3.5 until autovacuum came by, and every issue
stored or edited later adds to it again. Merging every 64 kB costs the sync
about a second of server CPU per 15,815 issues (turning the list off, about 3)."""

TUNING: tuple[str, ...] = (
    f"ALTER INDEX issue_search_terms SET (gin_pending_list_limit = {PENDING_LIST_KB})",
    # What is pending already (up to 4 MB: the migration that made the index filled it
    # from every stored issue) is merged now, not when the next write or autovacuum comes.
    "SELECT gin_clean_pending_list('issue_search_terms'::regclass)",
)
"""The statements that tune the index :data:`SCHEMA` made, in order."""


def index_issues(connection: Connection, issues: Iterable[IssueText], *, new: bool = False) -> None:
    """(Re)index ``issues`` from their title and body, in the caller's transaction: the
    store calls this for every issue it inserts or whose text it changes (``new`` or not,
    one upsert). Pull requests are skipped."""
    entries = index_entries(issues)
    if not entries:
        return
    ids, title_terms, body_terms = zip(*entries, strict=True)
    connection.execute(
        """
        INSERT INTO issue_search (
            issue_id, repository_id, number, state, title_terms, body_terms, terms
        )
        SELECT i.id, i.repository_id, i.number, i.state, e.title_terms, e.body_terms,
               array_to_tsvector(string_to_array(
                   concat_ws(' ', nullif(e.title_terms, ''), nullif(e.body_terms, '')), ' '
               ))
        FROM unnest(?::bigint[], ?::text[], ?::text[]) AS e (issue_id, title_terms, body_terms)
        JOIN issues i ON i.id = e.issue_id AND i.is_pull_request = 0
        ON CONFLICT (issue_id) DO UPDATE SET
            state = excluded.state, title_terms = excluded.title_terms,
            body_terms = excluded.body_terms, terms = excluded.terms
        """,
        (list(ids), list(title_terms), list(body_terms)),
    )


def backfill(connection: Connection) -> int:
    """Index every stored issue the index lacks (a migration's data step); how many."""
    return reads.backfill(connection, index_issues, PostgresSearchIndex.entry_issue)


class PostgresSearchIndex(EntryReads):
    """:class:`autosolve.infra.search.records.SearchIndex` over one transaction of the store."""

    entry_issue = "s.issue_id"

    def postings(self, repository_id: int, before: int, terms: list[str]) -> list[Posting]:
        """Each issue numbered below ``before`` that contains one of ``terms``, per term.

        Each term's issues come from the GIN index (the ``OFFSET 0`` keeps the
        planner from folding ``number < before`` into the scan): for an early
        issue, where that condition leaves a few thousand rows, the planner
        otherwise scans them all and matches every term against every row
        (180,000 matches, 30-50 ms, where the index answers in 3 ms).
        """
        rows = self._connection.execute(
            """
            SELECT (q.position - 1)::int, s.number, s.state
            FROM unnest(?::tsquery[]) WITH ORDINALITY AS q (query, position)
            CROSS JOIN LATERAL (
                SELECT number, state FROM issue_search
                WHERE terms @@ q.query AND repository_id = ? OFFSET 0
            ) s
            WHERE s.number < ?
            """,
            ([_lexeme_query(term) for term in terms], repository_id, before),
        ).fetchall()
        return cast(list[Posting], rows)


def _lexeme_query(term: str) -> str:
    """``term`` as a ``tsquery`` matching that one lexeme (quoted, escapes doubled)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


ENGINE = SearchEngine(SCHEMA, index_issues, backfill, PostgresSearchIndex, TUNING)
"""This engine's index, for the store's dialect."""
