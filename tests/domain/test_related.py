"""The shared ranking of related issues and the label vote, on records built by hand."""

from __future__ import annotations

import math

import pytest

from autosolve.domain.related import (
    CorpusStatistics,
    LabelProfiles,
    QueryTerms,
    RankingWeights,
    RelatedIssue,
    StatisticsCache,
    corpus_statistics,
    label_profiles,
    rank,
    suggest_labels,
)
from autosolve.domain.related.labels import PROFILE_TEMPERATURE
from autosolve.domain.related.ranking import retrieval_terms, shortlist
from autosolve.infra.search import CorpusDocument, IndexedDocument, Posting, issue_terms

WEIGHTS = RankingWeights()


def document(
    number: int, title: str, body: str = "", state: str = "open", labels: tuple[str, ...] = ()
) -> IndexedDocument:
    title_terms, body_terms = issue_terms(title, body)
    return IndexedDocument(
        number, title, state, labels, " ".join(title_terms), " ".join(body_terms)
    )


def corpus_of(*documents: IndexedDocument) -> list[CorpusDocument]:
    return [CorpusDocument(d.number, d.labels, d.title_terms, d.body_terms) for d in documents]


def statistics_of(*documents: IndexedDocument) -> CorpusStatistics:
    return corpus_statistics(corpus_of(*documents))


def profiles_of(*documents: IndexedDocument) -> LabelProfiles:
    corpus = corpus_of(*documents)
    return label_profiles(corpus, corpus_statistics(corpus))


def candidate(number: int, text_score: float, labels: tuple[str, ...]) -> RelatedIssue:
    return RelatedIssue(number, f"#{number}", True, text_score, text_score, labels)


def test_a_title_match_outranks_the_same_words_in_a_body() -> None:
    in_title = document(1, "Linker fails on musl", "some words here")
    in_body = document(2, "Some words here", "linker fails on musl")
    filler = [document(n, f"unrelated report {n}") for n in range(3, 10)]
    statistics = statistics_of(in_title, in_body, *filler)
    ranked = rank(QueryTerms.of("linker fails on musl", ""), [in_body, in_title], statistics)
    assert [found.number for found in ranked] == [1, 2]


def test_an_open_candidate_goes_before_a_closed_one_with_a_better_text_match() -> None:
    closed = document(1, "Linker fails on musl targets", state="closed")
    opened = document(2, "Linker fails", state="open")
    statistics = statistics_of(closed, opened, *(document(n, f"other {n}") for n in range(3, 9)))
    ranked = rank(QueryTerms.of("linker fails on musl targets", ""), [closed, opened], statistics)
    assert [(found.number, found.open) for found in ranked] == [(2, True), (1, False)]
    assert ranked[1].text_score > ranked[0].text_score
    assert ranked[0].score == pytest.approx(ranked[0].text_score + WEIGHTS.open_bonus)


def test_equal_scores_go_to_the_newest_issue_first() -> None:
    twins = [document(n, "Linker fails on musl") for n in (4, 9, 6)]
    ranked = rank(QueryTerms.of("linker musl", ""), twins, statistics_of(*twins))
    assert [found.number for found in ranked] == [9, 6, 4]


def test_a_candidate_without_a_shared_term_is_not_ranked() -> None:
    documents = [document(1, "Linker fails"), document(2, "Docs typo")]
    ranked = rank(QueryTerms.of("linker", ""), documents, statistics_of(*documents))
    assert [found.number for found in ranked] == [1]


def test_query_terms_keep_title_and_body_apart() -> None:
    query = QueryTerms.of("Linker fails", "the linker prints garbage")
    assert query.title == {"linker", "fail"}
    assert query.body == {"print", "garbage"}


def test_retrieval_takes_the_rarest_terms_while_their_issues_fit_the_budget() -> None:
    statistics = CorpusStatistics(
        documents=1000,
        document_frequency={"rare": 3, "uncommon": 40, "common": 900},
        mean_title_length=8.0,
        mean_body_length=80.0,
    )
    query = QueryTerms(frozenset({"common", "uncommon"}), frozenset({"rare", "unseen"}))
    chosen = retrieval_terms(query, statistics, WEIGHTS, budget=100)
    assert set(chosen) == {"rare", "uncommon"}
    assert chosen["rare"] == pytest.approx(statistics.idf("rare") * WEIGHTS.body_in_title)
    assert chosen["uncommon"] == pytest.approx(statistics.idf("uncommon"))
    assert list(chosen) == sorted(chosen, key=lambda term: -chosen[term])


def test_the_shortlist_scores_the_terms_found_and_puts_open_issues_first() -> None:
    postings: list[Posting] = [(0, 1, "closed"), (1, 1, "closed"), (0, 2, "open"), (1, 3, "closed")]
    best = shortlist(postings, [2.0, 1.0], lambda number, state: state == "open", WEIGHTS, 2)
    assert best == [2, 1]


def test_statistics_count_each_term_once_per_issue() -> None:
    statistics = statistics_of(
        document(1, "panic panic", "panic in drop"), document(2, "drop order", "")
    )
    assert statistics.documents == 2
    assert statistics.document_frequency["panic"] == 1
    assert statistics.document_frequency["drop"] == 2
    assert statistics.mean_title_length == pytest.approx(2.0)
    assert statistics.idf("panic") > statistics.idf("drop") > 0
    assert statistics.idf("never-seen") > statistics.idf("panic")


