"""The store's tables, once for both engines: versioned migrations in each engine's types.

Migrations are append-only: never edit a released one, add the next version.
Each engine renders them with its :class:`~autosolve.infra.store.engine.Dialect`
and applies them its own way (SQLite: ``PRAGMA user_version``; PostgreSQL: the
``store`` track of ``schema_migrations`` under an advisory lock), so both
databases have the same tables and columns, version for version.

Times written by the store (``created_at``, ``visible_at``, ...) are epoch
seconds; GitHub's own timestamps are kept as the ISO text GitHub sends;
flags are integers 0/1. A query written for one engine runs on the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .engine import Connection, Dialect
from .errors import SchemaVersionError

__all__ = ["SCHEMA_VERSION", "TABLES", "Migration", "refuse_newer", "store_migrations"]

TABLES = (
    "repositories",
    "issues",
    "sync_cursors",
    "outbox_events",
    "jobs",
    "dead_jobs",
    "analyses",
    "webhook_deliveries",
    "comments",
    "repository_labels",
    "listing_cursors",
    "identity",
)
"""The store's tables (users may query them directly)."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step of one track: its version, what it is for, and its statements."""

    track: str
    version: int
    description: str
    statements: tuple[str, ...]
    data: Callable[[Connection], object] | None = None
    """Run after the statements, in the same transaction: rows the new schema derives
    from existing ones in Python (the search index's terms)."""


def _version_1(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=1,
        description="repositories, issues, sync cursors, outbox, job queue and dead letters",
        statements=(
            f"""
            CREATE TABLE repositories (
                id          {d.row_id},
                github_id   {d.bigint} NOT NULL,
                owner       TEXT NOT NULL{d.nocase} CHECK (owner <> ''),
                name        TEXT NOT NULL{d.nocase} CHECK (name <> ''),
                created_at  {d.time} NOT NULL,
                updated_at  {d.time} NOT NULL{d.repository_unique}
            )
            """,
            *d.repository_index,
            f"""
            CREATE TABLE issues (
                id                {d.row_id},
                repository_id     {d.bigint} NOT NULL REFERENCES repositories (id)
                                  ON DELETE CASCADE,
                github_id         {d.bigint} NOT NULL,
                number            INTEGER NOT NULL CHECK (number > 0),
                title             TEXT NOT NULL,
                body              TEXT,
                state             TEXT NOT NULL CHECK (state IN ('open', 'closed')),
                is_pull_request   INTEGER NOT NULL CHECK (is_pull_request IN (0, 1)),
                github_updated_at TEXT NOT NULL,
                labels            TEXT NOT NULL DEFAULT '[]',
                created_at        {d.time} NOT NULL,
                updated_at        {d.time} NOT NULL,
                UNIQUE (repository_id, number)
            )
            """,
            f"""
            CREATE TABLE sync_cursors (
                repository_id {d.bigint} PRIMARY KEY REFERENCES repositories (id)
                              ON DELETE CASCADE,
                since         TEXT,
                etag          TEXT,
                next_url      TEXT,
                updated_at    {d.time} NOT NULL
            )
            """,
            f"""
            CREATE TABLE outbox_events (
                id            {d.serial_id},
                repository_id {d.bigint} NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                issue_id      {d.bigint} NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
                number        INTEGER NOT NULL,
                kind          TEXT NOT NULL,
                payload       TEXT NOT NULL,
                created_at    {d.time} NOT NULL,
                relayed_at    {d.time}
            )
            """,
            """
            CREATE INDEX outbox_events_pending
                ON outbox_events (repository_id, id) WHERE relayed_at IS NULL
            """,
            # A job id is never reused, so dead_jobs.job_id and log lines keep
            # pointing at one job only.
            f"""
            CREATE TABLE jobs (
                id            {d.serial_id},
                payload       TEXT NOT NULL,
                enqueued_at   {d.time} NOT NULL,
                visible_at    {d.time} NOT NULL,
                leased_until  {d.time},
                receive_count INTEGER NOT NULL DEFAULT 0,
                last_error    TEXT
            )
            """,
            "CREATE INDEX jobs_visible ON jobs (visible_at, id)",
            "CREATE INDEX jobs_payload ON jobs (payload)",
            f"""
            CREATE TABLE dead_jobs (
                id            {d.serial_id},
                job_id        {d.bigint} NOT NULL,
                payload       TEXT NOT NULL,
                enqueued_at   {d.time} NOT NULL,
                receive_count INTEGER NOT NULL,
                last_error    TEXT,
                reason        TEXT NOT NULL,
                dead_at       {d.time} NOT NULL
            )
            """,
        ),
    )


def _version_2(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=2,
        description="analysis gate and history: issue authors and creation times, watch starts, "
        "job attempts, analyses",
        statements=(
            # `issues.created_at` now means what users expect: when the issue was
            # opened on GitHub (ISO text as GitHub sends it). The store's own
            # insert time, which it held so far, moves to `stored_at`.
            "ALTER TABLE issues RENAME COLUMN created_at TO stored_at",
            "ALTER TABLE issues ADD COLUMN created_at TEXT",
            "ALTER TABLE issues ADD COLUMN author_login TEXT",
            "ALTER TABLE issues ADD COLUMN author_type TEXT",
            # The moment autosolve first validated the repository on this database
            # (ISO 8601 UTC, whole seconds), written once and never moved. For
            # repositories validated before it existed, that moment is their row's
            # creation.
            "ALTER TABLE repositories ADD COLUMN watch_since TEXT",
            f"UPDATE repositories SET watch_since = {d.watch_since_backfill}",
            # Attempts spent by failures the job itself caused; outages give theirs
            # back. Until now every receive counted.
            "ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
            "UPDATE jobs SET attempts = receive_count",
            f"""
            CREATE TABLE analyses (
                id             {d.serial_id},
                issue_id       {d.bigint} NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
                model          TEXT NOT NULL,
                prompt_sha256  TEXT NOT NULL,
                content_sha256 TEXT NOT NULL,
                body           TEXT NOT NULL,
                comment_id     {d.bigint},
                created_at     {d.time} NOT NULL,
                posted_at      {d.time}
            )
            """,
            "CREATE INDEX analyses_issue ON analyses (issue_id, id)",
        ),
    )


