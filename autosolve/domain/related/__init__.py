"""Related issues and labels from the repository's own history (issue #17).

The engines (:mod:`autosolve.infra.search`) only find candidates; everything
that decides an order lives here, once, so SQLite and PostgreSQL agree:
:func:`find_related` runs the whole query, :mod:`.ranking` scores,
:mod:`.labels` votes, :mod:`.profiles` says what each label's issues are
about, :mod:`.statistics` counts terms, :mod:`.cache` keeps the counts.
"""

from __future__ import annotations

from .cache import RepositoryCounts, StatisticsCache, repository_counts
from .history import IndexedHistory, Similar
from .labels import LabelSuggestion, suggest_labels
from .profiles import LabelProfiles, label_profiles
from .ranking import OpenTest, QueryTerms, RankingWeights, RelatedIssue, current_state, rank
from .search import Related, find_related
from .statistics import CorpusStatistics, corpus_statistics

__all__ = [
    "CorpusStatistics",
    "IndexedHistory",
    "LabelProfiles",
    "LabelSuggestion",
    "OpenTest",
    "QueryTerms",
    "RankingWeights",
    "Related",
    "RelatedIssue",
    "RepositoryCounts",
    "Similar",
    "StatisticsCache",
    "corpus_statistics",
    "current_state",
    "find_related",
    "label_profiles",
    "rank",
    "repository_counts",
    "suggest_labels",
]
