"""The lease keeper: which repositories this daemon runs, when several share a database.

Every heartbeat (``cluster.lease_ttl`` / 3 seconds) the keeper:

1. renews this node's row and the leases it holds, and counts the live nodes;
2. stops at once the units of every repository whose lease another node took
   (this node was paused or cut off past its lease);
3. works out its fair share, ``ceil(repositories / live nodes)``, and either
   gives back the surplus (stopping those units *first*) or claims free and
   expired leases up to the share, starting their units.

So the repositories spread evenly, a new node gets its share within a couple
of heartbeats, and a dead node's repositories are claimed by the others once
its node row and leases expire: within ``ttl + ttl / 3``, under the 2 × TTL
the issue sets. Fencing in the store backs all this up: even a keeper that
is too late to stop a unit cannot let it write for a repository it lost.

The keeper only decides; starting and stopping units is the caller's
business (``start_units`` / ``stop_units``), and the lease table behind it is
any :class:`LeaseTable` (PostgreSQL's :class:`~autosolve.infra.postgres.Cluster`).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KeeperReport", "LeaseKeeper", "LeaseTable"]

log = logging.getLogger(__name__)


class BeatResult(Protocol):
    """What a heartbeat of the lease table reports."""

    @property
    def live_nodes(self) -> int: ...

    @property
    def held(self) -> frozenset[str]: ...


class LeaseTable(Protocol):
    """The shared lease table, as the keeper uses it."""

    @property
    def node_id(self) -> str: ...

    @property
    def ttl(self) -> float: ...

    def beat(self) -> BeatResult: ...

    def claim(self, candidates: Iterable[str], limit: int) -> frozenset[str]: ...

    def release(self, repositories: Iterable[str]) -> None: ...

    def leave(self) -> None: ...


UnitSwitch = Callable[[frozenset[str]], None]
"""Starts (or stops) the units of the given repositories (lease keys)."""


@dataclass(frozen=True, slots=True)
class KeeperReport:
    """What one heartbeat changed, for logs and tests."""

    live_nodes: int
    share: int
    """How many repositories this node aims to hold."""
    held: frozenset[str]
    acquired: frozenset[str] = frozenset()
    released: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()


class LeaseKeeper:
    """Keeps this node's fair share of repository leases and its units in step.

    Args:
        table: the shared lease table.
        repositories: ``owner/name`` of every configured repository.
        start_units: called with repositories just acquired.
        stop_units: called with repositories to stop; must return only once
            their units stopped (a released lease is free for others at once).
        monotonic: local clock; after ``ttl`` seconds without a successful
            heartbeat every lease counts as lost.
    """

    def __init__(
        self,
        table: LeaseTable,
        repositories: Sequence[str],
        *,
        start_units: UnitSwitch,
        stop_units: UnitSwitch,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._repositories = frozenset(r.lower() for r in repositories)
        self._start_units = start_units
        self._stop_units = stop_units
        self._monotonic = monotonic
        self._held: frozenset[str] = frozenset()
        self._valid_until = -math.inf
        self._beaten = False

    @property
    def held(self) -> frozenset[str]:
        """Lease keys (lower-case ``owner/name``) this node runs units for."""
        return self._held

    @property
    def has_beaten(self) -> bool:
        """True once a heartbeat completed: until then nobody knows what this node holds."""
        return self._beaten

    def holds(self, repository: str) -> bool:
        """True while this node holds ``repository`` and its last heartbeat is fresh."""
        return repository.lower() in self._held and self._monotonic() < self._valid_until

    def set_repositories(self, repositories: Collection[str]) -> None:
        """Change the configured repositories (a reload); applied at the next heartbeat."""
        self._repositories = frozenset(r.lower() for r in repositories)

    def tick(self) -> KeeperReport:
        """One heartbeat: renew, notice losses, give back or claim toward the fair share.

        Raises:
            Exception: whatever the lease table raised; if heartbeats have failed
                for ``ttl`` seconds, every unit was stopped first.
        """
        started = self._monotonic()
        try:
            beat = self._table.beat()
        except Exception:
            if self._held and self._monotonic() >= self._valid_until:
                lost, self._held = self._held, frozenset()
                log.error(
                    "no heartbeat for %g s: stopping the units of %d repositories",
                    self._table.ttl,
                    len(lost),
                )
                self._stop_units(lost)
            raise
        self._valid_until = started + self._table.ttl
        lost = self._held - beat.held
        if lost:
            log.warning("leases lost to other nodes, stopping at once: %s", ", ".join(sorted(lost)))
            self._held -= lost
            self._stop_units(lost)
        # Leases held but unknown to this keeper (stale rows, or repositories
        # removed from the settings) are given back untouched.
        orphans = beat.held - self._held
        share = math.ceil(len(self._repositories) / max(beat.live_nodes, 1))
        released = self._release(orphans | self._surplus(share))
        acquired = self._claim(share)
        self._beaten = True  # only now: the first tick's claims are in `held`
        return KeeperReport(beat.live_nodes, share, self._held, acquired, released, lost)

    def stop(self) -> None:
        """Stop every leased unit, then give the leases back and leave the cluster."""
        held, self._held = self._held, frozenset()
        if held:
            self._stop_units(held)
        self._table.leave()

    def _surplus(self, share: int) -> frozenset[str]:
        unwanted = self._held - self._repositories
        keep = sorted(self._held & self._repositories, key=self._preference)
        return unwanted | frozenset(keep[share:])

    def _release(self, repositories: frozenset[str]) -> frozenset[str]:
        if not repositories:
            return repositories
        running = repositories & self._held
        if running:
            self._stop_units(running)
            self._held -= running
        self._table.release(repositories)
        log.info("gave back %d leases: %s", len(repositories), ", ".join(sorted(repositories)))
        return repositories

    def _claim(self, share: int) -> frozenset[str]:
        wanted = share - len(self._held)
        if wanted <= 0:
            return frozenset()
        acquired = self._table.claim(self._repositories - self._held, wanted)
        if not acquired:
            return acquired
        log.info("took %d leases: %s", len(acquired), ", ".join(sorted(acquired)))
        try:
            self._start_units(acquired)
        except BaseException:
            self._table.release(acquired)  # let another node try them
            raise
        self._held |= acquired
        return acquired

    def _preference(self, repository: str) -> str:
        # The order the table's claim uses too (md5 of node and repository), so
        # a node keeps the repositories it would have picked first.
        return hashlib.md5((self._table.node_id + repository).encode()).hexdigest()
