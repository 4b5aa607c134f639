"""What a module is: the interface the application loads modules by."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
    from autosolve.schedule.dependencies import Dependencies
    from autosolve.schedule.planner import TenantPlanner

__all__ = ["Module"]


class Module(Protocol):
    """A tenant type with its lifecycle (preflights, workers) and its storage."""

    @property
    def name(self) -> str:
        """What the module is called (its tenants' kind: ``repository``, ``organization``)."""
        ...

    @property
    def tables(self) -> tuple[str, ...]:
        """The store's tables this module's tasks keep (users may query them)."""
        ...

    @property
    def leased(self) -> bool:
        """In a cluster, its workers work only where this node holds the tenant's lease."""
        ...

    def preflights(self, deps: Dependencies) -> Sequence[Preflight[Any]]:
        """One-shot tasks run per tenant before the tenant's workers."""
        ...

    def workers(self, deps: Dependencies) -> Sequence[Worker[Any]]:
        """Interval tasks run per tenant."""
        ...

    def global_workers(self, deps: Dependencies) -> Sequence[GlobalWorker]:
        """Interval tasks run once, not per tenant."""
        ...

    def planner(
        self,
        deps: Dependencies,
        preflights: Sequence[Preflight[Any]],
        workers: Sequence[Worker[Any]],
    ) -> TenantPlanner[Any]:
        """``preflights`` and ``workers`` × the tenants the settings give this module."""
        ...
