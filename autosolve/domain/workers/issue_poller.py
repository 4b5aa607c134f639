"""Keeps the local copy of a repository's issues (and pull requests) current."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.infra.store import IssueRecord, SyncCursor

if TYPE_CHECKING:
    from autosolve.domain.polling import PollPacer
    from autosolve.infra.github import GitHubClient, Issue, IssuePage
    from autosolve.infra.store import Store
    from autosolve.runtime.context import WorkContext

__all__ = ["IssuePoller"]


class IssuePoller:
    """Lists issues updated since the stored high-water mark and stores them.

    Why not simply follow GitHub's ``Link: rel="next"`` pages: they are page
    *numbers* over a list sorted by ``updated_at``. When an issue on an
    earlier page is edited mid-catch-up it jumps to the end, every later
    issue shifts one place up, and the first issue of the next page slides
    onto a page already read — skipped for good. So after each page the
    poller restarts at page 1 with ``since`` = the newest ``updated_at`` it
    stored. ``since`` is inclusive, so nothing is lost at the boundary; the
    overlap is re-stored harmlessly (no outbox event for an unchanged issue).

    Only when a whole page shares one ``updated_at`` (``since`` cannot move)
    does it follow the next link, remembering it in the cursor; at the end of
    that run ``since`` moves one second past it (GitHub's timestamps have
    whole seconds, so nothing newer can fall in between). Residual risk: an
    issue of such a run edited while the run is being paged can push one
    other issue of the same second onto a page already read.

    In steady state the poller repeats the last request with the listing's
    ``ETag``: a 304 costs one request and no rate limit.

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

    def task_spec(self) -> WorkerSpec:
        return WorkerSpec(resource="issue-poller", interval=self._interval, work=self.poll)

    def poll(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        changed, at_least = self._sync(ctx, tenant)
        if self._pacer is not None and not ctx.cancelled:
            now = ctx.clock.monotonic()
            key = tenant.full_name
            interval = self._pacer.next_interval(key, changed=changed > 0, now=now,
                                                 at_least=at_least)  # fmt: skip
            ctx.set_interval(interval)

    def _sync(self, ctx: WorkContext, tenant: RepoTenant) -> tuple[int, float | None]:
        """Catch up; return how many issues were new or changed, and GitHub's poll interval."""
        repository_id = tenant.repository_id
        assert repository_id is not None, "the Planner resolves the repository id"
        cursor = self._store.load_cursor(repository_id)
        changed, at_least = 0, None
        while not ctx.cancelled:
            page = self._github.list_issues(
                tenant.owner,
                tenant.name,
                since=cursor.since,
                etag=None if cursor.next_url else cursor.etag,
                page_url=cursor.next_url,
            )
            at_least = page.poll_interval or at_least
            if page.not_modified:
                break
            cursor, caught_up = _advance(cursor, page)
            records = [_record(i) for i in page.issues]
            changed += self._store.save_issue_page(repository_id, records, cursor)
            if caught_up:
                break
        return changed, at_least


def _advance(cursor: SyncCursor, page: IssuePage) -> tuple[SyncCursor, bool]:
    """The cursor after ``page``, and whether the listing is caught up."""
    newest = max((i.updated_at for i in page.issues), default=None, key=_timestamp_key)
    if newest is not None and (
        cursor.since is None or _timestamp_key(newest) > _timestamp_key(cursor.since)
    ):
        # Progress: restart at page 1 from the new mark. The ETag belongs to
        # the old URL, so it is dropped.
        return SyncCursor(since=newest, etag=None, next_url=None), False
    if page.next_url is not None:
        # A full page of one timestamp: only paging can get past it.
        return SyncCursor(since=cursor.since, etag=None, next_url=page.next_url), False
    if cursor.next_url is not None and cursor.since is not None:
        # The end of a same-timestamp run: everything at `since` is stored.
        return SyncCursor(since=_one_second_after(cursor.since), etag=None), False
    return SyncCursor(since=cursor.since, etag=page.etag, next_url=None), True


def _one_second_after(timestamp: str) -> str:
    moment = datetime.strptime(_timestamp_key(timestamp), "%Y-%m-%dT%H:%M:%SZ")
    return (moment + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp_key(value: str) -> str:
    # GitHub's timestamps are fixed-width ISO 8601 UTC ("2026-01-01T00:00:00Z"),
    # which sort correctly as text; normalise a "+00:00" suffix just in case.
    return value.replace("+00:00", "Z")


def _record(issue: Issue) -> IssueRecord:
    return IssueRecord(
        github_id=issue.github_id,
        number=issue.number,
        title=issue.title,
        body=issue.body,
        state=issue.state,
        is_pull_request=issue.is_pull_request,
        updated_at=issue.updated_at,
        labels=tuple(issue.labels),
    )
