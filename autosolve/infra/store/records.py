"""Value objects the store accepts and returns.

They are plain frozen dataclasses so the domain can build and compare them
without touching SQLite; the domain maps the GitHub client's issues to
:class:`IssueRecord` and reads :class:`StoredIssue` back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DeadJob", "IssueRecord", "Job", "StoredIssue", "SyncCursor"]


@dataclass(frozen=True, slots=True)
class IssueRecord:
    """An issue (or pull request) as GitHub lists it, ready to be stored."""

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
    """GitHub's ``updated_at``, ISO 8601 text exactly as sent (``2026-01-01T00:00:00Z``)."""
    labels: tuple[str, ...] = ()
    """Label names, in GitHub's order."""


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """An issue read back from the store, with the repository it belongs to.

    ``owner`` and ``name`` are included so the explainer can call GitHub
    without a second lookup.
    """

    id: int
    """Local id (``issues.id``)."""
    repository_id: int
    owner: str
    name: str
    github_id: int
    number: int
    title: str
    body: str | None
    state: str
    is_pull_request: bool
    updated_at: str
    """GitHub's ``updated_at`` (column ``github_updated_at``)."""
    labels: tuple[str, ...]

    @property
    def full_name(self) -> str:
        """``owner/name`` of the repository, as GitHub writes it."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True)
class SyncCursor:
    """Where the issue poller of one repository stands.

    The store saves exactly what the poller hands it; the meaning of the
    fields is the poller's business, documented here so both sides agree.
    """

    since: str | None = None
    """High-water mark: the greatest ``updated_at`` stored so far (sent as ``since=``)."""
    etag: str | None = None
    """ETag of the last complete listing, sent as ``If-None-Match`` in steady state."""
    next_url: str | None = None
    """``Link: rel="next"`` URL of a catch-up in progress, ``None`` when caught up."""


@dataclass(frozen=True, slots=True)
class Job:
    """A job received from the queue, hidden from other receivers for a while."""

    id: int
    payload: dict[str, Any] | None
    """The decoded JSON object, or ``None`` when the stored text is not a JSON object."""
    raw_payload: str
    """The payload text exactly as stored, for dead-lettering and error messages."""
    receive_count: int
    """How many times the job was received, this time included (1 on the first receive)."""
    last_error: str | None = None
    """Error recorded by the previous failed attempt, if any."""


@dataclass(frozen=True, slots=True)
class DeadJob:
    """A job that was given up on, kept for an operator to inspect or replay."""

    id: int
    job_id: int
    """The id the job had in ``jobs``."""
    payload: str
    """Raw payload text."""
    receive_count: int
    reason: str
    dead_at: float
    """Epoch seconds."""
