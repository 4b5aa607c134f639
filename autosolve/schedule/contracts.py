"""The three kinds of task the schedule knows. Naming is the Scheduler's job.

- :class:`Preflight` → ``preflight:{resource}:{owner}/{name}``
- :class:`Worker` → ``worker:{resource}:{owner}/{name}``
- :class:`GlobalWorker` → ``worker:{resource}``
"""

from __future__ import annotations

from typing import Protocol

from autosolve.domain.spec import GlobalWorkerSpec, PreflightSpec, WorkerSpec

__all__ = ["GlobalWorker", "Preflight", "Worker"]


class Preflight(Protocol):
    """A one-shot task that must succeed for every repository before workers start."""

    def task_spec(self) -> PreflightSpec: ...


class Worker(Protocol):
    """A long-running interval task, run once per repository."""

    def task_spec(self) -> WorkerSpec: ...


class GlobalWorker(Protocol):
    """A long-running interval task on shared resources, run once."""

    def task_spec(self) -> GlobalWorkerSpec: ...
