"""Lists the repositories of an organisation (or of a GitHub App's installations)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from autosolve.domain.discovery import FoundRepository
from autosolve.domain.spec import OrganizationTenant, PreflightSpec, WorkerSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

    from autosolve.domain.discovery import RepositoryDirectory
    from autosolve.infra.github import GitHubClient
    from autosolve.runtime import WorkContext

__all__ = ["FirstDiscovery", "InstallationLister", "RepositoryDiscoverer"]

RESOURCE = "repository-discoverer"


@runtime_checkable
class InstallationLister(Protocol):
    """A GitHub App's view: its installations and what each covers."""

    def installation_repositories(self) -> Sequence[FoundRepository]: ...


class RepositoryDiscoverer:
    """Lists a source's repositories and records the watchable ones in the directory.

    An organisation is listed with ``GET /orgs/{org}/repos``; an App's
    installations each with ``GET /installation/repositories`` (its own
    token). Archived and disabled repositories are left out. Recording a
    changed list makes the daemon add the new repositories' groups and stop
    the vanished ones' units (their mirror stays).
    """

    def __init__(
        self,
        github: GitHubClient,
        directory: RepositoryDirectory,
        interval: float,
        app: InstallationLister | None = None,
    ) -> None:
        self._github = github
        self._directory = directory
        self._interval = interval
        self._app = app

    def task_spec(self) -> WorkerSpec[OrganizationTenant]:
        return WorkerSpec(resource=RESOURCE, interval=self._interval, work=self.discover)

    def discover(self, ctx: WorkContext, tenant: OrganizationTenant) -> None:
        self._directory.record(tenant.key, self._list(tenant))

    def _list(self, tenant: OrganizationTenant) -> list[FoundRepository]:
        if tenant.app_id:
            if self._app is None:
                raise RuntimeError("the GitHub App's installations cannot be listed: no App")
            return list(self._app.installation_repositories())
        repositories = self._github.list_organization_repositories(tenant.login)
        return [FoundRepository(r.full_name) for r in repositories if r.watchable]


class FirstDiscovery:
    """The discoverer's first listing, as a preflight: the source must answer at start."""

    def __init__(self, discoverer: RepositoryDiscoverer) -> None:
        self._discoverer = discoverer

    def task_spec(self) -> PreflightSpec[OrganizationTenant]:
        return PreflightSpec(resource=RESOURCE, work=self._discoverer.discover)