def test_the_most_similar_issues_vote_for_their_labels_by_their_score_squared() -> None:
    related = [
        candidate(1, 3.0, ("A-borrow-checker",)),
        candidate(2, 2.0, ("I-ICE",)),
        candidate(3, 2.0, ("I-ICE", "T-compiler")),
    ]
    suggested = suggest_labels(related)
    total = 9.0 + 4.0 + 4.0 + 4.0
    assert [(label.name, label.score) for label in suggested] == [
        ("A-borrow-checker", pytest.approx(9.0 / total)),
        ("I-ICE", pytest.approx(8.0 / total)),
        ("T-compiler", pytest.approx(4.0 / total)),
    ]


def test_only_the_nearest_issues_vote() -> None:
    related = [candidate(1, 5.0, ("near",)), candidate(2, 1.0, ("far",))]
    assert [label.name for label in suggest_labels(related, neighbours=1)] == ["near"]


def test_no_labelled_neighbour_no_suggestion() -> None:
    assert suggest_labels([candidate(1, 5.0, ())]) == []


def test_a_term_typical_of_a_labels_earlier_issues_puts_that_label_first() -> None:
    history = [
        *(document(n, f"internal compiler error {n}", "rustc panicked", labels=("I-ICE",))
          for n in range(1, 6)),
        *(document(n, f"type mismatch {n}", "expected type found", labels=("A-type-system",))
          for n in range(6, 11)),
    ]  # fmt: skip
    neighbours = [candidate(11, 3.0, ("A-type-system",)), candidate(12, 2.9, ("I-ICE",))]
    query = QueryTerms.of("internal compiler error in a match", "rustc panicked")
    likeness = profiles_of(*history).likeness(query)
    assert suggest_labels(neighbours)[0].name == "A-type-system"
    assert suggest_labels(neighbours, likeness)[0].name == "I-ICE"


def test_the_votes_are_weighed_by_the_exponential_of_the_likeness() -> None:
    neighbours = [candidate(1, 2.0, ("docs",)), candidate(2, 1.0, ("ice",))]
    likeness = {"docs": 0.1, "ice": 0.4}
    weighed = {
        "docs": 4.0 * math.exp(0.1 / PROFILE_TEMPERATURE),
        "ice": 1.0 * math.exp(0.4 / PROFILE_TEMPERATURE),
    }
    total = sum(weighed.values())
    suggested = suggest_labels(neighbours, likeness.__getitem__)
    assert [(label.name, label.score) for label in suggested] == [
        ("ice", pytest.approx(weighed["ice"] / total)),
        ("docs", pytest.approx(weighed["docs"] / total)),
    ]


def test_a_label_no_neighbour_carries_is_never_suggested_however_typical() -> None:
    profiles = profiles_of(document(1, "rustdoc crash", labels=("T-rustdoc",)))
    likeness = profiles.likeness(QueryTerms.of("rustdoc crash", ""))
    assert likeness("T-rustdoc") == pytest.approx(1.0)
    suggested = suggest_labels([candidate(2, 1.0, ("A-docs",))], likeness)
    assert [label.name for label in suggested] == ["A-docs"]


def test_a_profile_is_the_sum_of_its_issues_unit_vectors() -> None:
    # Two issues of one label with a term each (equally rare): the profile is (1, 1).
    profiles = profiles_of(
        document(1, "alpha", labels=("L",)),
        document(2, "beta", labels=("L",)),
        document(3, "gamma", labels=("other",)),
    )
    assert profiles.likeness(QueryTerms.of("alpha", ""))("L") == pytest.approx(1 / math.sqrt(2))
    assert profiles.likeness(QueryTerms.of("alpha beta", ""))("L") == pytest.approx(1.0)
    assert profiles.likeness(QueryTerms.of("gamma", ""))("L") == 0.0


def test_issues_alike_make_a_profile_as_long_as_their_sum() -> None:
    twice = profiles_of(
        document(1, "alpha beta", labels=("L",)), document(2, "alpha beta", labels=("L",))
    )
    assert twice.likeness(QueryTerms.of("alpha beta", ""))("L") == pytest.approx(1.0)


def test_a_title_term_weighs_twice_a_body_term_of_the_same_rarity() -> None:
    profiles = profiles_of(document(1, "alpha", "beta", labels=("L",)), document(2, "x y"))
    # The profile is (2, 1)/√5; the query's vector (1, 0) or (0, 1).
    assert profiles.likeness(QueryTerms.of("alpha", ""))("L") == pytest.approx(2 / math.sqrt(5))
    assert profiles.likeness(QueryTerms.of("", "beta"))("L") == pytest.approx(1 / math.sqrt(5))


def test_profiles_count_only_labelled_issues_and_know_no_other_label() -> None:
    profiles = profiles_of(document(1, "alpha"), document(2, "alpha", labels=("L",)))
    assert profiles.labels == 1
    assert profiles.likeness(QueryTerms.of("alpha", ""))("never-used") == 0.0


def test_max_age_must_be_positive() -> None:
    with pytest.raises(ValueError, match="`max_age` must be greater than 0 seconds, got 0"):
        StatisticsCache(max_age=0)
