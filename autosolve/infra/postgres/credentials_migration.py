"""Cluster migration 3: the shared request budget keyed by credential.

GitHub counts its secondary limits per credential: a personal token, and
each installation of a GitHub App, has its own. Every budget entry and the
running totals now carry the ``credential`` they count for (``''``: the
token, as every entry before this migration), and the ledger's functions take
it as their first argument, so the daemons of a cluster share one budget per
installation as they share one per token.
"""

from __future__ import annotations

from autosolve.infra.store.schema import Migration

__all__ = ["CLUSTER_V3"]

CLUSTER_V3 = Migration(
    track="cluster",
    version=3,
    description="the shared request budget keyed by credential (token, App installation)",
    statements=(
        "ALTER TABLE budget_entries ADD COLUMN credential TEXT NOT NULL DEFAULT ''",
        "DROP INDEX budget_entries_window",
        "DROP INDEX budget_entries_writes",
        "CREATE INDEX budget_entries_window ON budget_entries (credential, at, id) WHERE in_window",
        "CREATE INDEX budget_entries_writes ON budget_entries (credential, at, id) WHERE is_write",
        "ALTER TABLE budget_totals ADD COLUMN credential TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE budget_totals DROP COLUMN id",  # its primary key and check go with it
        "ALTER TABLE budget_totals ADD PRIMARY KEY (credential)",
        "DROP FUNCTION budget_settle(bigint, integer, boolean, float8)",
        "DROP FUNCTION budget_reserve(integer, boolean, float8, integer, integer, integer, "
        "float8, float8)",
        "DROP FUNCTION budget_wait(integer, float8, integer, float8, boolean)",
        # As in migration 2, within one credential's entries.
        """
        CREATE FUNCTION budget_wait(
            credential_ text, amount integer, at_ float8, lim integer, span float8,
            writes_only boolean
        ) RETURNS float8 LANGUAGE sql STABLE AS $$
            WITH live AS (
                SELECT at, id, CASE WHEN writes_only THEN 1 ELSE points END AS amount
                FROM budget_entries
                WHERE credential = credential_ AND at + span > at_
                  AND (is_write OR NOT writes_only)
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
        """
        CREATE FUNCTION budget_reserve(
            credential_ text, want integer, is_write_ boolean, at_ float8, max_points integer,
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
            INSERT INTO budget_totals (credential, points, writes, writes_long)
            VALUES (credential_, 0, 0, 0) ON CONFLICT (credential) DO NOTHING;
            SELECT * INTO t FROM budget_totals WHERE credential = credential_ FOR UPDATE;
            WITH gone AS (
                UPDATE budget_entries SET in_window = false
                WHERE credential = credential_ AND in_window AND at + span <= at_
                RETURNING points, is_write
            )
            SELECT coalesce(sum(points), 0), count(*) FILTER (WHERE is_write)
            INTO gone_points, gone_writes FROM gone;
            WITH gone AS (
                DELETE FROM budget_entries
                WHERE credential = credential_ AND NOT in_window
                  AND (NOT is_write OR at + long_span <= at_)
                RETURNING is_write
            )
            SELECT count(*) FILTER (WHERE is_write) INTO gone_long FROM gone;
            t.points := t.points - gone_points;
            t.writes := t.writes - gone_writes;
            t.writes_long := t.writes_long - gone_long;
            points_wait := 0;
            writes_wait := 0;
            IF t.points + want > max_points THEN
                points_wait := budget_wait(credential_, want, at_, max_points, span, false);
            END IF;
            IF is_write_ AND t.writes + 1 > max_writes THEN
                writes_wait := budget_wait(credential_, 1, at_, max_writes, span, true);
            END IF;
            IF is_write_ AND t.writes_long + 1 > max_writes_long THEN
                writes_wait := greatest(writes_wait,
                    budget_wait(credential_, 1, at_, max_writes_long, long_span, true));
            END IF;
            IF points_wait <= 0 AND writes_wait <= 0 THEN
                stamp := greatest(at_, coalesce(t.newest, at_));
                INSERT INTO budget_entries (credential, at, points, is_write)
                VALUES (credential_, stamp, want, is_write_)
                RETURNING id INTO entry;
                t.points := t.points + want;
                IF is_write_ THEN
                    t.writes := t.writes + 1;
                    t.writes_long := t.writes_long + 1;
                END IF;
                t.newest := stamp;
            END IF;
            UPDATE budget_totals SET points = t.points, writes = t.writes,
                writes_long = t.writes_long, newest = t.newest
            WHERE credential = credential_;
        END
        $$
        """,
        """
        CREATE FUNCTION budget_settle(
            credential_ text, entry_ bigint, want integer, is_write_ boolean, at_ float8
        ) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            t budget_totals%ROWTYPE;
            was_in_window boolean;
            stamp float8;
        BEGIN
            SELECT * INTO t FROM budget_totals WHERE credential = credential_ FOR UPDATE;
            stamp := greatest(at_, coalesce(t.newest, at_));
            SELECT in_window INTO was_in_window FROM budget_entries WHERE id = entry_;
            IF NOT FOUND THEN
                INSERT INTO budget_entries (credential, at, points, is_write)
                VALUES (credential_, stamp, want, is_write_);
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
                writes_long = t.writes_long, newest = greatest(t.newest, stamp)
            WHERE credential = credential_;
        END
        $$
        """,
    ),
)
