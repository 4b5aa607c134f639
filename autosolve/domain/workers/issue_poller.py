"""Keeps the local copy of a repository's issues (and pull requests) current."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from autosolve.domain.listing import Listing, Synced, sync_listing
from autosolve.domain.spec import RepoTenant, WorkerSpec

if TYPE_CHECKING:
    from autosolve.domain.polling import PollPacer
    from autosolve.infra.github import GitHubClient, Issue, Page
    from autosolve.infra.store import Store, SyncCursor
    from autosolve.runtime import WorkContext

__all__ = ["IssuePoller"]

logger = logging.getLogger(__name__)


class IssuePoller:
    """Lists issues updated since the stored high-water mark and stores them.

    The listing is read as :mod:`autosolve.domain.listing` says (restarting
    at page 1 from the newest ``updated_at`` after each page, so no issue is
    skipped while issues change mid-catch-up; a loop refused; a 304 in steady
    state). Issues, the new cursor and one outbox event per new or changed
    issue are stored in one transaction per page.

    With a ``pacer``, each poll sets the repository's next interval (adaptive
    polling): short after a change, long while quiet, within the budget.
    """

    def __init__(
        self, github: GitHubClient, store: Store, interval: float, pacer: PollPacer | None = None
    ) -> None:
        self._github = github
        self._store = store
        self._interval = interval
        self._pacer = pacer

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        return WorkerSpec(resource="issue-poller", interval=self._interval, work=self.poll)

    def poll(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        synced = self._sync(ctx, tenant)
        if self._pacer is not None and not ctx.cancelled:
            now = ctx.clock.monotonic()
            key = tenant.full_name
            interval = self._pacer.next_interval(key, changed=synced.changed > 0, now=now,
                                                 at_least=synced.poll_interval)  # fmt: skip
            ctx.set_interval(interval)

    def _sync(self, ctx: WorkContext, tenant: RepoTenant) -> Synced:
        """Catch up with the issue listing."""
        repository_id = tenant.repository_id
        assert repository_id is not None, "the Planner resolves the repository id"

        def save(page: Page[Issue], cursor: SyncCursor) -> int:
            return self._store.save_issue_page(repository_id, page.items, cursor)

        return sync_listing(
            ctx,
            Listing(logger, tenant.full_name, "issues"),
            self._store.load_cursor(repository_id),
            partial(self._github.list_issues, tenant.owner, tenant.name),
            save,
        )
