"""What an analysis is grounded in beyond the issue: related issues, the thread, the labels.

The prompt shows the model the candidate issues the repository's history
offers (:class:`RelatedIssues` finds them, with the labels the most similar
of them carry; the comment may name only these issues as related), the
latest comments of the issue's thread written by others than autosolve, and
the labels the repository has (the only ones it may pick).
:class:`Grounds` carries them to the prompt and the comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from autosolve.infra.comment import Comment
    from autosolve.infra.store import StoredIssue

__all__ = ["MAX_THREAD_COMMENTS", "Candidate", "Grounds", "History", "NoRelatedIssues",
           "RelatedIssues", "thread_for_prompt"]  # fmt: skip

MAX_THREAD_COMMENTS = 10
"""The latest comments of a thread the prompt shows at most (their text is bounded too)."""


@dataclass(frozen=True)
class Candidate:
    """An earlier issue of the same repository that may be related."""

    number: int
    title: str
    state: str
    """``open`` or ``closed``."""
    excerpt: str = ""
    """The start of its text (the prompt shortens it further)."""


@dataclass(frozen=True)
class History:
    """What the repository's earlier issues say about one issue."""

    candidates: tuple[Candidate, ...] = ()
    """Earlier issues of the same repository, most related first."""
    labels: tuple[str, ...] = ()
    """Labels most of the similar earlier issues carry, most voted first: the labels
    used when the model's answer picks none (a plain-text answer)."""


class RelatedIssues(Protocol):
    """Finds the candidate issues an analysis is shown (the repository's own history)."""

    def history(self, stored: StoredIssue, limit: int) -> History:
        """Up to ``limit`` earlier issues of ``stored``'s repository, most related first,
        and the labels their history suggests."""
        ...


class NoRelatedIssues:
    """No retrieval: every analysis is shown no candidate (and so names none)."""

    def history(self, stored: StoredIssue, limit: int) -> History:
        return History()


@dataclass(frozen=True)
class Grounds:
    """Everything an analysis is shown besides the issue itself."""

    related: tuple[Candidate, ...] = ()
    comments: tuple[Comment, ...] = ()
    """The thread's latest comments by others than autosolve, oldest first."""
    repository_labels: tuple[str, ...] = ()
    """The names of the repository's labels."""
    suggested_labels: tuple[str, ...] = ()
    """The labels the repository's history suggests (see :class:`History`)."""

    @property
    def candidates(self) -> frozenset[int]:
        """The numbers of :attr:`related`: the only issues the comment may link to."""
        return frozenset(candidate.number for candidate in self.related)


def thread_for_prompt(comments: Sequence[Comment], own_login: str | None) -> tuple[Comment, ...]:
    """The latest :data:`MAX_THREAD_COMMENTS` of ``comments`` not written by autosolve."""
    others = [comment for comment in comments if not comment.written_by(own_login)]
    return tuple(others[-MAX_THREAD_COMMENTS:])
