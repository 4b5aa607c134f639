"""The three kinds of task the schedule knows. Naming is the Scheduler's job.

- :class:`Preflight` → ``preflight:{resource}:{tenant}``
- :class:`Worker` → ``worker:{resource}:{tenant}``
- :class:`GlobalWorker` → ``worker:{resource}``

A tenant is what the task's module multiplies it by: ``owner/name`` for the
repository module, the organisation's login for the organisation module.
"""

from __future__ import annotations

from typing import Protocol

from autosolve.domain.spec import GlobalWorkerSpec, PreflightSpec, TenantT, WorkerSpec

__all__ = ["GlobalWorker", "Preflight", "Worker"]


class Preflight(Protocol[TenantT]):
    """A one-shot task that must succeed for its tenant before the tenant's workers start."""

    def task_spec(self) -> PreflightSpec[TenantT]: ...


class Worker(Protocol[TenantT]):
    """A long-running interval task, run once per tenant."""

    def task_spec(self) -> WorkerSpec[TenantT]: ...


class GlobalWorker(Protocol):
    """A long-running interval task on shared resources, run once."""

    def task_spec(self) -> GlobalWorkerSpec: ...
