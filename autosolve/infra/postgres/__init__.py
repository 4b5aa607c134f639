"""PostgreSQL: the shared store and coordinator for several daemons.

:class:`PostgresDatabase` is the connection layer (psycopg 3 pool, short
transactions, redacted errors); :mod:`.engine` and :mod:`.dialect` put the
store (:class:`autosolve.infra.store.Store`) on it, and :mod:`.store` builds
it (:class:`~.store.PostgresStore`); :mod:`.migrations` creates the store's
tables plus the cluster's own; :mod:`.cluster` holds the nodes, the
repository leases and the fencing check every repository write makes;
:mod:`.budget` the request budget every daemon shares.
"""

from __future__ import annotations

from .connection import PostgresDatabase, is_postgres_url, redact_url
from .errors import DatabaseUnavailableError, LeaseLostError

__all__ = [
    "DatabaseUnavailableError",
    "LeaseLostError",
    "PostgresDatabase",
    "is_postgres_url",
    "redact_url",
]
