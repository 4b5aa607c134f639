"""Versioned schema migrations for PostgreSQL, applied under an advisory lock.

Two tracks, recorded in ``schema_migrations(track, version, ...)``:

``store``
    The store's tables (:mod:`autosolve.infra.store.schema`, the same as on
    SQLite, version for version) in PostgreSQL's types. Times written by the
    store stay epoch seconds (``DOUBLE PRECISION``) and flags stay ``INTEGER``
    0/1, so a query a user wrote against one store runs unchanged on the other.
``cluster``
    What only a shared database needs: nodes, repository leases, and the
    shared request budget's ledger. Its own version sequence, so it can grow
    without making the store versions of the two databases differ.

All pending migrations run in one transaction that first takes
``pg_advisory_xact_lock``: two daemons starting together serialise on the
lock, the second one finds everything applied and changes nothing.
PostgreSQL's DDL is transactional, so a failing migration leaves the database
exactly as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from autosolve.infra.store.errors import StoreError
from autosolve.infra.store.schema import SCHEMA_VERSION, Migration, refuse_newer, store_migrations

from .credentials_migration import CLUSTER_V3
from .dialect import POSTGRES

if TYPE_CHECKING:
    import psycopg

    from .connection import PostgresDatabase

__all__ = [
    "CLUSTER_MIGRATIONS",
    "CLUSTER_SCHEMA_VERSION",
    "MIGRATION_LOCK",
    "SCHEMA_VERSION",
    "STORE_MIGRATIONS",
    "Migration",
    "apply_migrations",
    "schema_versions",
]

MIGRATION_LOCK = 0x6175746F736F6C76  # "autosolv" as a 64-bit key
"""The ``pg_advisory_xact_lock`` key every migrating daemon takes."""


_CLUSTER_V1 = Migration(
    track="cluster",
    version=1,
    description="cluster nodes and repository leases",
    statements=(
        # One row per running daemon process, refreshed by its heartbeat; a row
        # whose expires_at passed belongs to a dead (or paused) node. ``id`` is
        # new for every process, so a restarted daemon that keeps its name is
        # never mistaken for its predecessor (which may only be paused).
        """
        CREATE TABLE cluster_nodes (
            id           TEXT PRIMARY KEY,
            name         TEXT NOT NULL,
            started_at   DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL,
            expires_at   DOUBLE PRECISION NOT NULL
        )
        """,
        # One row per leased repository, keyed by lower(owner/name): the lease
        # exists before the repository's row does (its validator runs on the
        # node that holds it). ``owner_id`` is a cluster_nodes.id.
        """
        CREATE TABLE leases (
            repository  TEXT PRIMARY KEY CHECK (repository = lower(repository)),
            owner_id    TEXT NOT NULL,
            expires_at  DOUBLE PRECISION NOT NULL,
            acquired_at DOUBLE PRECISION NOT NULL,
            renewed_at  DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX leases_owner ON leases (owner_id)",
    ),
)

