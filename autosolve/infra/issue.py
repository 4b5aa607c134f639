"""One issue, as GitHub describes it: the shape the client, the store and the domain share.

The GitHub client builds :class:`Issue` from a listing, the store saves it
as it is and reads it back (wrapped with the repository it belongs to, see
:class:`autosolve.infra.store.StoredIssue`), and the explainer reads its
fields. There is no second definition to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BOT_LOGIN_SUFFIX", "Issue"]

BOT_LOGIN_SUFFIX = "[bot]"
"""GitHub Apps act as users whose login ends with this (``dependabot[bot]``)."""


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue or pull request of one repository, as GitHub last described it."""

    github_id: int
    """GitHub's global id of the issue."""
    number: int
    """The issue number inside its repository."""
    title: str
    body: str | None
    """GitHub sends ``null`` for an empty body."""
    state: str
    """``open`` or ``closed``."""
    is_pull_request: bool
    """True when GitHub's item carries a ``pull_request`` key."""
    updated_at: str
    """GitHub's ``updated_at``: ISO 8601 text exactly as sent (whole or fractional seconds)."""
    created_at: str | None = None
    """GitHub's ``created_at``, as sent; ``None`` only for rows mirrored before it was kept."""
    labels: tuple[str, ...] = ()
    """Label names, in GitHub's order."""
    author_login: str | None = None
    """The author's login; ``None`` when GitHub has no user (a deleted account)."""
    author_type: str | None = None
    """The author's account type: ``User``, ``Bot``, ``Organization``, …"""

    @property
    def kind(self) -> str:
        """``"pull request"`` or ``"issue"``, for prompts and messages."""
        return "pull request" if self.is_pull_request else "issue"

    @property
    def by_bot(self) -> bool:
        """True when a bot opened it: account type ``Bot`` or a login ending in ``[bot]``."""
        login = (self.author_login or "").lower()
        return (self.author_type or "").lower() == "bot" or login.endswith(BOT_LOGIN_SUFFIX)
