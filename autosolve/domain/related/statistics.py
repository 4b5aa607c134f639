"""How common each term is in a repository's issues: the weights of the ranking.

A term found in few issues says more than one found in most (inverse
document frequency), and a match in a short title says more than one in a
long body (length normalisation): both need counts over the whole
repository. Neither database can count a common term's issues in the
milliseconds a query has (PostgreSQL reads one heap row per issue), so the
counts are taken once from the index (:meth:`SearchIndex.corpus`) and kept
for a while: they move slowly, a few new issues barely change them.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from autosolve.infra.search import CorpusDocument, SearchIndex

__all__ = ["CorpusStatistics", "StatisticsCache", "corpus_statistics"]

DEFAULT_MAX_AGE = 3600.0
"""Seconds the counts of a repository are used before they are taken again."""


@dataclass(frozen=True, slots=True)
class CorpusStatistics:
    """Term counts over the indexed issues of one repository."""

    documents: int
    """How many issues were counted."""
    document_frequency: Mapping[str, int]
    """Term → how many of those issues contain it (title or body)."""
    mean_title_length: float
    """Terms per title, on average (at least 1, so it can divide)."""
    mean_body_length: float

    def idf(self, term: str) -> float:
        """How rare ``term`` is: BM25's inverse document frequency (Lucene's, never negative)."""
        found = self.document_frequency.get(term, 0)
        return math.log(1.0 + (self.documents - found + 0.5) / (found + 0.5))


def corpus_statistics(documents: Iterable[CorpusDocument]) -> CorpusStatistics:
    """Count the terms of ``documents`` (each issue's terms count once per issue)."""
    frequency: Counter[str] = Counter()
    count = title_length = body_length = 0
    for document in documents:
        title, body = document.title_terms.split(), document.body_terms.split()
        frequency.update(set(title).union(body))
        count += 1
        title_length += len(title)
        body_length += len(body)
    return CorpusStatistics(
        documents=count,
        document_frequency=frequency,
        mean_title_length=max(1.0, title_length / max(count, 1)),
        mean_body_length=max(1.0, body_length / max(count, 1)),
    )


class StatisticsCache:
    """The statistics of each repository, taken again once older than ``max_age`` seconds.

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
        self._entries: dict[int, tuple[float, CorpusStatistics]] = {}

    def get(self, index: SearchIndex, repository_id: int) -> CorpusStatistics:
        """The statistics of ``repository_id``, counted through ``index`` when stale."""
        now = self._clock()
        entry = self._entries.get(repository_id)
        if entry is not None and now - entry[0] < self._max_age:
            return entry[1]
        statistics = corpus_statistics(index.corpus(repository_id))
        self._entries[repository_id] = (now, statistics)
        return statistics
