"""How common each term is in a repository's issues: the weights of the ranking.

A term found in few issues says more than one found in most (inverse
document frequency), and a match in a short title says more than one in a
long body (length normalisation): both need counts over the whole
repository. Neither database can count a common term's issues in the
milliseconds a query has (PostgreSQL reads one heap row per issue), so the
counts are taken once from the index (``SearchIndex.corpus``) and kept
for a while (:class:`.cache.StatisticsCache`): they move slowly, a few new
issues barely change them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from autosolve.infra.search import CorpusDocument

__all__ = ["CorpusStatistics", "corpus_statistics"]


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
    _idf: dict[str, float] = field(init=False, repr=False, compare=False)
    """Each counted term's :meth:`idf`, worked out once: the label profiles weigh every
    term of every labelled issue by it, and the counts are shared (read-only) by queries."""

    def __post_init__(self) -> None:
        idf = {term: self._rarity(found) for term, found in self.document_frequency.items()}
        object.__setattr__(self, "_idf", idf)

    def idf(self, term: str) -> float:
        """How rare ``term`` is: BM25's inverse document frequency (Lucene's, never negative)."""
        weight = self._idf.get(term)
        return self._rarity(0) if weight is None else weight

    def _rarity(self, found: int) -> float:
        """The IDF of a term found in ``found`` of the issues."""
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
