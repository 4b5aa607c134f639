"""The ranking of related issues: one scoring for both databases.

Two steps, because scoring every earlier issue costs too much (a query's
common words are in most of them):

1. **Shortlist.** The query's rarest terms (by IDF, body terms at a
   discount), as many as fit :data:`POSTINGS_BUDGET` issues together, are
   looked up in the index; each issue found scores the weights of the terms
   it contains, plus :attr:`RankingWeights.open_bonus` when open, and the best
   :data:`SHORTLIST_SIZE` go on.
2. **Rank.** Each shortlisted issue gets a BM25 score per pair of fields
   (the query's title terms in its title, in its body; the query's body terms
   in its title, in its body), weighted and summed, plus the open bonus.

Why these signals (measured on 364 real duplicate marks of rust-lang/rust,
see BENCHMARKS.md): a duplicate's original is a title-to-title match far more
often than a body-to-body one, so the body pairs weigh less; and 97 % of
originals were still open when their duplicate was filed, against about 20 %
of all earlier issues, so an open issue goes before any closed one of
similar text.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from autosolve.infra.search import IndexedDocument, Posting, issue_terms

from .statistics import CorpusStatistics

__all__ = [
    "DEFAULT_WEIGHTS",
    "POSTINGS_BUDGET",
    "SHORTLIST_SIZE",
    "OpenTest",
    "QueryTerms",
    "RankingWeights",
    "RelatedIssue",
    "current_state",
    "rank",
    "retrieval_terms",
    "shortlist",
]

POSTINGS_BUDGET = 3000
"""Issues the shortlist's terms may find together (by the statistics): the lookup's cost."""
SHORTLIST_SIZE = 150
"""Issues scored in full per query."""

OpenTest = Callable[[int, str], bool]
"""``(number, state) → open?``: whether a candidate counts as open for this query."""


def current_state(number: int, state: str) -> bool:
    """The mirror's own answer: open when its state is ``open``."""
    return state == "open"


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """The few numbers of the ranking; the defaults are the measured ones."""

    title_in_body: float = 0.5
    """Weight of the query's title terms found in a candidate's body (title in title: 1)."""
    body_in_title: float = 0.5
    """Weight of the query's body terms found in a candidate's title."""
    body_in_body: float = 0.15
    """Weight of the query's body terms found in a candidate's body."""
    open_bonus: float = 8.0
    """Added to a candidate that is open and matched at all: more than most text scores."""
    k1: float = 1.2
    """BM25 term-frequency saturation (the textbook value)."""
    b: float = 0.75
    """BM25 length normalisation (the textbook value)."""


DEFAULT_WEIGHTS = RankingWeights()


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """The distinct terms of the query issue, title and body apart."""

    title: frozenset[str]
    body: frozenset[str]
    """Terms of the body that are not in the title."""

    @classmethod
    def of(cls, title: str | None, body: str | None) -> QueryTerms:
        """The terms of an issue's title and body."""
        title_terms, body_terms = issue_terms(title, body)
        return cls(frozenset(title_terms), frozenset(body_terms).difference(title_terms))


@dataclass(frozen=True, slots=True)
class RelatedIssue:
    """A ranked candidate."""

    number: int
    title: str
    open: bool
    """Open for this query (see :data:`OpenTest`)."""
    score: float
    """The rank's score: :attr:`text_score` plus the open bonus."""
    text_score: float
    """How alike the texts are, without the state."""
    labels: tuple[str, ...]


def retrieval_terms(
    query: QueryTerms,
    statistics: CorpusStatistics,
    weights: RankingWeights = DEFAULT_WEIGHTS,
    budget: int = POSTINGS_BUDGET,
) -> dict[str, float]:
    """The terms to look up and their shortlist weights, most telling first.

    Terms are taken by weight (IDF; body terms times ``body_in_title``) while
    the issues they are in, together, stay within ``budget``: the rare terms
    that identify a report, never the common ones that match everything.
    """
    weighted = [(statistics.idf(term), term) for term in query.title]
    weighted += [(statistics.idf(term) * weights.body_in_title, term) for term in query.body]
    chosen: dict[str, float] = {}
    spent = 0
    for weight, term in sorted(weighted, key=lambda pair: (-pair[0], pair[1])):
        found = statistics.document_frequency.get(term, 0)
        if found and spent + found <= budget:
            chosen[term] = weight
            spent += found
    return chosen


def shortlist(
    postings: Iterable[Posting],
    term_weights: list[float],
    is_open: OpenTest,
    weights: RankingWeights = DEFAULT_WEIGHTS,
    size: int = SHORTLIST_SIZE,
) -> list[int]:
    """The numbers of the ``size`` best issues by the weights of the terms they contain."""
    score: dict[int, float] = {}
    states: dict[int, str] = {}
    for term, number, state in postings:
        score[number] = score.get(number, 0.0) + term_weights[term]
        states[number] = state
    for number, state in states.items():
        if is_open(number, state):
            score[number] += weights.open_bonus
    return heapq.nsmallest(size, score, key=lambda number: (-score[number], -number))


def rank(
    query: QueryTerms,
    documents: Iterable[IndexedDocument],
    statistics: CorpusStatistics,
    is_open: OpenTest = current_state,
    weights: RankingWeights = DEFAULT_WEIGHTS,
) -> list[RelatedIssue]:
    """``documents`` that share a term with the query, best first (ties: newest first)."""
    idf = {term: statistics.idf(term) for term in query.title | query.body}
    ranked = []
    for document in documents:
        text = _text_score(query, document, idf, statistics, weights)
        if text <= 0:
            continue
        opened = is_open(document.number, document.state)
        score = text + (weights.open_bonus if opened else 0.0)
        ranked.append(
            RelatedIssue(document.number, document.title, opened, score, text, document.labels)
        )
    ranked.sort(key=lambda issue: (-issue.score, -issue.number))
    return ranked


def _text_score(
    query: QueryTerms,
    document: IndexedDocument,
    idf: Mapping[str, float],
    statistics: CorpusStatistics,
    weights: RankingWeights,
) -> float:
    title = _field_scores(document.title_terms, query, idf, statistics.mean_title_length, weights)
    body = _field_scores(document.body_terms, query, idf, statistics.mean_body_length, weights)
    return (
        title[0]
        + weights.body_in_title * title[1]
        + weights.title_in_body * body[0]
        + weights.body_in_body * body[1]
    )


def _field_scores(
    field_terms: str,
    query: QueryTerms,
    idf: Mapping[str, float],
    mean_length: float,
    weights: RankingWeights,
) -> tuple[float, float]:
    """BM25 of the query's title terms and of its body terms in one field of a candidate.

    Each query term counts once, however often the query repeats it.
    """
    words = field_terms.split()
    norm = weights.k1 * (1.0 - weights.b + weights.b * len(words) / mean_length)
    from_title = from_body = 0.0
    for term, count in Counter(filter(idf.__contains__, words)).items():
        score = idf[term] * count / (count + norm)
        if term in query.title:
            from_title += score
        else:
            from_body += score
    return from_title, from_body
