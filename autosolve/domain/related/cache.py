"""A repository's counts, taken from its index once and kept a while: :class:`StatisticsCache`.

The term statistics (:mod:`.statistics`) and the label profiles
(:mod:`.profiles`) are counted over every indexed issue of the repository:
too much for a query's milliseconds, and they move slowly (a few new issues
barely change them), so a daemon counts them once per repository and uses
them for :data:`DEFAULT_MAX_AGE` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from autosolve.infra.search import SearchIndex

from .profiles import LabelProfiles, label_profiles
from .statistics import CorpusStatistics, corpus_statistics

__all__ = ["DEFAULT_MAX_AGE", "RepositoryCounts", "StatisticsCache", "repository_counts"]

DEFAULT_MAX_AGE = 3600.0
"""Seconds the counts of a repository are used before they are taken again."""


@dataclass(frozen=True, slots=True)
class RepositoryCounts:
    """What a query needs counted over the whole repository."""

    statistics: CorpusStatistics
    profiles: LabelProfiles


def repository_counts(index: SearchIndex, repository_id: int) -> RepositoryCounts:
    """Count the statistics, then the label profiles, over one read of the corpus."""
    corpus = index.corpus(repository_id)
    statistics = corpus_statistics(corpus)
    return RepositoryCounts(statistics, label_profiles(corpus, statistics))


class StatisticsCache:
    """The counts of each repository, taken again once older than ``max_age`` seconds.

    Two callers missing at once both count; the last one's result is kept
    (the same numbers), which is cheaper than making either wait.
    """

    def __init__(
        self, max_age: float = DEFAULT_MAX_AGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_age <= 0:
            raise ValueError(f"`max_age` must be greater than 0 seconds, got {max_age!r}")
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[int, tuple[float, RepositoryCounts]] = {}

    def counts(self, index: SearchIndex, repository_id: int) -> RepositoryCounts:
        """The statistics and label profiles of ``repository_id``, counted when stale."""
        now = self._clock()
        entry = self._entries.get(repository_id)
        if entry is not None and now - entry[0] < self._max_age:
            return entry[1]
        counts = repository_counts(index, repository_id)
        self._entries[repository_id] = (now, counts)
        return counts
