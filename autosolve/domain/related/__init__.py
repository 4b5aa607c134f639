"""Related issues and labels from the repository's own history (issue #17).

The engines (:mod:`autosolve.infra.search`) only find candidates; everything
that decides an order lives here, once, so SQLite and PostgreSQL agree:
:func:`find_related` runs the whole query, :mod:`.ranking` scores,
:mod:`.labels` votes, :mod:`.statistics` counts terms.
"""

from __future__ import annotations

from .labels import LabelSuggestion, suggest_labels
from .ranking import OpenTest, QueryTerms, RankingWeights, RelatedIssue, current_state, rank
from .search import Related, find_related
from .statistics import CorpusStatistics, StatisticsCache, corpus_statistics

__all__ = [
    "CorpusStatistics",
    "LabelSuggestion",
    "OpenTest",
    "QueryTerms",
    "RankingWeights",
    "Related",
    "RelatedIssue",
    "StatisticsCache",
    "corpus_statistics",
    "current_state",
    "find_related",
    "rank",
    "suggest_labels",
]
