"""What domain tasks declare: a resource name, an interval, a work function.

Specs carry no retry knowledge; how failures are retried is the runtime's
policies' business, chosen by classifying the errors infrastructure raises.

A spec is generic in its tenant: the thing a unit works for. A repository
(:class:`RepoTenant`) is one; an organisation or a GitHub App's installations
(:class:`OrganizationTenant`) is another. Each module of the application
(:mod:`autosolve.schedule.modules`) brings one tenant type and the specs of
its tasks; its planner multiplies them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from autosolve.runtime import WorkContext

__all__ = [
    "GlobalWorkerSpec",
    "OrganizationTenant",
    "PreflightSpec",
    "RepoTenant",
    "Tenant",
    "TenantT",
    "WorkerSpec",
]


class Tenant(Protocol):
    """What a unit works for; its :attr:`key` ends the unit's name and names its group."""

    @property
    def key(self) -> str: ...


TenantT = TypeVar("TenantT", bound=Tenant)
"""A module's tenant type."""


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

    @property
    def key(self) -> str:
        """``owner/name``."""
        return self.full_name


@dataclass(frozen=True)
class OrganizationTenant:
    """A source of repositories: an organisation, or a GitHub App's installations."""

    login: str
    """The organisation's login; for an App, :attr:`key` names the App instead."""
    app_id: int = 0
    """Non-zero: the tenant is this App's installations (every repository they cover)."""

    @property
    def key(self) -> str:
        """The organisation's login, or ``app-{id}-installations``."""
        return f"app-{self.app_id}-installations" if self.app_id else self.login


@dataclass(frozen=True)
class PreflightSpec(Generic[TenantT]):
    """A one-shot task run once per tenant before any worker starts."""

    resource: str
    work: Callable[[WorkContext, TenantT], None]


@dataclass(frozen=True)
class WorkerSpec(Generic[TenantT]):
    """An interval task run per tenant."""

    resource: str
    interval: float
    work: Callable[[WorkContext, TenantT], None]
    deadline: float | None = None
    """Seconds one tick may run; None = the runtime's default (``runtime.tick_deadline``)."""


@dataclass(frozen=True)
class GlobalWorkerSpec:
    """An interval task on shared resources, not scoped to a tenant."""

    resource: str
    interval: float
    work: Callable[[WorkContext], None]
    deadline: float | None = None
    """Seconds one tick may run; None = the runtime's default (``runtime.tick_deadline``)."""
