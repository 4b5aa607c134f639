"""What domain tasks declare: a resource name, an interval, a work function.

Specs carry no retry knowledge; how failures are retried is the runtime's
policies' business, chosen by classifying the errors infrastructure raises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime import WorkContext

__all__ = ["GlobalWorkerSpec", "PreflightSpec", "RepoTenant", "WorkerSpec"]


@dataclass(frozen=True)
class RepoTenant:
    """The repository a per-repository unit works for."""

    owner: str
    name: str
    repository_id: int | None = None
    """The local store id; None for preflights, which run before it may exist."""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class PreflightSpec:
    """A one-shot task run once per repository before any worker starts."""

    resource: str
    work: Callable[[WorkContext, RepoTenant], None]


@dataclass(frozen=True)
class WorkerSpec:
    """An interval task run per repository."""

    resource: str
    interval: float
    work: Callable[[WorkContext, RepoTenant], None]
    deadline: float | None = None
    """Seconds one tick may run; None = the runtime's default (``runtime.tick_deadline``)."""


@dataclass(frozen=True)
class GlobalWorkerSpec:
    """An interval task on shared resources, not scoped to a repository."""

    resource: str
    interval: float
    work: Callable[[WorkContext], None]
    deadline: float | None = None
    """Seconds one tick may run; None = the runtime's default (``runtime.tick_deadline``)."""