def _version_3(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=3,
        description="who holds a job's lease, so a holder that is gone frees its jobs at once",
        statements=(
            # The process (a cluster's node id) that received the job; NULL while
            # nobody holds it. A job whose holder is gone (a SQLite daemon started
            # after a crash, a node whose heartbeat expired) is released at once
            # instead of after the visibility timeout.
            "ALTER TABLE jobs ADD COLUMN leased_by TEXT",
            "CREATE INDEX jobs_leased ON jobs (leased_by) WHERE leased_until IS NOT NULL",
        ),
    )


def _version_4(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=4,
        description="webhook deliveries: a redelivery is recognised and ignored",
        statements=(
            # GitHub's X-GitHub-Delivery (a GUID), recorded in the transaction
            # that applies the delivery, so a redelivery finds it and changes nothing.
            f"""
            CREATE TABLE webhook_deliveries (
                delivery_id TEXT PRIMARY KEY CHECK (delivery_id <> ''),
                event       TEXT NOT NULL,
                received_at {d.time} NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at)",
        ),
    )


def _version_5(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=5,
        description="the conversation: comments, repository labels, listing cursors, "
        "autosolve's identity; what an analysis said and which labels it applied",
        statements=(
            # The repository's issue comments, as GitHub last described them (its
            # ISO text for created_at and updated_at). Keyed by the number,
            # not its row: a comment may be mirrored before its issue is.
            f"""
            CREATE TABLE comments (
                id                 {d.row_id},
                repository_id      {d.bigint} NOT NULL REFERENCES repositories (id)
                                   ON DELETE CASCADE,
                issue_number       INTEGER NOT NULL CHECK (issue_number > 0),
                github_id          {d.bigint} NOT NULL,
                author_login       TEXT,
                author_type        TEXT,
                author_association TEXT NOT NULL,
                body               TEXT NOT NULL,
                created_at         TEXT NOT NULL,
                updated_at         TEXT NOT NULL,
                stored_at          {d.time} NOT NULL,
                UNIQUE (repository_id, github_id)
            )
            """,
            "CREATE INDEX comments_issue ON comments (repository_id, issue_number)",
            f"""
            CREATE TABLE repository_labels (
                repository_id {d.bigint} NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                name          TEXT NOT NULL,
                color         TEXT NOT NULL,
                description   TEXT,
                stored_at     {d.time} NOT NULL,
                PRIMARY KEY (repository_id, name)
            )
            """,
            # Where the comment poller stands in a repository's comment listing, and
            # the labels listing's ETag: sync_cursors' shape, one row per listing.
            f"""
            CREATE TABLE listing_cursors (
                repository_id {d.bigint} NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
                listing       TEXT NOT NULL,
                since         TEXT,
                etag          TEXT,
                next_url      TEXT,
                updated_at    {d.time} NOT NULL,
                PRIMARY KEY (repository_id, listing)
            )
            """,
            # The account autosolve posts as (one row): only its comments are autosolve's.
            f"""
            CREATE TABLE identity (
                id         INTEGER PRIMARY KEY CHECK (id = 1),
                login      TEXT NOT NULL,
                source     TEXT NOT NULL,
                learned_at {d.time} NOT NULL
            )
            """,
            # A structured answer's summary; the candidate issues the comment names
            # as possibly related (JSON numbers); the labels kept from the answer
            # (JSON names); the labels this analysis added to the issue (JSON names,
            # NULL until applied, so a retry never applies them twice).
            "ALTER TABLE analyses ADD COLUMN summary TEXT",
            "ALTER TABLE analyses ADD COLUMN related TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE analyses ADD COLUMN labels TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE analyses ADD COLUMN labels_applied TEXT",
        ),
    )


def _version_6(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=6,
        description="the issue search index (related issues), filled from the stored issues",
        statements=d.search.schema,
        data=d.search.backfill,
    )


def _version_7(d: Dialect) -> Migration:
    return Migration(
        track="store",
        version=7,
        description="the search index tuned for queries (PostgreSQL: few pending GIN entries)",
        statements=d.search.tuning,
    )


_STEPS = (_version_1, _version_2, _version_3, _version_4, _version_5, _version_6, _version_7)

SCHEMA_VERSION = len(_STEPS)
"""The version a fully migrated store has, on either engine."""


def store_migrations(dialect: Dialect) -> tuple[Migration, ...]:
    """Every migration of the store's tables, in version order (1, 2, ...), in ``dialect``."""
    return tuple(step(dialect) for step in _STEPS)


def refuse_newer(database: str, track: str, current: int, latest: int) -> None:
    """Refuse a database that a newer autosolve migrated past what this one knows.

    ``track`` names the sequence of versions in messages ("" when there is one).

    Raises:
        SchemaVersionError: ``current`` is above ``latest``.
    """
    if current > latest:
        label = f"{track} schema version" if track else "schema version"
        raise SchemaVersionError(
            f"database {database} has {label} {current}, newer than the "
            f"{latest} this autosolve knows; upgrade autosolve"
        )
