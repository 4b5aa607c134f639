"""What autosolve lets a model's text do once it is posted, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ALLOWED_TAGS", "OutputRules"]

ALLOWED_TAGS = frozenset({"details", "summary", "br", "code", "pre", "kbd", "sup", "sub"})
"""The only HTML tags a model may write; they are kept without their attributes."""


@dataclass(frozen=True)
class OutputRules:
    """The limits on what a model's text may do in a posted comment."""

    repository: str = ""
    """``owner/name`` of the issue commented on: references into it may be candidates."""
    candidates: frozenset[int] = field(default_factory=frozenset)
    """Issue numbers given to the model as possibly related: the only live references."""
    allow_images: bool = False
    """``analysis.allow_images``: Markdown images to https URLs stay images."""
    max_mentions: int = 0
    """``analysis.max_mentions``: how many ``@mentions`` may stay live in one comment."""

    def is_candidate(self, number: int, repository: str | None = None) -> bool:
        """True when ``#number`` (of ``repository``, default this one) may stay a live link."""
        if repository is not None and repository.lower() != self.repository.lower():
            return False
        return number in self.candidates
