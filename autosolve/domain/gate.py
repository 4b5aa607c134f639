"""Which mirrored issues are analysed: the first-run window and the filters.

The mirror keeps every issue; analysis is gated, in this order: created at or
after the repository's watch start, a state in ``states``, not a pull request
unless ``include_pull_requests``, not opened by a bot when ``skip_bots``, the
``required_label`` when set. (The last check, "no marker comment yet", needs
GitHub and is the explainer's.) The order matters only for which reason a
skip names: the cheapest, most common one first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from autosolve.infra.timestamps import format_timestamp, parse_timestamp

if TYPE_CHECKING:
    from autosolve.infra.store import RepositoryRef, StoredIssue

__all__ = ["AnalysisGate", "Skip"]

SINCE_FIRST_START = "first-start"
SINCE_ALL = "all"


@dataclass(frozen=True)
class Skip:
    """Why an issue is not analysed: a short code (for counting) and a sentence."""

    code: str
    """``before_watch_start``, ``state``, ``pull_request``, ``bot``, ``label``, ``marker``,
    ``analysed``."""
    reason: str


class AnalysisGate:
    """The filters of ``[github.issues]``, applied to one stored issue at a time.

    Args:
        since: ``"first-start"`` (each repository's recorded watch start),
            ``"all"``, or an ISO 8601 time (UTC unless it names an offset).
        states: the issue states analysed.
        include_pull_requests: analyse pull requests too.
        skip_bots: skip issues opened by bots.
        required_label: a label the issue must carry (case-insensitive); ``""`` = none.

    Raises:
        ValueError: ``since`` is none of the above (settings validation catches it first).
    """

    def __init__(
        self,
        *,
        since: str = SINCE_FIRST_START,
        states: Iterable[str] = ("open",),
        include_pull_requests: bool = False,
        skip_bots: bool = True,
        required_label: str = "",
    ) -> None:
        self._since = since
        self._fixed_start = None if since in (SINCE_FIRST_START, SINCE_ALL) else (
            parse_timestamp(since)
        )  # fmt: skip
        self._states = frozenset(states)
        self._include_pull_requests = include_pull_requests
        self._skip_bots = skip_bots
        self._label = required_label.strip()

    def check(self, stored: StoredIssue) -> Skip | None:
        """Why ``stored`` is not analysed, or None when it passes every filter."""
        issue = stored.issue
        window = self._outside_window(stored)
        if window is not None:
            return window
        if issue.state not in self._states:
            return Skip("state", f"its state {issue.state!r} is not in github.issues.states")
        if issue.is_pull_request and not self._include_pull_requests:
            return Skip("pull_request", "it is a pull request (include_pull_requests is off)")
        if self._skip_bots and issue.by_bot:
            return Skip("bot", f"a bot opened it ({issue.author_login}; skip_bots is on)")
        if self._label and self._label.casefold() not in {x.casefold() for x in issue.labels}:
            return Skip("label", f"it lacks the required label {self._label!r}")
        return None

    def window_start(self, repository: RepositoryRef) -> str | None:
        """When the analysis window of ``repository`` opens (ISO 8601 UTC); None = always open.

        What happened before it is history autosolve never acts on: the
        comment mirror starts there, too.
        """
        if self._since == SINCE_ALL:
            return None
        if self._fixed_start is not None:
            return format_timestamp(self._fixed_start)
        return repository.watch_since

    def _outside_window(self, stored: StoredIssue) -> Skip | None:
        if self._since == SINCE_ALL:
            return None
        start_text = stored.repository.watch_since
        if self._fixed_start is not None:
            start: datetime | None = self._fixed_start
        else:
            start = _parse(start_text)
        created = _parse(stored.issue.created_at)
        if start is None:
            return Skip("before_watch_start", "its repository has no watch start recorded")
        if created is None:
            return Skip(
                "before_watch_start",
                "its creation time is unknown (mirrored before autosolve kept it)",
            )
        if created < start:
            return Skip(
                "before_watch_start",
                f"it was created at {stored.issue.created_at}, before the watch start "
                f"{start_text if self._fixed_start is None else self._since} "
                "(github.issues.since)",
            )
        return None


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None
