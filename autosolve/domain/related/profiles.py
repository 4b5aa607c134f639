"""What the issues of each label are about: the label's profile, a second opinion for the vote.

The neighbours' vote (:mod:`.labels`) hears only the 60 issues most like the
query; a label's profile hears every earlier issue that carries it, summed:
the sum of their term vectors (each term weighs its IDF, twice in
the title; each issue's vector of length 1). The cosine of the query's
vector to a profile says how typical the query is of the label's issues as
a whole; the vote is weighed by it (:func:`.labels.suggest_labels`). On the
500 labelled rust-lang/rust issues of the quality bench this lifts label
precision@1 from 0.630 to 0.666, on each half and each era of the set
(BENCHMARKS.md, "Label vote rules tried").

The profiles are counted from the index's corpus, like the term statistics,
and kept with them (:class:`.cache.StatisticsCache`); they can also
grow one issue at a time (:meth:`LabelProfiles.add`), so that a replay of
history can count only the issues opened before each query.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat

from autosolve.infra.search import CorpusDocument

from .ranking import QueryTerms
from .statistics import CorpusStatistics

__all__ = ["TITLE_WEIGHT", "LabelLikeness", "LabelProfiles", "label_profiles", "no_likeness"]

TITLE_WEIGHT = 2.0
"""A title term weighs this many times its IDF in a vector (a body term once): the title
names the subject, the body also holds logs and code. (Measured: title terms once, 0.664
against 0.666 precision@1, the same within noise.)"""

LabelLikeness = Callable[[str], float]
"""``label → cosine`` (0–1) of the query's vector to the label's profile."""


def no_likeness(label: str) -> float:
    """Every label alike: the neighbours' vote alone decides."""
    return 0.0


class LabelProfiles:
    """Each label's profile over the labelled issues added so far.

    Args:
        statistics: the term counts whose IDF weighs the terms (the
            repository's, the same as the ranking's).
    """

    def __init__(self, statistics: CorpusStatistics) -> None:
        self._statistics = statistics
        self._sums: dict[str, dict[str, float]] = {}
        self._squares: dict[str, float] = {}
        """Each profile's squared length, kept as issues are added (a query needs it at once)."""

    @property
    def labels(self) -> int:
        """How many labels have a profile."""
        return len(self._sums)

    def add(self, document: CorpusDocument) -> None:
        """Count ``document`` in the profile of each of its labels (unlabelled: not at all)."""
        if not document.labels:
            return
        vector = self._vector(document.title_terms.split(), document.body_terms.split())
        if not vector:
            return
        for label in set(document.labels):
            self._add(label, vector)

    def likeness(self, query: QueryTerms) -> LabelLikeness:
        """How alike the query and each label's issues are (the cosine of their vectors)."""
        vector = self._vector(query.title, query.body)

        def cosine(label: str) -> float:
            profile = self._sums.get(label)
            if not profile:
                return 0.0
            return _dot(profile, vector) / math.sqrt(self._squares[label])

        return cosine

    def _add(self, label: str, vector: dict[str, float]) -> None:
        profile = self._sums.setdefault(label, {})
        dot = _dot(profile, vector)
        # |p + v|² = |p|² + 2 p·v + |v|², and |v| = 1.
        self._squares[label] = self._squares.get(label, 0.0) + 2.0 * dot + 1.0
        for term, weight in vector.items():
            profile[term] = profile.get(term, 0.0) + weight

    def _vector(self, title: Iterable[str], body: Iterable[str]) -> dict[str, float]:
        """The unit vector of an issue's terms: IDF each, :data:`TITLE_WEIGHT` × in the title."""
        in_title = set(title)
        idf = self._statistics.idf
        vector = {term: idf(term) for term in in_title.union(body)}
        for term in in_title:
            vector[term] *= TITLE_WEIGHT
        length = math.sqrt(sum(weight * weight for weight in vector.values()))
        return {term: weight / length for term, weight in vector.items()} if length else {}


def _dot(profile: Mapping[str, float], vector: Mapping[str, float]) -> float:
    """``profile · vector``, looped in C: a query takes one per label voted for."""
    found = map(profile.get, vector.keys(), repeat(0.0))
    dot: float = sum(map(operator.mul, found, vector.values()))
    return dot


def label_profiles(
    documents: Iterable[CorpusDocument], statistics: CorpusStatistics
) -> LabelProfiles:
    """The profiles of every label of ``documents``.

    Added in number order, whatever order the engine read them in: sums of
    floating-point numbers depend on their order, and both engines (and a
    replay adding one issue at a time) must count the same to the last bit.
    """
    profiles = LabelProfiles(statistics)
    for document in sorted(documents, key=lambda document: document.number):
        profiles.add(document)
    return profiles
