"""Value objects the store accepts and returns.

They are plain frozen dataclasses so the domain can build and compare them
without touching SQLite. Issues go in as the shared
:class:`autosolve.infra.issue.Issue` the GitHub client returns and come back
wrapped in :class:`StoredIssue`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from autosolve.infra.issue import Issue

__all__ = [
    "Analysis",
    "DeadJob",
    "IssueSummary",
    "Job",
    "JobsSummary",
    "RecentAnalysis",
    "RepositoryIssues",
    "RepositoryRef",
    "StoredIssue",
    "SyncCursor",
]


@dataclass(frozen=True, slots=True)
class RepositoryRef:
    """A stored repository: its local id, its name, and when autosolve started watching it."""

    id: int
    """Local id (``repositories.id``)."""
    owner: str
    name: str
    watch_since: str | None
    """ISO 8601 UTC, recorded once when autosolve first validated the repository here."""

    @property
    def full_name(self) -> str:
        """``owner/name``, as GitHub writes it."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """An issue read back from the store: the shared :class:`Issue`, where it lives, its id.

    The repository comes along so the explainer can call GitHub and apply
    the repository's watch start without a second lookup.
    """

    id: int
    """Local id (``issues.id``)."""
    repository: RepositoryRef
    issue: Issue

    @property
    def full_name(self) -> str:
        """``owner/name#number``, for messages."""
        return f"{self.repository.full_name}#{self.issue.number}"


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
    attempts: int = 0
    """Attempts spent, this one included: outage releases give theirs back."""


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


@dataclass(frozen=True, slots=True)
class JobsSummary:
    """The queue at a glance, for ``ctl jobs`` and the ``autosolve_jobs`` gauge."""

    ready: int
    """Jobs waiting to be taken (now or after a retry delay)."""
    in_flight: int
    """Jobs under a live lease: a worker is on them."""
    dead: int
    """Jobs given up on, in ``dead_jobs``."""
    recent_dead: list[DeadJob]
    """The most recent dead jobs, newest first."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """One model analysis of one issue, posted or not (a row of ``analyses``)."""

    id: int
    issue_id: int
    model: str
    prompt_sha256: str
    """Hash of the prompt sent to the model."""
    content_sha256: str
    """Hash of the issue's title and body that were analysed: a new one means an edit."""
    body: str
    """The comment body, marker included, as posted (or as it would have been)."""
    comment_id: int | None
    """GitHub's id of the comment carrying it; ``None`` until posted."""
    created_at: float
    """Epoch seconds."""
    posted_at: float | None
    """Epoch seconds; ``None`` when not posted (dry run, preview, or not yet)."""

    @property
    def posted(self) -> bool:
        return self.posted_at is not None


@dataclass(frozen=True, slots=True)
class RecentAnalysis:
    """An analysis with the issue it is about, for listings (dashboards, ``ctl``)."""

    id: int
    repository: str
    """``owner/name``."""
    number: int
    title: str
    model: str
    comment_id: int | None
    created_at: float
    posted_at: float | None
    body: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of the fields."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """A mirrored issue in a listing: enough to show it and link it, not its body."""

    number: int
    title: str
    state: str
    is_pull_request: bool
    labels: tuple[str, ...]
    updated_at: str
    """GitHub's ``updated_at`` (ISO text)."""
    analysis_id: int | None
    """Its latest analysis; None if it was never analysed."""


@dataclass(frozen=True, slots=True)
class RepositoryIssues:
    """One repository's mirror at a glance: counts per state and the newest issues."""

    repository: str
    """``owner/name`` as stored."""
    states: dict[str, int]
    """Issues per state (``open``, ``closed``; a state without issues is absent)."""
    latest: list[IssueSummary]
    """The highest-numbered issues, newest first."""
