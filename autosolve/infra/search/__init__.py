"""The issue search index: the engine side of "related issues".

Each engine keeps, in the database itself, the terms of every issue's title
and body (:mod:`.terms` makes them) and an inverted index over them: FTS5 in
SQLite (:mod:`.sqlite`), a ``tsvector`` with a GIN index in PostgreSQL
(:mod:`.postgres`). Both expose the same :class:`SearchIndex`: which earlier
issues contain a term, and the terms of a few issues. The ranking itself is
shared Python (:mod:`autosolve.domain.related`).
"""

from __future__ import annotations

from .records import (
    CorpusDocument,
    IndexedDocument,
    IssueText,
    Posting,
    SearchEngine,
    SearchIndex,
)
from .terms import issue_terms, terms

__all__ = [
    "CorpusDocument",
    "IndexedDocument",
    "IssueText",
    "Posting",
    "SearchEngine",
    "SearchIndex",
    "issue_terms",
    "terms",
]
