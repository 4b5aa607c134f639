"""One issue comment, as GitHub describes it: the shape the client, the store and the domain share.

The GitHub client builds :class:`Comment` from a listing (one issue's, or a
whole repository's), the store mirrors it in ``comments`` and reads it back,
and the analysis reads who wrote it and what. There is no second definition
to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Comment", "same_login"]


def same_login(first: str | None, second: str | None) -> bool:
    """True when both name one account: GitHub logins compare case-insensitively."""
    return first is not None and second is not None and first.casefold() == second.casefold()


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment on an issue or pull request."""

    github_id: int
    """GitHub's id of the comment (unique across GitHub)."""
    body: str
    issue_number: int | None = None
    """The issue it is on (from GitHub's ``issue_url``); None when GitHub did not say."""
    author_login: str | None = None
    """The author's login; None when GitHub has no user (a deleted account)."""
    author_type: str | None = None
    """``User``, ``Bot``, ``Organization``, …"""
    author_association: str = "NONE"
    """How the author relates to the repository: ``OWNER``, ``MEMBER``, ``COLLABORATOR``, …"""
    created_at: str | None = None
    """GitHub's ``created_at``, ISO 8601 text as sent."""
    updated_at: str | None = None
    """GitHub's ``updated_at``, ISO 8601 text as sent."""

    def written_by(self, login: str | None) -> bool:
        """True when ``login`` wrote it (case-insensitive, as GitHub compares logins)."""
        return same_login(self.author_login, login)
