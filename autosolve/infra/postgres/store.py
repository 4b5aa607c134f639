"""The :class:`PostgresStore`: the store on a database shared by several daemons."""

from __future__ import annotations

import time
from collections.abc import Callable

from autosolve.infra.store.store import Fence, Store

from .connection import DEFAULT_IDLE_TRANSACTION_TIMEOUT, DEFAULT_POOL_SIZE, PostgresDatabase
from .engine import PostgresEngine

__all__ = ["PostgresStore"]


class PostgresStore(Store):
    """The :class:`Store` on PostgreSQL, shared by every daemon of a cluster.

    Each public method is one short transaction on a pooled connection.
    Writes for a repository's data pass the ``fence`` in the same transaction.

    Args:
        url: ``postgresql://…`` (``database.url``).
        now: epoch-seconds clock for the store's own timestamps.
        fence: the cluster's lease check; ``None`` on a single daemon.
        pool_size: connections at most.
        application_name: the connections' name in ``pg_stat_activity``.
        idle_transaction_timeout: see :class:`PostgresDatabase`.

    Raises:
        StoreError: the URL is not a PostgreSQL URL.
    """

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], float] = time.time,
        fence: Fence | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        application_name: str = "autosolve",
        idle_transaction_timeout: float = DEFAULT_IDLE_TRANSACTION_TIMEOUT,
    ) -> None:
        self.database = PostgresDatabase(
            url,
            pool_size=pool_size,
            application_name=application_name,
            idle_transaction_timeout=idle_transaction_timeout,
        )
        """The connection pool, shared with the cluster's lease table."""
        super().__init__(PostgresEngine(self.database), now=now, fence=fence)
