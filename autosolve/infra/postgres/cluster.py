"""Cluster coordination on PostgreSQL: node heartbeats, repository leases, fencing.

Design (see README, "Running several daemons"):

* every daemon process is a *node* with a fresh id; its heartbeat keeps a row
  of ``cluster_nodes`` alive for ``ttl`` seconds;
* each configured repository has at most one *lease* row in ``leases``
  (``owner_id``, ``expires_at``). A node claims free or expired leases, renews
  the ones it holds with the same heartbeat, and gives some back when there are
  more nodes to share with; :class:`autosolve.domain.lease_keeper.LeaseKeeper`
  decides which;
* every write the store makes for a repository first takes a share lock on
  that repository's lease row and checks that this node holds it, unexpired
  (:meth:`Cluster.fence`). A takeover has to update the row, so it waits for
  the write to commit, and a write that starts after the takeover sees the new
  owner and is refused: a paused node never writes for a repository it lost.

Time: with ``now=None`` (production) every comparison uses the database
server's clock, the one clock all nodes share; tests pass a clock function
and move time by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import LeaseLostError

if TYPE_CHECKING:
    import psycopg

    from autosolve.infra.store.engine import Connection

    from .connection import PostgresDatabase

__all__ = ["Beat", "Cluster", "LeaseRow", "NodeRow", "lease_key", "moment"]


def moment(reading: str) -> str:
    """The moment a statement acts at: the injected clock's ``reading``, else the server's.

    ``reading`` is the placeholder of a parameter that is a time, or NULL for
    the database server's clock: the one clock every node shares.
    """
    return f"COALESCE(CAST({reading} AS float8), extract(epoch FROM clock_timestamp()))"


_NOW = moment("%(now)s")
"""The moment, in the cluster's own statements (named parameters)."""
_NOW_AT = moment("?")
"""The moment, in statements on the store's connections (``?`` parameters)."""


def lease_key(repository: str) -> str:
    """The lease row key of ``owner/name``: repository names compare case-insensitively."""
    return repository.lower()


@dataclass(frozen=True, slots=True)
class Beat:
    """What one heartbeat found out."""

    live_nodes: int
    """Nodes whose heartbeat has not expired, this one included."""
    held: frozenset[str]
    """Lease keys this node holds now (renewed by this beat)."""


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """One lease, for status: which node runs the repository, until when."""

    repository: str
    owner_id: str
    node_name: str | None
    """The owner's ``cluster.node_name``; ``None`` once its node row is gone."""
    expires_at: float
    acquired_at: float
    renewed_at: float


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One node's heartbeat row."""

    id: str
    name: str
    started_at: float
    heartbeat_at: float
    expires_at: float


