"""Checks that a configured repository exists and is visible, and records it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.domain.spec import PreflightSpec, RepoTenant

if TYPE_CHECKING:
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.store import Store
    from autosolve.runtime import WorkContext

__all__ = ["RepositoryValidator"]


class RepositoryValidator:
    """``GET /repos/{owner}/{name}``, then upsert the repository.

    A 404, 401 or non-rate-limit 403 is an error that declares nothing the
    classifier could retry, so the preflight fails permanently and the
    message (from the client) names the repository and the reason.

    The first validation of a repository on a database records its watch
    start (``github.issues.since = "first-start"``) on GitHub's clock, the
    ``Date`` of its answer: the issues it is compared with are dated by that
    clock too, and a local clock set wrong (to 2001, say) must not make every
    existing issue look new. Only an answer without a ``Date`` falls back to
    the store's clock.
    """

    def __init__(self, github: GitHubClient, store: Store) -> None:
        self._github = github
        self._store = store

    def task_spec(self) -> PreflightSpec[RepoTenant]:
        return PreflightSpec(resource="repository-validator", work=self.validate)

    def validate(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        repository = self._github.get_repository(tenant.owner, tenant.name)
        self._store.upsert_repository(
            repository.github_id, tenant.owner, tenant.name, watch_since=repository.answered_at
        )
