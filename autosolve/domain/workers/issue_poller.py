"""Keeps the local copy of a repository's issues (and pull requests) current."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.domain.ticks import half_spent
from autosolve.infra.github import MalformedResponseError
from autosolve.infra.github.client import same_url
from autosolve.infra.store import SyncCursor
from autosolve.infra.timestamps import parse_timestamp, step_past

if TYPE_CHECKING:
    from autosolve.domain.polling import PollPacer
    from autosolve.infra.github import GitHubClient, IssuePage
    from autosolve.infra.store import Store
    from autosolve.runtime import WorkContext

__all__ = ["MAX_PAGES_PER_RUN", "PROGRESS_LOG_SECONDS", "IssuePoller"]

logger = logging.getLogger(__name__)

MAX_PAGES_PER_RUN = 10_000
"""A sane bound on pages read in one tick (a million issues); more is a listing that loops."""

PROGRESS_LOG_SECONDS = 5.0
"""A catch-up logs its progress at most this often."""


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
    that run ``since`` moves one step past it: one unit of the precision the
    timestamp was written with (a second for GitHub's usual whole seconds),
    so nothing newer can fall in between. Residual risk: an issue of such a
    run edited while the run is being paged can push one other issue of the
    same moment onto a page already read.

    Timestamps are compared as instants, never as text (fractional seconds,
    which GitHub's schema allows, sort wrongly as text).

    A ``next`` link to a page already read in this tick, or more than
    :data:`MAX_PAGES_PER_RUN` pages, is a malformed response naming the URL.

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

    def task_spec(self) -> WorkerSpec[RepoTenant]:
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
        progress = _Progress(ctx, tenant.full_name)
        read: list[str] = []
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
            _check_paging(page, read)
            cursor, caught_up = _advance(cursor, page)
            stored = self._store.save_issue_page(repository_id, page.issues, cursor)
            changed += stored
            progress.page(stored, cursor.since, caught_up)
            if caught_up or half_spent(ctx):
                break  # caught up, or the catch-up goes on at the next tick
        return changed, at_least


def _check_paging(page: IssuePage, read: list[str]) -> None:
    """Refuse a ``next`` link back to a page of this run, or a run that never ends."""
    read.append(page.url)
    if page.next_url is None:
        return
    if any(same_url(page.next_url, url) for url in read) or len(read) >= MAX_PAGES_PER_RUN:
        path = urlsplit(page.url).path
        raise MalformedResponseError(
            f"GET {path}: Link rel=next points to {page.next_url}, a page already read in "
            f"this run (or more than {MAX_PAGES_PER_RUN} pages); refusing to loop",
            method="GET",
            path=path,
            status=200,
        )


def _advance(cursor: SyncCursor, page: IssuePage) -> tuple[SyncCursor, bool]:
    """The cursor after ``page``, and whether the listing is caught up."""
    newest = max((i.updated_at for i in page.issues), default=None, key=parse_timestamp)
    if newest is not None and (
        cursor.since is None or parse_timestamp(newest) > parse_timestamp(cursor.since)
    ):
        # Progress: restart at page 1 from the new mark. The ETag belongs to
        # the old URL, so it is dropped.
        return SyncCursor(since=newest, etag=None, next_url=None), False
    if page.next_url is not None:
        # A full page of one timestamp: only paging can get past it.
        return SyncCursor(since=cursor.since, etag=None, next_url=page.next_url), False
    if cursor.next_url is not None and cursor.since is not None:
        # The end of a same-timestamp run: everything at `since` is stored.
        return SyncCursor(since=step_past(cursor.since), etag=None), False
    return SyncCursor(since=cursor.since, etag=page.etag, next_url=None), True


class _Progress:
    """A catch-up's progress: in the status record, and logged at most every few seconds.

    The worker's status record carries ``{"pages", "stored", "since",
    "caught_up"}`` of the latest catch-up: pages read, issues stored new or
    changed, the high-water mark, and whether the listing is caught up.
    """

    def __init__(self, ctx: WorkContext, repository: str) -> None:
        self._ctx = ctx
        self._repository = repository
        self._pages = 0
        self._changed = 0
        self._logged = ctx.clock.monotonic()

    def page(self, changed: int, since: str | None, caught_up: bool) -> None:
        self._pages += 1
        self._changed += changed
        self._ctx.set_progress(
            {"pages": self._pages, "stored": self._changed, "since": since, "caught_up": caught_up}
        )
        if caught_up:
            self._caught_up()
            return
        now = self._ctx.clock.monotonic()
        if now - self._logged >= PROGRESS_LOG_SECONDS:
            self._logged = now
            logger.info(
                "%s: syncing issues: %d new or changed in %d pages so far",
                self._repository, self._changed, self._pages,
            )  # fmt: skip

    def _caught_up(self) -> None:
        if not self._changed and self._pages <= 1:
            return
        # A catch-up of several pages is news; a steady-state change is not.
        level = logging.INFO if self._pages > 1 else logging.DEBUG
        logger.log(
            level,
            "%s: caught up: %d issues new or changed in %d pages",
            self._repository, self._changed, self._pages,
        )  # fmt: skip
