"""The organisation module: every repository of an organisation, or of an App's installations.

Its tenants are the sources of repositories: each of ``github.organizations``
and, with a GitHub App (``github.app.id``), the App's installations. Each has
a discoverer: ``preflight:repository-discoverer:{org}`` lists the source at
start, ``worker:repository-discoverer:{org}`` lists it again every
``intervals.repository_discoverer`` seconds. What they find goes to the
daemon's :class:`~autosolve.domain.discovery.RepositoryDirectory`, which the
repository module's planner reads (:func:`discovered_repositories`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autosolve.domain.discovery import FoundRepository, RepositoryDirectory
from autosolve.domain.spec import OrganizationTenant
from autosolve.domain.workers.repository_discoverer import (
    FirstDiscovery,
    InstallationLister,
    RepositoryDiscoverer,
)
from autosolve.schedule.planner import TenantPlanner

if TYPE_CHECKING:
    from autosolve.infra.github.app import GitHubApp
    from autosolve.schedule.contracts import GlobalWorker, Preflight, Worker
    from autosolve.schedule.dependencies import Dependencies
    from autosolve.settings import Settings

__all__ = [
    "AppInstallations",
    "OrganizationModule",
    "directory_of",
    "discovered_repositories",
    "organization_tenants",
]


class OrganizationModule:
    """Per source of repositories: a first listing, then one every discoverer interval."""

    name = "organization"
    tables: tuple[str, ...] = ()
    """It keeps nothing: what it finds is the repository module's tenants."""
    leased = False
    """Every daemon of a cluster lists (the listing is the same everywhere)."""

    def preflights(self, deps: Dependencies) -> list[Preflight[OrganizationTenant]]:
        return [FirstDiscovery(_discoverer(deps))]

    def workers(self, deps: Dependencies) -> list[Worker[OrganizationTenant]]:
        return [_discoverer(deps)]

    def global_workers(self, deps: Dependencies) -> list[GlobalWorker]:
        return []

    def planner(
        self,
        deps: Dependencies,
        preflights: Sequence[Preflight[Any]],
        workers: Sequence[Worker[Any]],
    ) -> TenantPlanner[OrganizationTenant]:
        return TenantPlanner(organization_tenants(deps.settings), preflights, workers)


class AppInstallations:
    """A GitHub App's installations as a source of repositories (for the discoverer)."""

    def __init__(self, app: GitHubApp) -> None:
        self._app = app

    def installation_repositories(self) -> list[FoundRepository]:
        """Every watchable repository of every installation (of ``installation_id`` alone
        when it is set), with the installation that covers it."""
        return [
            FoundRepository(repository.full_name, installation.id)
            for installation in self._app.installations()
            for repository in self._app.repositories(installation)
            if repository.watchable
        ]


def organization_tenants(settings: Settings) -> list[OrganizationTenant]:
    """Each of ``github.organizations``, then the App's installations when there is an App."""
    github = settings.github
    tenants = [OrganizationTenant(login) for login in github.organizations]
    if github.app.id:
        tenants.append(OrganizationTenant("", app_id=github.app.id))
    return tenants


def directory_of(deps: Dependencies) -> RepositoryDirectory:
    """The dependencies' directory of discovered repositories (an empty one if they keep none)."""
    directory = getattr(deps, "directory", None)
    return directory if isinstance(directory, RepositoryDirectory) else RepositoryDirectory()


def discovered_repositories(deps: Dependencies) -> list[str]:
    """``github.repositories``, then every discovered one, less ``github.exclude``."""
    github = deps.settings.github
    sources = [tenant.key for tenant in organization_tenants(deps.settings)]
    return directory_of(deps).watched(github.repositories, sources, github.exclude)


def _discoverer(deps: Dependencies) -> RepositoryDiscoverer:
    app = getattr(deps, "app_installations", None)
    return RepositoryDiscoverer(
        deps.github,
        directory_of(deps),
        deps.settings.intervals.repository_discoverer,
        app=app if isinstance(app, InstallationLister) else None,
    )
