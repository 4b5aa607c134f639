"""Reading a GitHub listing sorted by update time into the mirror: what the pollers share.

The issue poller and the comment poller read the same kind of listing
(``sort=updated&direction=asc&since=…``, 100 a page, ``Link: rel="next"``,
``ETag``) into the store; :func:`sync_listing` is that reading, once.

Why not simply follow GitHub's ``Link: rel="next"`` pages: they are page
*numbers* over a list sorted by ``updated_at``. When an item on an earlier
page is edited mid-catch-up it jumps to the end, every later item shifts one
place up, and the first item of the next page slides onto a page already
read — skipped for good. So after each page the reading restarts at page 1
with ``since`` = the newest ``updated_at`` it stored. ``since`` is inclusive,
so nothing is lost at the boundary; the overlap is re-stored harmlessly.

Only when a whole page shares one ``updated_at`` (``since`` cannot move)
does it follow the next link, remembering it in the cursor; at the end of
that run ``since`` moves one step past it: one unit of the precision the
timestamp was written with (a second for GitHub's usual whole seconds), so
nothing newer can fall in between. Paging such a run has the same hazard: an
item of the run edited meanwhile leaves it for the end, and an item of the
same moment slides onto a page already read. So a run paged from its start
within one tick is read once more from its first page before ``since``
moves past it: the items that left are no longer in the way, and the one
that slid is found (only an edit during both readings can hide it again). A
run longer than half a tick's reading, continued at the next tick, is not
read again (a second reading could never finish in one tick either).

Timestamps are compared as instants, never as text (fractional seconds,
which GitHub's schema allows, sort wrongly as text). A ``next`` link to a
page already read in this tick, or more than :data:`MAX_PAGES_PER_RUN`
pages, is a malformed response naming the URL. In steady state the last
request is repeated with the listing's ``ETag``: a 304 costs one request
and no rate limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from autosolve.domain.ticks import half_spent
from autosolve.infra.github import MalformedResponseError
from autosolve.infra.github.client import same_url
from autosolve.infra.store import SyncCursor
from autosolve.infra.timestamps import parse_timestamp, step_past

if TYPE_CHECKING:
    from autosolve.infra.github import Page
    from autosolve.runtime import WorkContext

__all__ = [
    "MAX_PAGES_PER_RUN",
    "PROGRESS_LOG_SECONDS",
    "Fetch",
    "Listing",
    "Save",
    "Synced",
    "check_paging",
    "sync_listing",
]

MAX_PAGES_PER_RUN = 10_000
"""A sane bound on pages read in one tick (a million items); more is a listing that loops."""

PROGRESS_LOG_SECONDS = 5.0
"""A catch-up logs its progress at most this often."""


class Fetch(Protocol):
    """Reads one page of a listing: the first from ``since`` (with ``etag``), or ``page_url``."""

    def __call__(
        self, *, since: str | None, etag: str | None, page_url: str | None
    ) -> Page[Any]: ...


Save = Callable[["Page[Any]", SyncCursor], int]
"""Stores a page's items with the cursor after it, in one transaction; returns how many
items were new or changed."""


@dataclass(frozen=True)
class Listing:
    """Which listing is read, for the progress log: ``octo/hello: syncing issues: …``."""

    logger: logging.Logger
    repository: str
    """``owner/name``."""
    items: str
    """What the listing lists, plural: ``issues``, ``comments``."""


@dataclass(frozen=True)
class Synced:
    """What one tick's reading of a listing did."""

    changed: int
    """Items new or changed."""
    poll_interval: float | None
    """GitHub's ``X-Poll-Interval``, if it sent one."""
    caught_up: bool
    """False when the catch-up goes on at the next tick (or the tick was cancelled)."""


def sync_listing(
    ctx: WorkContext, listing: Listing, cursor: SyncCursor, fetch: Fetch, save: Save
) -> Synced:
    """Catch up with a listing from ``cursor``: pages until caught up or half the tick spent.

    Raises:
        MalformedResponseError: the listing loops (see the module).
        Exception: what ``fetch`` or ``save`` raised; what was saved stays.
    """
    progress = _Progress(ctx, listing)
    read: list[str] = []
    runs = _RunRereading()
    changed, at_least, caught_up = 0, None, False
    while not ctx.cancelled:
        etag = None if cursor.next_url else cursor.etag
        page = fetch(since=cursor.since, etag=etag, page_url=cursor.next_url)
        at_least = page.poll_interval or at_least
        if page.not_modified:
            caught_up = True
            break
        check_paging(page, read)
        after, caught_up = _advance(cursor, page)
        cursor = runs.next_cursor(cursor, after)
        if cursor is not after:
            read.clear()  # the run's pages are read again, on purpose
        stored = save(page, cursor)
        changed += stored
        progress.page(stored, cursor.since, caught_up)
        if caught_up or half_spent(ctx):
            break  # caught up, or the catch-up goes on at the next tick
    return Synced(changed, at_least, caught_up)


def check_paging(page: Page[Any], read: list[str]) -> None:
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


def _advance(cursor: SyncCursor, page: Page[Any]) -> tuple[SyncCursor, bool]:
    """The cursor after ``page``, and whether the listing is caught up."""
    times = (item.updated_at for item in page.items if item.updated_at is not None)
    newest = max(times, default=None, key=parse_timestamp)
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


class _RunRereading:
    """Sends a same-timestamp run paged from its start in this tick back to its first page,
    once, when its paging ends (see the module: items slide onto pages already read)."""

    def __init__(self) -> None:
        self._started: str | None = None
        """The timestamp of the run whose first page this tick read."""
        self._reread: str | None = None
        """The timestamp of the run this tick has sent back to its first page."""

    def next_cursor(self, before: SyncCursor, after: SyncCursor) -> SyncCursor:
        """``after``, or the run's first page again when ``after`` leaves it the first time."""
        run = before.since
        if before.next_url is None and after.next_url is not None:
            self._started = run  # a full page of one timestamp: paging begins
        leaving = before.next_url is not None and after.next_url is None
        if not leaving or run is None or run != self._started or run == self._reread:
            return after
        self._reread = run
        return SyncCursor(since=run, etag=None, next_url=None)


class _Progress:
    """A catch-up's progress: in the status record, and logged at most every few seconds.

    The worker's status record carries ``{"pages", "stored", "since",
    "caught_up"}`` of the latest catch-up: pages read, items stored new or
    changed, the high-water mark, and whether the listing is caught up.
    """

    def __init__(self, ctx: WorkContext, listing: Listing) -> None:
        self._ctx = ctx
        self._listing = listing
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
            listing = self._listing
            listing.logger.info(
                "%s: syncing %s: %d new or changed in %d pages so far",
                listing.repository, listing.items, self._changed, self._pages,
            )  # fmt: skip

    def _caught_up(self) -> None:
        if not self._changed and self._pages <= 1:
            return
        # A catch-up of several pages is news; a steady-state change is not.
        level = logging.INFO if self._pages > 1 else logging.DEBUG
        listing = self._listing
        listing.logger.log(
            level,
            "%s: caught up: %d %s new or changed in %d pages",
            listing.repository, self._changed, listing.items, self._pages,
        )  # fmt: skip
