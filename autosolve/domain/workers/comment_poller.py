"""Keeps the local copy of a repository's issue comments (and its labels) current."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from autosolve.domain.command import CommandRule
from autosolve.domain.listing import Listing, check_paging, sync_listing
from autosolve.domain.spec import RepoTenant, WorkerSpec
from autosolve.infra.store import SyncCursor, UnknownIssueError
from autosolve.infra.store.cursors import COMMENTS, LABELS

if TYPE_CHECKING:
    from autosolve.infra.comment import Comment
    from autosolve.infra.github import GitHubClient, Page
    from autosolve.infra.store import RepositoryRef, Store
    from autosolve.runtime import WorkContext

__all__ = ["CommentPoller"]

logger = logging.getLogger(__name__)

WindowStart = Callable[["RepositoryRef"], "str | None"]
"""When a repository's analysis window opens (ISO 8601), None = no limit."""


class CommentPoller:
    """Mirrors the repository's issue comments into ``comments``; re-lists its labels.

    The comment listing (``GET /repos/{o}/{n}/issues/comments``, sorted by
    update) is read like the issue listing (:mod:`autosolve.domain.listing`:
    paged, loop-guarded, conditional), from where the repository's analysis
    window opens (``window_start``: its watch start by default): comments
    older than that belong to history autosolve never acts on.

    A new comment always moves its issue's ``updated_at``, so the comment
    listing is read only when the issue poller's high-water mark moved since
    the last reading (and once after a start): a quiet repository costs no
    request at all, a change one conditional request (or two: the page with
    what is new, then page 1 again from its time). A comment edited later,
    alone, is seen with the next change of the repository.

    A new comment that is a command (:class:`~autosolve.domain.command.CommandRule`)
    gets its outbox event in the page's transaction; one whose issue is not
    mirrored yet leaves the page for the next tick.

    The repository's labels are listed at the first tick and again with a
    change of the repository, at most every ``slowest`` seconds,
    conditionally (a 304 when unchanged): labels matter when an issue is
    analysed, and an issue is analysed when something changed.
    """

    def __init__(
        self,
        github: GitHubClient,
        store: Store,
        interval: float,
        *,
        slowest: float,
        window_start: WindowStart,
        commands: CommandRule | None = None,
    ) -> None:
        self._github = github
        self._store = store
        self._interval = interval
        self._slowest = slowest
        self._window_start = window_start
        self._commands = commands or CommandRule("")
        self._lock = threading.Lock()
        self._marks: dict[int, str | None] = {}
        """Per repository: the issue poller's mark when the comments were last read."""
        self._labels_read: dict[int, float] = {}
        """Per repository: when (monotonic) its labels were last listed."""

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        return WorkerSpec(resource="comment-poller", interval=self._interval, work=self.poll)

    def poll(self, ctx: WorkContext, tenant: RepoTenant) -> None:
        repository_id = tenant.repository_id
        assert repository_id is not None, "the Planner resolves the repository id"
        mark = self._store.load_cursor(repository_id).since
        with self._lock:
            unchanged = repository_id in self._marks and self._marks[repository_id] == mark
            labels_read = self._labels_read.get(repository_id)
        if unchanged:
            return
        now = ctx.clock.monotonic()
        if labels_read is None or now - labels_read >= self._slowest:
            self._refresh_labels(tenant, repository_id)
            with self._lock:
                self._labels_read[repository_id] = now
        if self._sync(ctx, tenant, self._store.repository(repository_id)):
            with self._lock:
                self._marks[repository_id] = mark

    def _sync(self, ctx: WorkContext, tenant: RepoTenant, repository: RepositoryRef) -> bool:
        """Catch up with the comment listing; True when caught up."""
        cursor = self._store.load_cursor(repository.id, COMMENTS)
        if cursor == SyncCursor():
            cursor = SyncCursor(since=self._window_start(repository))
        try:
            synced = sync_listing(
                ctx,
                Listing(logger, tenant.full_name, "comments"),
                cursor,
                partial(self._github.list_repository_comments, tenant.owner, tenant.name),
                partial(self._save, repository),
            )
        except UnknownIssueError as error:
            logger.debug("%s: comments wait for the issue poller: %s", tenant.full_name, error)
            return False
        return synced.caught_up

    def _save(self, repository: RepositoryRef, page: Page[Comment], cursor: SyncCursor) -> int:
        commands = self._commands.requested(repository, page.items)
        saved = self._store.save_comment_page(repository.id, page.items, cursor, commands)
        self._commands.report(repository, page.items, saved.new)
        return saved.changed

    def _refresh_labels(self, tenant: RepoTenant, repository_id: int) -> None:
        """Re-list the labels: a 304 when unchanged (a listing of one page), else all pages."""
        etag = self._store.load_cursor(repository_id, LABELS).etag
        page = self._github.list_labels(tenant.owner, tenant.name, etag=etag)
        if page.not_modified:
            return
        first, labels, read = page, list(page.items), [page.url]
        while page.next_url is not None:
            page = self._github.list_labels(tenant.owner, tenant.name, page_url=page.next_url)
            check_paging(page, read)
            labels.extend(page.items)
        # Only a listing of one page can be asked for conditionally: a change on a later
        # page leaves the first one's ETag as it was.
        etag = first.etag if first.next_url is None else None
        self._store.save_labels(repository_id, labels, SyncCursor(etag=etag))
        logger.debug("%s: %d labels mirrored", tenant.full_name, len(labels))
