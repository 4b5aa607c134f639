"""Labels for an issue from the labels of the earlier issues most like it.

A k-nearest-neighbours vote: each of the :data:`NEIGHBOURS` most similar
earlier issues votes for its labels with the square of its text score, so a
near-copy outweighs several loose matches. Only earlier issues vote (the
ranking's candidates are), and only their labels can come out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .ranking import RelatedIssue

__all__ = ["NEIGHBOURS", "LabelSuggestion", "suggest_labels"]

NEIGHBOURS = 60
"""How many of the most similar issues vote."""


@dataclass(frozen=True, slots=True)
class LabelSuggestion:
    """A label and its share of the votes (0–1)."""

    name: str
    score: float


def suggest_labels(
    related: Sequence[RelatedIssue], neighbours: int = NEIGHBOURS
) -> list[LabelSuggestion]:
    """The labels of the issues most like the query, by weight of their votes, best first."""
    nearest = sorted(related, key=lambda issue: (-issue.text_score, -issue.number))[:neighbours]
    votes: dict[str, float] = {}
    for issue in nearest:
        for label in issue.labels:
            votes[label] = votes.get(label, 0.0) + issue.text_score**2
    total = sum(votes.values())
    ordered = sorted(votes, key=lambda label: (-votes[label], label))
    return [LabelSuggestion(label, votes[label] / total) for label in ordered]
