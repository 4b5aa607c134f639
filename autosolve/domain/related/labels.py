"""Labels for an issue from the labels of the earlier issues most like it.

A k-nearest-neighbours vote: each of the :data:`NEIGHBOURS` most similar
earlier issues votes for its labels with the square of its text score, so a
near-copy outweighs several loose matches. Each label's votes are then
weighed by how typical the query is of all the issues that carry it (its
profile, :mod:`.profiles`): ``votes × exp(cosine / PROFILE_TEMPERATURE)``, so
of two labels the neighbours name about as often, the one whose issues are
about what the query is about comes first. Only earlier issues vote (the
ranking's candidates are), and only their labels can come out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .profiles import LabelLikeness, no_likeness
from .ranking import RelatedIssue

__all__ = ["NEIGHBOURS", "PROFILE_TEMPERATURE", "LabelSuggestion", "suggest_labels"]

NEIGHBOURS = 60
"""How many of the most similar issues vote."""
PROFILE_TEMPERATURE = 0.1
"""A label whose profile is 0.1 more like the query (cosine) counts e (2.7) times its votes.
Measured on the rust-lang/rust labels (precision@1): 0.05 and 0.1 alike (0.668, 0.666),
0.03 or 0.2 and more lower (0.650, 0.644–0.646)."""


@dataclass(frozen=True, slots=True)
class LabelSuggestion:
    """A label and its share of the weighed votes (0–1)."""

    name: str
    score: float


def suggest_labels(
    related: Sequence[RelatedIssue],
    likeness: LabelLikeness = no_likeness,
    neighbours: int = NEIGHBOURS,
) -> list[LabelSuggestion]:
    """The labels of the issues most like the query, by weight of their votes, best first.

    Args:
        likeness: how like each label's issues the query is (by default, all
            alike: the vote alone).
    """
    nearest = sorted(related, key=lambda issue: (-issue.text_score, -issue.number))[:neighbours]
    votes: dict[str, float] = {}
    for issue in nearest:
        for label in issue.labels:
            votes[label] = votes.get(label, 0.0) + issue.text_score**2
    weighed = {
        label: vote * math.exp(likeness(label) / PROFILE_TEMPERATURE)
        for label, vote in votes.items()
    }
    total = sum(weighed.values())
    ordered = sorted(weighed, key=lambda label: (-weighed[label], label))
    return [LabelSuggestion(label, weighed[label] / total) for label in ordered]