_CLUSTER_V2 = Migration(
    track="cluster",
    version=2,
    description="the shared request budget's ledger",
    statements=(
        # One row per GitHub request reserved by any daemon, kept while it counts
        # against a window; ``in_window`` turns false when it leaves the
        # per-window limits (a write still counts for the long window).
        """
        CREATE TABLE budget_entries (
            id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at        DOUBLE PRECISION NOT NULL,
            points    INTEGER NOT NULL CHECK (points > 0),
            is_write  BOOLEAN NOT NULL,
            in_window BOOLEAN NOT NULL DEFAULT true
        )
        """,
        "CREATE INDEX budget_entries_window ON budget_entries (at, id) WHERE in_window",
        "CREATE INDEX budget_entries_writes ON budget_entries (at, id) WHERE is_write",
        # The running totals, so that a reservation costs the entries that
        # expire since the last one, not a scan of the window.
        """
        CREATE TABLE budget_totals (
            id          BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
            points      BIGINT NOT NULL,
            writes      BIGINT NOT NULL,
            writes_long BIGINT NOT NULL,
            newest      DOUBLE PRECISION
        )
        """,
        "INSERT INTO budget_totals VALUES (true, 0, 0, 0, NULL)",
        # How long until `amount` more fits under `lim` in a `span` window: the
        # expiry of the oldest entry whose departure (with those before it)
        # makes room; 0 when it fits (see autosolve.infra.postgres.budget).
        """
        CREATE FUNCTION budget_wait(
            amount integer, at_ float8, lim integer, span float8, writes_only boolean
        ) RETURNS float8 LANGUAGE sql STABLE AS $$
            WITH live AS (
                SELECT at, id, CASE WHEN writes_only THEN 1 ELSE points END AS amount
                FROM budget_entries
                WHERE at + span > at_ AND (is_write OR NOT writes_only)
            ), running AS (
                SELECT at, sum(amount) OVER (ORDER BY at, id) AS freed,
                       sum(amount) OVER () AS total
                FROM live
            )
            SELECT greatest(coalesce(
                min(at) FILTER (WHERE freed >= total + budget_wait.amount - lim) + span - at_,
                0), 0)
            FROM running
        $$
        """,
        # One reservation, all or nothing, in one round trip: the lock on the
        # totals row is held for the function's run only, not for a client's
        # several round trips, so daemons queue on it briefly.
        """
        CREATE FUNCTION budget_reserve(
            want integer, is_write_ boolean, at_ float8, max_points integer,
            max_writes integer, max_writes_long integer, span float8, long_span float8,
            OUT points_wait float8, OUT writes_wait float8, OUT entry bigint
        ) LANGUAGE plpgsql AS $$
        DECLARE
            t budget_totals%ROWTYPE;
            gone_points bigint;
            gone_writes bigint;
            gone_long bigint;
            stamp float8;
        BEGIN
            SELECT * INTO t FROM budget_totals FOR UPDATE;
            WITH gone AS (
                UPDATE budget_entries SET in_window = false
                WHERE in_window AND at + span <= at_
                RETURNING points, is_write
            )
            SELECT coalesce(sum(points), 0), count(*) FILTER (WHERE is_write)
            INTO gone_points, gone_writes FROM gone;
            WITH gone AS (
                DELETE FROM budget_entries
                WHERE NOT in_window AND (NOT is_write OR at + long_span <= at_)
                RETURNING is_write
            )
            SELECT count(*) FILTER (WHERE is_write) INTO gone_long FROM gone;
            t.points := t.points - gone_points;
            t.writes := t.writes - gone_writes;
            t.writes_long := t.writes_long - gone_long;
            points_wait := 0;
            writes_wait := 0;
            IF t.points + want > max_points THEN
                points_wait := budget_wait(want, at_, max_points, span, false);
            END IF;
            IF is_write_ AND t.writes + 1 > max_writes THEN
                writes_wait := budget_wait(1, at_, max_writes, span, true);
            END IF;
            IF is_write_ AND t.writes_long + 1 > max_writes_long THEN
                writes_wait := greatest(
                    writes_wait, budget_wait(1, at_, max_writes_long, long_span, true));
            END IF;
            IF points_wait <= 0 AND writes_wait <= 0 THEN
                -- Never stamped before the newest entry: a clock that stepped
                -- back must not make an entry expire early.
                stamp := greatest(at_, coalesce(t.newest, at_));
                INSERT INTO budget_entries (at, points, is_write) VALUES (stamp, want, is_write_)
                RETURNING id INTO entry;
                t.points := t.points + want;
                IF is_write_ THEN
                    t.writes := t.writes + 1;
                    t.writes_long := t.writes_long + 1;
                END IF;
                t.newest := stamp;
            END IF;
            UPDATE budget_totals SET points = t.points, writes = t.writes,
                writes_long = t.writes_long, newest = t.newest;
        END
        $$
        """,
        # The request got its answer at `at_`: count it from then on (GitHub
        # counts from arrival, as late as the answer). A record that left a
        # window is counted in it again; one already gone is made again.
        """
        CREATE FUNCTION budget_settle(
            entry_ bigint, want integer, is_write_ boolean, at_ float8
        ) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            t budget_totals%ROWTYPE;
            was_in_window boolean;
            stamp float8;
        BEGIN
            SELECT * INTO t FROM budget_totals FOR UPDATE;
            stamp := greatest(at_, coalesce(t.newest, at_));
            SELECT in_window INTO was_in_window FROM budget_entries WHERE id = entry_;
            IF NOT FOUND THEN
                INSERT INTO budget_entries (at, points, is_write) VALUES (stamp, want, is_write_);
                t.points := t.points + want;
                IF is_write_ THEN
                    t.writes := t.writes + 1;
                    t.writes_long := t.writes_long + 1;
                END IF;
            ELSE
                UPDATE budget_entries SET at = stamp, in_window = true WHERE id = entry_;
                IF NOT was_in_window THEN
                    t.points := t.points + want;
                    IF is_write_ THEN
                        t.writes := t.writes + 1;
                    END IF;
                END IF;
            END IF;
            UPDATE budget_totals SET points = t.points, writes = t.writes,
                writes_long = t.writes_long, newest = greatest(t.newest, stamp);
        END
        $$
        """,
    ),
)

