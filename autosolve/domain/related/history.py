"""The repository's own history as an analysis's grounds: :class:`IndexedHistory`.

The :class:`~autosolve.domain.grounding.RelatedIssues` of a running daemon:
the candidates are the repository's issues opened before the one analysed,
found through the store's search index and ranked by :func:`find_related`
(title weighted, open candidates first, BM25 over title and body); the labels
are the k-nearest-neighbours vote of the most similar of them
(:func:`suggest_labels`, weighed by the labels' profiles), kept when most of
the vote agrees. ``ctl similar`` shows the same ranking with its scores
(:meth:`IndexedHistory.similar`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from autosolve.domain.grounding import Candidate, History

from .cache import StatisticsCache
from .search import Related, find_related

if TYPE_CHECKING:
    from autosolve.infra.store import Store, StoredIssue

__all__ = ["EXCERPT_CHARS", "LABEL_SHARE", "IndexedHistory", "Similar"]

LABEL_SHARE = 0.7
"""The share of the weighed vote a label needs to be suggested from history alone: on the
500 labelled rust-lang/rust issues of the quality bench, 84 get one, 95 % of them right (the
top label of every issue is right 67 % of the time). At 0.5, 161 get one, 88 % right."""
EXCERPT_CHARS = 400
"""A candidate's body is read this far for its excerpt (the prompt shortens it further)."""


@dataclass(frozen=True)
class Similar:
    """An issue's related issues and suggested labels, with their scores."""

    issue: str
    """``owner/name#number``."""
    related: Related

    def to_dict(self, limit: int) -> dict[str, Any]:
        """The JSON of ``ctl similar --json``: the top ``limit`` candidates, the labels."""
        return {
            "issue": self.issue,
            "related": [
                {"number": found.number, "title": found.title,
                 "state": "open" if found.open else "closed",
                 "score": round(found.score, 3), "text_score": round(found.text_score, 3),
                 "labels": list(found.labels)}
                for found in self.related.issues[:limit]
            ],
            "labels": [
                {"name": label.name, "share": round(label.score, 3)}
                for label in self.related.labels[:limit]
            ],
        }  # fmt: skip


class IndexedHistory:
    """Related issues and labels from the store's search index.

    Args:
        store: the mirror (its ``search_index``).
        statistics: the repositories' term counts and label profiles, kept a
            while (shared by every analysis of a daemon).
    """

    def __init__(self, store: Store, statistics: StatisticsCache | None = None) -> None:
        self._store = store
        self._statistics = statistics or StatisticsCache()

    def similar(self, stored: StoredIssue) -> Similar:
        """Every earlier issue of the repository that shares a telling term, best first."""
        index, repository_id = self._store.search_index, stored.repository.id
        issue, counts = stored.issue, self._statistics.counts(index, repository_id)
        related = find_related(
            index, repository_id, issue.number, issue.title, issue.body, counts.statistics,
            profiles=counts.profiles,
        )  # fmt: skip
        return Similar(stored.full_name, related)

    def history(self, stored: StoredIssue, limit: int) -> History:
        """The top ``limit`` candidates, with excerpts, and the labels most of the vote names."""
        related = self.similar(stored).related
        top = related.issues[:limit]
        bodies = self._store.search_index.bodies(
            stored.repository.id, [found.number for found in top]
        )
        candidates = tuple(
            Candidate(found.number, found.title, "open" if found.open else "closed",
                      bodies.get(found.number, "")[:EXCERPT_CHARS])
            for found in top
        )  # fmt: skip
        labels = tuple(label.name for label in related.labels if label.score >= LABEL_SHARE)
        return History(candidates, labels)
