"""Every task autosolve runs. Adding a task is one class and one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.domain.polling import PollPacer, polls_per_second
from autosolve.domain.preflights import RepositoryValidator
from autosolve.domain.workers import IssueExplainer, IssuePoller, OutboxRelay

if TYPE_CHECKING:
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
    from autosolve.schedule.dependencies import Dependencies

__all__ = ["new_global_workers", "new_pacer", "new_preflights", "new_workers"]


def new_preflights(deps: Dependencies) -> list[Preflight]:
    """One-shot tasks run per repository before any worker."""
    return [RepositoryValidator(deps.github, deps.store)]


def new_workers(deps: Dependencies) -> list[Worker]:
    """Interval tasks run per repository."""
    intervals = deps.settings.intervals
    return [
        IssuePoller(deps.github, deps.store, intervals.issue_poller, new_pacer(deps)),
        OutboxRelay(deps.store, intervals.outbox_relay),
    ]


def new_pacer(deps: Dependencies) -> PollPacer:
    """Adaptive polling between the fastest and slowest interval, within the request budget."""
    settings = deps.settings
    budget = settings.github.budget
    return PollPacer(
        settings.intervals.issue_poller,
        settings.intervals.issue_poller_max,
        polls_per_second(budget.points_per_minute, budget.writes_per_minute, budget.window),
    )


def new_global_workers(deps: Dependencies) -> list[GlobalWorker]:
    """Interval tasks run once, not per repository."""
    settings = deps.settings
    return [
        IssueExplainer(
            deps.github,
            deps.ollama,
            deps.store,
            interval=settings.intervals.issue_explainer,
            required_label=settings.github.issues.required_label,
            visibility_timeout=settings.queue.visibility_timeout,
            max_attempts=settings.queue.max_attempts,
        )
    ]
