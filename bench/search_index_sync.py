"""What the issue search index costs the initial sync: a bulk insert with and without it.

Stores the 15,815 issues of ``issues.jsonl.gz`` through the product's store, a
page of 100 at a time as the initial sync does, into a fresh database: once
as the store does it (each page indexed in its own transaction), once with the
index maintenance left out (the dialect's ``index_issues`` replaced by nothing
for the round: the store as it was before the index). Prints the median time
of each over ``--rounds`` and the ratio, in wall-clock seconds and in this
process's CPU seconds (all of SQLite's work, none of a PostgreSQL server's),
for SQLite and, with ``--database-url`` (a server where this may create and
drop databases), PostgreSQL.

    python bench/search_index_sync.py --issues ../shared/data/rust-issues/issues.jsonl.gz \\
        [--database-url postgresql://…/postgres] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.infra.issue import Issue
from autosolve.infra.store import Dialect, SQLiteStore, Store, SyncCursor
from bench.triage_quality import PAGE, as_issue, read_issues

Seconds = tuple[float, float]
"""Wall-clock and this process's CPU seconds."""
Round = Callable[[bool], Seconds]
"""One bulk insert into a fresh database, indexed or not; its seconds."""


def timed_sync(store: Store, issues: list[Issue]) -> Seconds:
    """Seconds to store ``issues`` a page at a time into ``store`` (fresh)."""
    store.migrate()
    repository_id = store.upsert_repository(1, "rust-lang", "rust")
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(issues), PAGE):
        page = issues[start : start + PAGE]
        store.save_issue_page(repository_id, page, SyncCursor(since=page[-1].updated_at))
    return time.perf_counter() - started, time.process_time() - cpu


@contextmanager
def index_maintenance(indexed: bool, used_as: str, dialect: Dialect) -> Iterator[None]:
    """The engine's dialect (the name ``used_as``) as it is, or, without ``indexed``,
    one whose index maintenance does nothing."""
    if indexed:
        yield
        return
    search = dataclasses.replace(dialect.search, index_issues=_index_nothing)
    with mock.patch(used_as, dataclasses.replace(dialect, search=search)):
        yield


def _index_nothing(connection: Any, issues: Any, *, new: bool = False) -> None:
    """The index maintenance of a store without the index."""


def sqlite_round(issues: list[Issue]) -> Round:
    from autosolve.infra.store.sqlite.dialect import SQLITE

    def one(indexed: bool) -> Seconds:
        with (
            index_maintenance(indexed, "autosolve.infra.store.sqlite.engine.SQLITE", SQLITE),
            tempfile.TemporaryDirectory() as scratch,
            SQLiteStore(Path(scratch) / "s.db") as store,
        ):
            return timed_sync(store, issues)

    return one


def postgres_round(issues: list[Issue], admin_url: str) -> Round:
    import urllib.parse

    import psycopg

    from autosolve.infra.postgres.dialect import POSTGRES
    from autosolve.infra.postgres.store import PostgresStore

    def one(indexed: bool) -> Seconds:
        name = "autosolve_sync_bench"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
        url = urllib.parse.urlsplit(admin_url)._replace(path=f"/{name}").geturl()
        with (
            index_maintenance(indexed, "autosolve.infra.postgres.engine.POSTGRES", POSTGRES),
            PostgresStore(url) as store,
        ):
            return timed_sync(store, issues)

    return one


def compare(name: str, one: Round, rounds: int) -> None:
    times: dict[bool, list[Seconds]] = {False: [], True: []}
    for _ in range(rounds):
        for indexed in (False, True):
            times[indexed].append(one(indexed))
    for kind, which in (("wall clock", 0), ("CPU", 1)):
        without = statistics.median(seconds[which] for seconds in times[False])
        with_index = statistics.median(seconds[which] for seconds in times[True])
        print(
            f"{name}, {kind}: store alone {without:.2f} s, with the index {with_index:.2f} s "
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
