"""Cluster mode: this daemon as one of several sharing a PostgreSQL database.

Composition, like :mod:`autosolve.daemon.app` (which uses it when ``database.url`` is
set). What each part does:

* :class:`~autosolve.infra.postgres.cluster.Cluster` is this node's row in the
  shared tables, its leases and the fence every repository write passes;
* :class:`~autosolve.domain.lease_keeper.LeaseKeeper` decides which
  repositories this node runs; it ticks as the global worker
  ``worker:lease-keeper`` every ``cluster.lease_ttl / 3`` seconds;
* every daemon plans every repository's units, but a per-repository worker
  only works while this node holds that repository's lease (:meth:`gate`);
  the first of them to tick makes the keeper's first heartbeat happen. When the keeper
  takes a lease later, those units are resumed and run at once; when it
  loses or gives one back, they are paused and restarted, which cancels a
  tick in flight (``ctl status`` shows them ``paused``).
* the explainer is not leased: every daemon takes jobs (``SKIP LOCKED``),
  each recorded as held by this node; the heartbeat releases the jobs of
  nodes whose own heartbeat expired.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from autosolve.domain.lease_keeper import LeaseKeeper
from autosolve.domain.spec import GlobalWorkerSpec, RepoTenant, WorkerSpec
from autosolve.infra.postgres.cluster import Cluster, lease_key
from autosolve.runtime import ControlError

if TYPE_CHECKING:
    from autosolve.infra.postgres.store import PostgresStore
    from autosolve.runtime import RuntimeHandle, WorkContext
    from autosolve.schedule.contracts import GlobalWorker, Worker
    from autosolve.settings import Settings

__all__ = ["ClusterMember", "default_node_name", "node_name_of"]

log = logging.getLogger(__name__)

KEEPER_RESOURCE = "lease-keeper"
"""The keeper's unit is ``worker:lease-keeper``."""


def default_node_name() -> str:
    """``hostname-pid``: unique per process, readable in the lease table."""
    return f"{socket.gethostname()}-{os.getpid()}"


def node_name_of(settings: Settings) -> str:
    """``cluster.node_name``, or :func:`default_node_name` when it is empty."""
    return settings.cluster.node_name or default_node_name()