STORE_MIGRATIONS: tuple[Migration, ...] = store_migrations(POSTGRES)
"""The store track, in version order: the store's tables in PostgreSQL's types."""

CLUSTER_MIGRATIONS: tuple[Migration, ...] = (_CLUSTER_V1, _CLUSTER_V2, CLUSTER_V3)
"""The cluster track, in version order."""

CLUSTER_SCHEMA_VERSION = CLUSTER_MIGRATIONS[-1].version
"""The cluster version a fully migrated database has."""

_CREATE_LEDGER = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        track       TEXT NOT NULL,
        version     INTEGER NOT NULL,
        description TEXT NOT NULL,
        applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (track, version)
    )
"""


def apply_migrations(
    database: PostgresDatabase,
    tracks: tuple[tuple[Migration, ...], ...] = (STORE_MIGRATIONS, CLUSTER_MIGRATIONS),
) -> dict[str, int]:
    """Apply every pending migration of ``tracks``; return each track's version.

    Raises:
        SchemaVersionError: a track is at a version newer than this code knows.
        StoreError: a migration failed; nothing was changed.
    """
    with database.transaction() as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        connection.execute(_CREATE_LEDGER)
        versions = schema_versions(connection)
        for migrations in tracks:
            _apply_track(connection, database.name, migrations, versions)
        return versions


def schema_versions(connection: psycopg.Connection) -> dict[str, int]:
    """The version of each track recorded in ``schema_migrations`` (absent = 0)."""
    rows = connection.execute(
        "SELECT track, max(version) FROM schema_migrations GROUP BY track"
    ).fetchall()
    return {track: int(version) for track, version in rows}


def _apply_track(
    connection: psycopg.Connection,
    database: str,
    migrations: tuple[Migration, ...],
    versions: dict[str, int],
) -> None:
    if not migrations:
        return
    track, latest = migrations[0].track, migrations[-1].version
    current = versions.get(track, 0)
    refuse_newer(database, track, current, latest)
    for migration in migrations:
        if migration.version <= current:
            continue
        import psycopg

        try:
            for statement in migration.statements:
                connection.execute(statement)  # our own literal SQL
        except psycopg.Error as exc:
            raise StoreError(
                f"migration {track} {migration.version} ({migration.description}) of "
                f"database {database} failed: {exc}"
            ) from exc
        connection.execute(
            "INSERT INTO schema_migrations (track, version, description) VALUES (%s, %s, %s)",
            (track, migration.version, migration.description),
        )
        current = versions[track] = migration.version
