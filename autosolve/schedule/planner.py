"""Planners: the only place that maps settings to tenants to work closures.

:class:`TenantPlanner` multiplies one module's specs by that module's
tenants; each module (:mod:`autosolve.schedule.modules`) builds one from the
settings. :class:`Planner` is the repository module's: its workers' closures
resolve the repository's local id on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Generic

from autosolve.domain.spec import RepoTenant, TenantT
from autosolve.runtime import Unit
from autosolve.schedule.classifier import infra_classifier

if TYPE_CHECKING:
    from autosolve.domain.spec import WorkerSpec
    from autosolve.runtime import Classifier, WorkContext, WorkFunc
    from autosolve.schedule.contracts import Preflight, Worker

__all__ = ["Planner", "RepositoryResolver", "TenantPlanner"]

RepositoryResolver = Callable[[str, str], int]
"""``(owner, name) -> local repository id``; called once per unit, then cached."""


class TenantPlanner(Generic[TenantT]):
    """Multiplies a module's preflight and worker specs by its tenants.

    Args:
        tenants: what the module's units work for, in settings order.
        preflights: the module's preflight tasks.
        workers: the module's interval tasks.
    """

    def __init__(
        self,
        tenants: Sequence[TenantT],
        preflights: Sequence[Preflight[TenantT]],
        workers: Sequence[Worker[TenantT]],
    ) -> None:
        self._tenants = list(tenants)
        self._preflights = preflights
        self._workers = workers

    @property
    def tenants(self) -> list[str]:
        """The tenants' keys (each ends its units' names and names their group)."""
        return [tenant.key for tenant in self._tenants]

    def preflights(self) -> list[Unit]:
        """One one-shot unit per tenant × preflight."""
        return [unit for _, unit in self.tenant_preflights()]

    def workers(self) -> list[Unit]:
        """One interval unit per tenant × worker."""
        return [unit for _, unit in self.tenant_workers()]

    def tenant_preflights(self) -> list[tuple[str, Unit]]:
        """:meth:`preflights`, each with the key of the tenant it works for."""
        units = []
        for spec in (p.task_spec() for p in self._preflights):
            for tenant in self._tenants:
                name = f"preflight:{spec.resource}:{tenant.key}"
                units.append((tenant.key, Unit(name, _bind(spec.work, tenant))))
        return units

    def tenant_workers(self) -> list[tuple[str, Unit]]:
        """:meth:`workers`, each with the key of the tenant it works for."""
        units = []
        for spec in (w.task_spec() for w in self._workers):
            for tenant in self._tenants:
                name = f"worker:{spec.resource}:{tenant.key}"
                work = self.bind_worker(spec, tenant)
                units.append((tenant.key, Unit(name, work, spec.interval, spec.deadline)))
        return units

    def bind_worker(self, spec: WorkerSpec[TenantT], tenant: TenantT) -> WorkFunc:
        """The closure a worker unit runs: ``spec.work`` for ``tenant``."""
        return _bind(spec.work, tenant)

    def infra_classifier(self) -> Classifier:
        """The classifier for errors raised by this application's infrastructure."""
        return infra_classifier


class Planner(TenantPlanner[RepoTenant]):
    """The repository module's planner: per-repository specs × repositories.

    Args:
        repositories: ``owner/name`` strings (configured and discovered).
        preflights: registered preflight tasks.
        workers: registered per-repository worker tasks.
        resolve_repository_id: looks up the local id of a validated repository.
    """

    def __init__(
        self,
        repositories: Sequence[str],
        preflights: Sequence[Preflight[RepoTenant]],
        workers: Sequence[Worker[RepoTenant]],
        resolve_repository_id: RepositoryResolver,
    ) -> None:
        owners_and_names = (repository.split("/", 1) for repository in repositories)
        tenants = [RepoTenant(owner, name) for owner, name in owners_and_names]
        super().__init__(tenants, preflights, workers)
        self._resolve = resolve_repository_id

    def bind_worker(self, spec: WorkerSpec[RepoTenant], tenant: RepoTenant) -> WorkFunc:
        """``spec.work`` with the repository's id, resolved on the first tick."""
        # The id is resolved on first use, not at planning time: the repository
        # row only exists once its preflight validated it. No lock: ticks of one
        # unit never overlap, even across restarts.
        resolve = self._resolve
        resolved: list[RepoTenant] = []

        def work(ctx: WorkContext) -> None:
            if not resolved:
                repository_id = resolve(tenant.owner, tenant.name)
                resolved.append(RepoTenant(tenant.owner, tenant.name, repository_id=repository_id))
            spec.work(ctx, resolved[0])

        return work


def _bind(
    work: Callable[[WorkContext, TenantT], None], tenant: TenantT
) -> Callable[[WorkContext], None]:
    def bound(ctx: WorkContext) -> None:
        work(ctx, tenant)

    return bound