class ClusterMember:
    """This daemon's membership: lease table, keeper, and the switch over its units.

    Args:
        settings: the daemon's settings (``github.repositories``, ``[cluster]``).
        store: the open PostgreSQL store; its repository writes get fenced.
    """

    def __init__(self, settings: Settings, store: PostgresStore) -> None:
        self.cluster = Cluster(
            store.database,
            node_name=node_name_of(settings),
            ttl=settings.cluster.lease_ttl,
        )
        """This node in the shared tables."""
        self._repositories = {lease_key(r): r for r in settings.github.repositories}
        self.keeper = LeaseKeeper(
            self.cluster,
            list(self._repositories.values()),
            start_units=self._start_units,
            stop_units=self._stop_units,
        )
        """Decides which repositories this node runs."""
        self._handle: RuntimeHandle | None = None
        # One tick at a time: the keeper's unit and a worker's first_beat().
        self._ticking = threading.Lock()
        self._store = store
        store.set_fence(self.cluster)
        store.set_holder(self.cluster.node_id)

    def join(self) -> None:
        """Register this node before the preflights run.

        Daemons started together then all count each other at their first
        heartbeat and take their fair share at once, instead of the first one
        taking everything and giving most of it back a heartbeat later.
        Jobs a dead node left in flight are released at once.
        """
        self.cluster.beat()
        self._store.release_orphaned_jobs(self.cluster)

    def set_repositories(self, repositories: Sequence[str]) -> None:
        """The configured repositories changed (a reload): the keeper follows at its next beat.

        Leases of repositories no longer configured are given back (their units
        stopped first); new ones are claimed toward the fair share. Call it
        after the new repositories' units exist and before the removed ones go.
        """
        with self._ticking:
            self._repositories = {lease_key(r): r for r in repositories}
            self.keeper.set_repositories(list(self._repositories.values()))

    def attach(self, handle: RuntimeHandle) -> None:
        """The runtime whose per-repository units the keeper switches."""
        self._handle = handle

    # -- units -----------------------------------------------------------------------

    def gate(self, workers: Sequence[Worker[Any]]) -> list[Worker[Any]]:
        """``workers`` whose ticks do nothing unless this node holds the repository."""
        return [_LeasedWorker(worker, self) for worker in workers]

    def keeper_worker(self) -> GlobalWorker:
        """The global worker that runs the keeper's heartbeat."""
        return _KeeperWorker(self)

    def heartbeat(self, ctx: WorkContext) -> None:
        """One keeper tick (the unit ``worker:lease-keeper``).

        Jobs in flight on a node whose heartbeat expired are released too:
        that node is dead or cut off, and its jobs would otherwise wait out
        their visibility timeout (minutes) instead of one TTL.
        """
        with self._ticking:
            self.keeper.tick()
        self._store.release_orphaned_jobs(self.cluster)

    def first_beat(self) -> None:
        """Make sure the keeper beat once; the first worker to need it beats itself.

        The keeper's own unit starts after every per-repository worker (global
        workers come last), which with hundreds of repositories is a while;
        the workers' first ticks should not wait for that.
        """
        if self.keeper.has_beaten:
            return
        with self._ticking:
            if not self.keeper.has_beaten:
                self.keeper.tick()

    def leave(self) -> None:
        """Give every lease back (a shutdown hook: the units have stopped)."""
        try:
            self.cluster.leave()
        except Exception:  # the others take over when the leases expire instead
            log.warning("could not give the leases back; they expire in %g s", self.cluster.ttl)

    def leases_held(self) -> dict[str, bool]:
        """Per configured repository (as spelled in the settings): held by this node now."""
        return {name: self.keeper.holds(name) for name in self._repositories.values()}

    # -- status ----------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """This node and the lease table (``ctl status --cluster``)."""
        now = self.cluster.now()
        return {
            "node": {"id": self.cluster.node_id, "name": self.cluster.node_name},
            "lease_ttl": self.cluster.ttl,
            "nodes": [
                {
                    "id": node.id,
                    "name": node.name,
                    "alive": node.expires_at > now,
                    "heartbeat_age": round(now - node.heartbeat_at, 3),
                }
                for node in self.cluster.nodes()
            ],
            "leases": [
                {
                    "repository": self._repositories.get(lease.repository, lease.repository),
                    "node": lease.node_name,
                    "node_id": lease.owner_id,
                    "mine": lease.owner_id == self.cluster.node_id,
                    "expires_in": round(lease.expires_at - now, 3),
                }
                for lease in self.cluster.leases()
            ],
        }

    # -- switching -------------------------------------------------------------------

    def _start_units(self, keys: frozenset[str]) -> None:
        if not self.keeper.has_beaten:
            return  # the first heartbeat: every unit is about to tick anyway
        self._each(keys, "resume")
        self._each(keys, "run_now")

    def _stop_units(self, keys: frozenset[str]) -> None:
        # Paused first, so the fresh actor the restart makes does not tick.
        self._each(keys, "pause")
        self._each(keys, "restart")

    def _each(self, keys: frozenset[str], command: str) -> None:
        if self._handle is None:
            return  # not started yet: the gate keeps the units idle meanwhile
        for key in sorted(keys):
            pattern = f"worker:*:{self._repositories.get(key, key)}"
            try:
                self._handle.control(command, pattern)
            except ControlError as error:  # e.g. the runtime is stopping
                log.debug("%s %s: %s", command, pattern, error)


class _LeasedWorker:
    """A per-repository worker that works only while this node holds the repository."""

    def __init__(self, worker: Worker[RepoTenant], member: ClusterMember) -> None:
        self._worker = worker
        self._member = member

    def task_spec(self) -> WorkerSpec[RepoTenant]:
        spec = self._worker.task_spec()
        member = self._member

        def work(ctx: WorkContext, tenant: RepoTenant) -> None:
            # At start the workers run before the keeper's unit: rather than
            # skip a tick (and lose a poll interval), have the first beat now.
            member.first_beat()
            if member.keeper.holds(tenant.full_name):
                spec.work(ctx, tenant)

        return WorkerSpec(spec.resource, spec.interval, work, deadline=spec.deadline)


class _KeeperWorker:
    def __init__(self, member: ClusterMember) -> None:
        self._member = member

    def task_spec(self) -> GlobalWorkerSpec:
        return GlobalWorkerSpec(
            resource=KEEPER_RESOURCE,
            interval=self._member.cluster.ttl / 3,
            work=self._member.heartbeat,
        )
