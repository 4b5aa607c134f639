"""What the issue search index costs the initial sync: a bulk insert with and without it.

Stores the 15,815 issues of ``issues.jsonl.gz`` through the product's store, a
page of 100 at a time as the initial sync does, into a fresh database: once
as the store alone, once with each page indexed right after it is stored
(``index_issues(stored_texts(…))``: the page's rows read back and indexed in one
transaction, a little more work than the store's upsert will do when it
indexes in its own). Prints the median time of each over ``--rounds`` and
the ratio, for SQLite and, with ``--database-url`` (a server where this may
create and drop databases), PostgreSQL.

    python bench/search_index_sync.py --issues ../shared/data/rust-issues/issues.jsonl.gz \\
        [--database-url postgresql://…/postgres] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.infra.issue import Issue
from autosolve.infra.search import postgres, sqlite, stored_texts
from autosolve.infra.store import SQLiteStore, Store, SyncCursor
from bench.triage_quality import PAGE, as_issue, read_issues

Round = Callable[[bool], float]
"""One bulk insert into a fresh database, indexed or not; its seconds."""


def timed_sync(store: Store, engine: Any, issues: list[Issue], indexed: bool) -> float:
    """Seconds to store ``issues`` a page at a time into ``store`` (fresh), indexed or not."""
    store.migrate()
    if indexed:
        with store.engine.transaction(write=True) as connection:
            for statement in engine.SCHEMA:
                connection.execute(statement)
    repository_id = store.upsert_repository(1, "rust-lang", "rust")
    started = time.perf_counter()
    for start in range(0, len(issues), PAGE):
        page = issues[start : start + PAGE]
        store.save_issue_page(repository_id, page, SyncCursor(since=page[-1].updated_at))
        if indexed:
            with store.engine.transaction(write=True) as connection:
                engine.index_issues(
                    connection, stored_texts(connection, repository_id, [i.number for i in page])
                )
    return time.perf_counter() - started


def sqlite_round(issues: list[Issue]) -> Round:
    def one(indexed: bool) -> float:
        with tempfile.TemporaryDirectory() as scratch, SQLiteStore(Path(scratch) / "s.db") as store:
            return timed_sync(store, sqlite, issues, indexed)

    return one


def postgres_round(issues: list[Issue], admin_url: str) -> Round:
    import urllib.parse

    import psycopg

    from autosolve.infra.postgres.store import PostgresStore

    def one(indexed: bool) -> float:
        name = "autosolve_sync_bench"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
        url = urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}").geturl()
        with PostgresStore(url) as store:
            return timed_sync(store, postgres, issues, indexed)

    return one


def compare(name: str, one: Round, rounds: int) -> None:
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(rounds):
        for indexed in (False, True):
            times[indexed].append(one(indexed))
    without, with_index = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"{name}: store alone {without:.2f} s, with the index {with_index:.2f} s "
        f"(+{(with_index / without - 1) * 100:.0f} %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=Path, required=True, help="issues.jsonl.gz")
    parser.add_argument("--database-url", help="PostgreSQL server URL (maintenance database)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    history = read_issues(args.issues)
    issues = [as_issue(history[number]) for number in sorted(history)]
    print(f"{len(issues)} issues, {PAGE} a page")
    compare("SQLite", sqlite_round(issues), args.rounds)
    if args.database_url:
        compare("PostgreSQL", postgres_round(issues, args.database_url), args.rounds)


if __name__ == "__main__":
    main()
