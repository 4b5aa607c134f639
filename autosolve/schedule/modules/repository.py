"""The repository module: a repository's validator, poller and relay, and the analysis.

Its tenants are the repositories to watch: ``github.repositories`` plus every
repository the organisation module discovered, less ``github.exclude``.
Adding a per-repository worker is one domain file (a class whose
``task_spec()`` returns a :class:`~autosolve.domain.spec.WorkerSpec`) and one
line in :meth:`RepositoryModule.workers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from autosolve.domain.preflights import RepositoryValidator
from autosolve.domain.spec import RepoTenant
from autosolve.domain.workers import IssuePoller, OutboxRelay
from autosolve.infra.store.schema import TABLES
from autosolve.schedule import registry
from autosolve.schedule.modules.organization import discovered_repositories
from autosolve.schedule.planner import Planner

if TYPE_CHECKING:
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
    from autosolve.schedule.dependencies import Dependencies

__all__ = ["RepositoryModule"]


class RepositoryModule:
    """Per repository: validated first, then polled and relayed; analysed by one explainer."""

    name = "repository"
    tables = TABLES
    """The mirror, its outbox, the queue, the analyses and the webhook deliveries."""
    leased = True

    def preflights(self, deps: Dependencies) -> list[Preflight[RepoTenant]]:
        """One-shot tasks run per repository before any of its workers."""
        return [RepositoryValidator(deps.github, deps.store)]

    def workers(self, deps: Dependencies) -> list[Worker[RepoTenant]]:
        """Interval tasks run per repository: add one line here per new worker."""
        intervals = deps.settings.intervals
        return [
            IssuePoller(deps.github, deps.store, intervals.issue_poller, registry.pacer_of(deps)),
            OutboxRelay(deps.store, intervals.outbox_relay, registry.relayed_hook(deps)),
        ]

    def global_workers(self, deps: Dependencies) -> list[GlobalWorker]:
        """The analysis of queued issues, once for every repository."""
        return [registry.new_explainer(deps)]

    def planner(
        self,
        deps: Dependencies,
        preflights: Sequence[Preflight[Any]],
        workers: Sequence[Worker[Any]],
    ) -> Planner:
        """The tasks × the watched repositories, ids resolved once per repository."""
        repositories = discovered_repositories(deps)
        return Planner(repositories, preflights, workers, _repository_resolver(deps))


def _repository_resolver(deps: Dependencies) -> Callable[[str, str], int]:
    # The ids outlive one plan when the dependencies keep them: the units a reload
    # keeps switch to closures of a new plan, which then find their id here instead
    # of asking the store again (while a thousand new validators may be writing to it).
    ids: dict[tuple[str, str], int] = getattr(deps, "repository_ids", {})

    def resolve(owner: str, name: str) -> int:
        key = (owner, name)
        if key not in ids:
            ids[key] = deps.store.repository_id(owner, name)
        return ids[key]

    return resolve
