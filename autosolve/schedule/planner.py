"""The Planner: the only place that maps settings to tenants to work closures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from autosolve.domain.spec import RepoTenant
from autosolve.runtime import Unit
from autosolve.schedule.classifier import infra_classifier

if TYPE_CHECKING:
    from autosolve.domain.spec import PreflightSpec, WorkerSpec
    from autosolve.runtime import Classifier, WorkContext
    from autosolve.schedule.contracts import Preflight, Worker

__all__ = ["Planner", "RepositoryResolver"]

RepositoryResolver = Callable[[str, str], int]
"""``(owner, name) -> local repository id``; called once per unit, then cached."""


class Planner:
    """Multiplies per-repository specs by the configured repositories.

    Args:
        repositories: ``owner/name`` strings from ``github.repositories``.
        preflights: registered preflight tasks.
        workers: registered per-repository worker tasks.
        resolve_repository_id: looks up the local id of a validated repository.
    """

    def __init__(
        self,
        repositories: Sequence[str],
        preflights: Sequence[Preflight],
        workers: Sequence[Worker],
        resolve_repository_id: RepositoryResolver,
    ) -> None:
        owners_and_names = (repository.split("/", 1) for repository in repositories)
        self._tenants = [RepoTenant(owner, name) for owner, name in owners_and_names]
        self._preflights = preflights
        self._workers = workers
        self._resolve = resolve_repository_id

    @property
    def tenants(self) -> list[str]:
        """The repositories planned for, ``owner/name``, in settings order."""
        return [tenant.full_name for tenant in self._tenants]

    def preflights(self) -> list[Unit]:
        """One one-shot unit per repository × preflight."""
        return [unit for _, unit in self.tenant_preflights()]

    def workers(self) -> list[Unit]:
        """One interval unit per repository × worker, repository ids resolved lazily."""
        return [unit for _, unit in self.tenant_workers()]

    def tenant_preflights(self) -> list[tuple[str, Unit]]:
        """:meth:`preflights`, each with the repository it works for."""
        units = []
        for spec in (p.task_spec() for p in self._preflights):
            for tenant in self._tenants:
                name = f"preflight:{spec.resource}:{tenant.full_name}"
                units.append((tenant.full_name, Unit(name, _bind_preflight(spec, tenant))))
        return units

    def tenant_workers(self) -> list[tuple[str, Unit]]:
        """:meth:`workers`, each with the repository it works for."""
        units = []
        for spec in (w.task_spec() for w in self._workers):
            for tenant in self._tenants:
                name = f"worker:{spec.resource}:{tenant.full_name}"
                work = _bind_worker(spec, tenant, self._resolve)
                units.append((tenant.full_name, Unit(name, work, spec.interval, spec.deadline)))
        return units

    def infra_classifier(self) -> Classifier:
        """The classifier for errors raised by this application's infrastructure."""
        return infra_classifier


def _bind_preflight(spec: PreflightSpec, tenant: RepoTenant) -> Callable[[WorkContext], None]:
    def work(ctx: WorkContext) -> None:
        spec.work(ctx, tenant)

    return work


def _bind_worker(
    spec: WorkerSpec, tenant: RepoTenant, resolve: RepositoryResolver
) -> Callable[[WorkContext], None]:
    # The id is resolved on first use, not at planning time: the repository
    # row only exists once its preflight validated it. No lock: ticks of one
    # unit never overlap, even across restarts.
    resolved: list[RepoTenant] = []

    def work(ctx: WorkContext) -> None:
        if not resolved:
            repository_id = resolve(tenant.owner, tenant.name)
            resolved.append(RepoTenant(tenant.owner, tenant.name, repository_id=repository_id))
        spec.work(ctx, resolved[0])

    return work