class Cluster:
    """This node's handle on the shared coordination tables.

    Args:
        database: an open :class:`PostgresDatabase`, migrated.
        node_name: ``cluster.node_name``, shown in status.
        ttl: seconds a heartbeat keeps the node and its leases alive.
        now: epoch-seconds clock for tests; ``None`` uses the database's clock.
        node_id: this process's id; a fresh random one by default.
    """

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        node_name: str,
        ttl: float,
        now: Callable[[], float] | None = None,
        node_id: str | None = None,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"`ttl` must be greater than 0, got {ttl!r}")
        self._database = database
        self.node_name = node_name
        """``cluster.node_name`` of this daemon."""
        self.node_id = node_id or f"{node_name}.{uuid.uuid4().hex[:12]}"
        """This process's node id, the ``owner_id`` of its leases."""
        self.ttl = ttl
        """Seconds a heartbeat keeps the node and its leases alive."""
        self._now = now

    # -- heartbeat -------------------------------------------------------------------

    def beat(self) -> Beat:
        """Refresh this node's row and every lease it still owns; count the live nodes.

        A lease is renewed as long as nobody else took it, even if it expired
        meanwhile (this node was paused): no other node wrote for it then,
        since taking it over is the only way to write.
        """
        with self._transaction() as connection:
            connection.execute(
                f"""
                INSERT INTO cluster_nodes (id, name, started_at, heartbeat_at, expires_at)
                VALUES (%(id)s, %(name)s, {_NOW}, {_NOW}, {_NOW} + %(ttl)s)
                ON CONFLICT (id) DO UPDATE SET
                    heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
                """,
                self._params(name=self.node_name),
            )
            held = connection.execute(
                f"""
                UPDATE leases SET expires_at = {_NOW} + %(ttl)s, renewed_at = {_NOW}
                WHERE owner_id = %(id)s
                RETURNING repository
                """,
                self._params(),
            ).fetchall()
            live = connection.execute(
                f"SELECT count(*) FROM cluster_nodes WHERE expires_at > {_NOW}",
                self._params(),
            ).fetchone()
        return Beat(live_nodes=int(live[0]) if live else 1, held=frozenset(r[0] for r in held))

    def leave(self) -> None:
        """Give every lease back and drop this node's row (a graceful stop).

        Call it only after this node's leased units stopped: the others take
        the repositories over at their next heartbeat.
        """
        with self._transaction() as connection:
            connection.execute("DELETE FROM leases WHERE owner_id = %(id)s", self._params())
            connection.execute("DELETE FROM cluster_nodes WHERE id = %(id)s", self._params())

    # -- leases ----------------------------------------------------------------------

    def claim(self, candidates: Iterable[str], limit: int) -> frozenset[str]:
        """Take up to ``limit`` of ``candidates`` (lease keys) that are free or expired.

        Candidates are tried in an order that differs per node (a hash of node
        and repository), so nodes claiming at once mostly pick different ones.
        A lease another node takes concurrently is simply not returned.

        Returns:
            The lease keys this call acquired.
        """
        keys = sorted({lease_key(c) for c in candidates})
        if limit <= 0 or not keys:
            return frozenset()
        with self._transaction() as connection:
            rows = connection.execute(
                f"""
                WITH wanted AS (
                    SELECT c.repository FROM unnest(%(keys)s::text[]) AS c (repository)
                    LEFT JOIN leases AS l ON l.repository = c.repository
                    WHERE l.repository IS NULL OR l.expires_at <= {_NOW}
                    ORDER BY md5(%(id)s || c.repository)
                    LIMIT %(limit)s
                )
                INSERT INTO leases (repository, owner_id, expires_at, acquired_at, renewed_at)
                SELECT repository, %(id)s, {_NOW} + %(ttl)s, {_NOW}, {_NOW} FROM wanted
                ON CONFLICT (repository) DO UPDATE SET
                    owner_id = excluded.owner_id,
                    expires_at = excluded.expires_at,
                    acquired_at = excluded.acquired_at,
                    renewed_at = excluded.renewed_at
                WHERE leases.expires_at <= {_NOW}
                RETURNING repository
                """,
                self._params(keys=keys, limit=limit),
            ).fetchall()
        return frozenset(r[0] for r in rows)

    def release(self, repositories: Iterable[str]) -> None:
        """Give back the leases of ``repositories`` this node holds (its units stopped)."""
        keys = sorted({lease_key(r) for r in repositories})
        if not keys:
            return
        with self._transaction() as connection:
            connection.execute(
                "DELETE FROM leases WHERE owner_id = %(id)s AND repository = ANY(%(keys)s)",
                self._params(keys=keys),
            )

    def leases(self) -> list[LeaseRow]:
        """The whole lease table with owners' names, by repository (``ctl status --cluster``)."""
        with self._database.transaction() as connection:
            rows = connection.execute(
                """
                SELECT l.repository, l.owner_id, n.name, l.expires_at, l.acquired_at,
                       l.renewed_at
                FROM leases AS l LEFT JOIN cluster_nodes AS n ON n.id = l.owner_id
                ORDER BY l.repository
                """
            ).fetchall()
        return [LeaseRow(*row) for row in rows]

    def nodes(self) -> list[NodeRow]:
        """Every node row, live or expired, by name."""
        with self._database.transaction() as connection:
            rows = connection.execute(
                "SELECT id, name, started_at, heartbeat_at, expires_at FROM cluster_nodes "
                "ORDER BY name, id"
            ).fetchall()
        return [NodeRow(*row) for row in rows]

    def now(self) -> float:
        """The cluster's clock: the injected one, else the database server's."""
        with self._database.transaction() as connection:
            row = connection.execute(f"SELECT {_NOW}", self._params()).fetchone()
        return float(row[0]) if row else 0.0

    # -- fencing ---------------------------------------------------------------------

    def fence(self, connection: Connection, repository: str) -> None:
        """Inside a store's write transaction: go on only if this node holds ``repository``'s lease.

        Takes a share lock on the lease row, so no takeover can commit before
        this transaction does.

        Raises:
            LeaseLostError: the lease is missing, expired or someone else's.
        """
        row = connection.execute(
            f"""
            SELECT 1 FROM leases
            WHERE repository = ? AND owner_id = ? AND expires_at > {_NOW_AT}
            FOR SHARE
            """,
            (lease_key(repository), self.node_id, self._reading()),
        ).fetchone()
        if row is None:
            raise LeaseLostError(repository, self.node_name)

    def fence_repository_id(self, connection: Connection, repository_id: int) -> None:
        """:meth:`fence` for a repository known by its local id.

        Raises:
            LeaseLostError: as :meth:`fence`; also when the id is unknown.
        """
        row = connection.execute(
            f"""
            SELECT 1 FROM leases AS l
            JOIN repositories AS r ON l.repository = lower(r.owner || '/' || r.name)
            WHERE r.id = ? AND l.owner_id = ? AND l.expires_at > {_NOW_AT}
            FOR SHARE OF l
            """,
            (repository_id, self.node_id, self._reading()),
        ).fetchone()
        if row is None:
            raise LeaseLostError(f"id {repository_id}", self.node_name)

    # -- job holders -----------------------------------------------------------------

    def holder_alive(self) -> tuple[str, tuple[float | None]]:
        """The condition on a ``jobs`` row that its holder is a live node (``Liveness``).

        A job is held by a node (``leased_by``, the node id) as long as that
        node's heartbeat row has not expired; once it has, the node is dead or
        cut off, and its jobs are for the others to take
        (:meth:`~autosolve.infra.store.Store.release_orphaned_jobs`). A lease
        with no holder recorded (made by an autosolve before holders were)
        counts as alive: it runs out with its visibility timeout as it always
        did.
        """
        return (
            f"""
            jobs.leased_by IS NULL OR EXISTS (
                SELECT 1 FROM cluster_nodes AS n
                WHERE n.id = jobs.leased_by AND n.expires_at > {_NOW_AT}
            )
            """,
            (self._reading(),),
        )

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection]:
        """A transaction that waits at most a third of the TTL for a row lock.

        A heartbeat that blocks behind a frozen node's lock must fail and be
        retried, not wait past this node's own leases.
        """
        with self._database.transaction() as connection:
            connection.execute(
                "SELECT set_config('lock_timeout', %s, true)",
                (f"{max(1, round(self.ttl * 1000 / 3))}ms",),
            )
            yield connection

    def _reading(self) -> float | None:
        """The injected clock's reading; None: the database server's clock."""
        return None if self._now is None else float(self._now())

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {
            "now": self._reading(),
            "id": self.node_id,
            "ttl": float(self.ttl),
            **extra,
        }
