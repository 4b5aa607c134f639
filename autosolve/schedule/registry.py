"""Every task autosolve runs. Adding a task is one class and one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.app import Dependencies
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker

__all__ = ["new_global_workers", "new_preflights", "new_workers"]


def new_preflights(deps: Dependencies) -> list[Preflight]:
    """One-shot tasks run per repository before any worker."""
    return []


def new_workers(deps: Dependencies) -> list[Worker]:
    """Interval tasks run per repository."""
    return []


def new_global_workers(deps: Dependencies) -> list[GlobalWorker]:
    """Interval tasks run once, not per repository."""
    return []
