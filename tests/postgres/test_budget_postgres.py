"""The shared request ledger: daemons reserving at once never overdraw the budget."""

from __future__ import annotations

import threading

from autosolve.infra.budget import BudgetLimits
from autosolve.infra.postgres import PostgresDatabase
from autosolve.infra.postgres.budget import PostgresLedger
from autosolve.infra.postgres.migrations import apply_migrations


def test_daemons_reserving_at_once_share_one_budget(postgres_url: str) -> None:
    limits = BudgetLimits(
        points_per_minute=100, writes_per_minute=10, writes_per_hour=20, window=60.0
    )
    daemons = [PostgresDatabase(postgres_url, pool_size=2) for _ in range(4)]
    for database in daemons:
        database.open()
    apply_migrations(daemons[0])
    granted = [[0, 0] for _ in daemons]
    start = threading.Barrier(len(daemons))

    def spend(index: int) -> None:
        ledger = PostgresLedger(daemons[index], limits, server_clock=False)
        start.wait(timeout=30)
        for attempt in range(60):
            write = attempt % 4 == 0
            if ledger.reserve(5 if write else 1, write, at=1_000.0 + attempt * 0.01).granted:
                granted[index][int(write)] += 1

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(len(daemons))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=50)
        reads = sum(g[0] for g in granted)
        writes = sum(g[1] for g in granted)
        assert writes == limits.writes_per_minute  # 60 writes asked for, 10 fit
        assert (
            reads + 5 * writes == limits.points_per_minute
        )  # the rest of the points went to reads
        assert all(sum(g) > 0 for g in granted)  # every daemon got a share
    finally:
        for database in daemons:
            database.close()


def test_each_credential_has_its_own_budget_shared_by_every_daemon(postgres_url: str) -> None:
    limits = BudgetLimits(points_per_minute=10, writes_per_minute=2, writes_per_hour=4, window=60.0)
    daemons = [PostgresDatabase(postgres_url, pool_size=1) for _ in range(2)]
    for database in daemons:
        database.open()
    try:
        apply_migrations(daemons[0])
        first, second = (PostgresLedger(d, limits, "installation:1") for d in daemons)
        other = PostgresLedger(daemons[0], limits, "installation:2")
        assert all(first.reserve(1, False, at=1_000.0).granted for _ in range(6))
        assert all(second.reserve(1, False, at=1_000.0).granted for _ in range(4))
        assert not second.reserve(1, False, at=1_000.0).granted  # one budget, two daemons
        assert all(other.reserve(1, False, at=1_000.0).granted for _ in range(10))  # its own
        assert PostgresLedger(daemons[1], limits).reserve(1, False, at=1_000.0).granted  # token
    finally:
        for database in daemons:
            database.close()


def test_the_shared_ledger_counts_on_the_servers_clock_whatever_each_daemons_clock_says(
    postgres_url: str,
) -> None:
    limits = BudgetLimits(points_per_minute=3, writes_per_minute=1, writes_per_hour=1, window=60.0)
    database = PostgresDatabase(postgres_url, pool_size=1)
    database.open()
    apply_migrations(database)
    ledger = PostgresLedger(database, limits)
    try:
        # Three daemons whose clocks disagree wildly (one was stepped, one woke in 2001).
        for daemon_clock in (978_307_200.0, 1_767_225_600.0, 1_767_222_000.0):
            assert ledger.reserve(1, False, at=daemon_clock).granted
        ahead = ledger.reserve(1, False, at=4_000_000_000.0)  # to it, the window long passed
        assert not ahead.granted
        assert limits.window - 5 < ahead.wait <= limits.span
    finally:
        database.close()
