"""Related issues and suggested labels for one issue, through either database's index."""

from __future__ import annotations

from dataclasses import dataclass, field

from autosolve.infra.search import SearchIndex

from .labels import LabelSuggestion, suggest_labels
from .profiles import LabelProfiles, no_likeness
from .ranking import (
    DEFAULT_WEIGHTS,
    OpenTest,
    QueryTerms,
    RankingWeights,
    RelatedIssue,
    current_state,
    rank,
    retrieval_terms,
    shortlist,
)
from .statistics import CorpusStatistics

__all__ = ["Related", "find_related"]


@dataclass(frozen=True, slots=True)
class Related:
    """What the mirror knows that bears on an issue."""

    issues: list[RelatedIssue] = field(default_factory=list)
    """Earlier issues of the repository, most related first."""
    labels: list[LabelSuggestion] = field(default_factory=list)
    """Labels the most similar earlier issues carry, most voted first (votes weighed by the
    labels' profiles when given)."""


def find_related(
    index: SearchIndex,
    repository_id: int,
    number: int,
    title: str | None,
    body: str | None,
    statistics: CorpusStatistics,
    *,
    is_open: OpenTest = current_state,
    weights: RankingWeights = DEFAULT_WEIGHTS,
    profiles: LabelProfiles | None = None,
) -> Related:
    """Rank the repository's issues numbered below ``number`` against this title and body.

    Args:
        index: the database's search index (one transaction's connection).
        statistics: the repository's term counts (see ``StatisticsCache``).
        is_open: whether a candidate counts as open; by default its mirrored
            state (a benchmark replaying history passes the state it had then).
        profiles: the repository's label profiles (see ``StatisticsCache``);
            without them the neighbours' vote alone picks the labels.
    """
    query = QueryTerms.of(title, body)
    chosen = retrieval_terms(query, statistics, weights)
    if not chosen:
        return Related()
    postings = index.postings(repository_id, number, list(chosen))
    numbers = shortlist(postings, list(chosen.values()), is_open, weights)
    documents = index.documents(repository_id, numbers)
    issues = rank(query, documents, statistics, is_open, weights)
    likeness = profiles.likeness(query) if profiles is not None else no_likeness
    return Related(issues, suggest_labels(issues, likeness))
