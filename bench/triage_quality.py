"""Triage quality: related issues and suggested labels on real rust-lang/rust history (issue #17).

Loads the issues into a real database (SQLite by default, PostgreSQL with
``--database-url``) through the store and the search index, then, for each
duplicate pair, asks the product's retrieval for the issues related to the
duplicate and finds where the original ranks; for each listed issue, asks for
its suggested labels. Printed last, one JSON object:
``pairs, recall@1, recall@5, recall@10, labels, label_precision@1,
label_recall@3, query_p99_ms``. Before it, the same figures for each half of
the pairs and label issues (even and odd positions in the files), to see how
much of a difference is noise.

    python bench/triage_quality.py --issues ../shared/data/rust-issues/issues.jsonl.gz \\
        --pairs ../shared/data/rust-issues/pairs-dev.jsonl \\
        --labels ../shared/data/rust-issues/labels-dev.txt [--database-url URL] [--sqlite PATH]

The rules of an honest score (the data's README): when issue N is the query,
only issues opened before N are candidates (GitHub numbers issues in opening
order, and the index asks for ``number < N``), N itself never; a candidate is
open if it was open when N was opened (``closed_at`` null or later than N's
``created_at``), whatever its state today; labels are voted by earlier issues
only; the maintainers' closing comments are not in the data. The term
statistics (how many issues contain a term) are counted once over all loaded
issues, as the product counts them over its whole mirror.

``load_issues`` and ``related`` are the two places that touch the database:
to measure another store, change those.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics as stats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.domain.related import (
    CorpusStatistics,
    OpenTest,
    Related,
    corpus_statistics,
    find_related,
)
from autosolve.infra.issue import Issue
from autosolve.infra.search import SearchIndex, postgres, sqlite, stored_texts
from autosolve.infra.store import SQLiteStore, Store, SyncCursor

OWNER, NAME = "rust-lang", "rust"
PAGE = 100
"""Issues per stored page: GitHub's largest listing page, as the initial sync stores them."""


@dataclass(frozen=True, slots=True)
class HistoricIssue:
    """One issue of the data set."""

    number: int
    title: str
    body: str
    created_at: str
    closed_at: str | None
    state: str
    labels: tuple[str, ...]
    user: str | None

    def open_when(self, moment: str) -> bool:
        """Whether it was open at ``moment`` (ISO 8601 UTC; both from GitHub, same format)."""
        return self.closed_at is None or self.closed_at > moment


def read_issues(path: Path) -> dict[int, HistoricIssue]:
    """The data set's issues by number."""
    issues = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            issues[item["number"]] = HistoricIssue(
                item["number"],
                item["title"] or "",
                item["body"] or "",
                item["created_at"],
                item["closed_at"],
                item["state"],
                tuple(item["labels"]),
                item.get("user"),
            )
    return issues


# -- the database: the two functions to change to measure another store ---------------------


@dataclass
class Database:
    """A loaded database: how to open a search index on it, and the repository's id."""

    repository_id: int
    session: Callable[[], Any]
    """A context manager yielding a :class:`SearchIndex` inside one read transaction."""
    cpu_seconds: Callable[[], float] = time.thread_time
    """CPU time spent on queries so far, the database server's included: on a busy machine
    this says what a query costs when wall-clock times mostly say how long it waited."""


def load_issues(target: str, issues: Sequence[HistoricIssue]) -> Database:
    """Store and index ``issues`` (unless ``target`` already holds them all); the database.

    ``target`` is a SQLite path or a PostgreSQL URL. Issues go through the
    product's store a page at a time, then into the index in a transaction
    of their own per page (the store's upsert will index in its own).
    """
    if target.startswith(("postgresql://", "postgres://")):
        return _load_postgres(target, issues)
    return _load_sqlite(target, issues)


def related(
    database: Database, issue: HistoricIssue, statistics: CorpusStatistics, was_open: OpenTest
) -> Related:
    """The product's answer for ``issue``; ``was_open`` tells a candidate's state back then."""
    with database.session() as index:
        return find_related(
            index,
            database.repository_id,
            issue.number,
            issue.title,
            issue.body,
            statistics,
            is_open=was_open,
        )


def as_issue(item: HistoricIssue) -> Issue:
    """``item`` as the GitHub client hands issues to the store.

    NUL characters are dropped: PostgreSQL's text cannot hold them and a few
    real bodies have one (the store will have to do the same).
    """
    return Issue(
        github_id=item.number,
        number=item.number,
        title=item.title.replace("\x00", ""),
        body=item.body.replace("\x00", ""),
        state=item.state,
        is_pull_request=False,
        updated_at=item.closed_at or item.created_at,
        created_at=item.created_at,
        labels=item.labels,
        author_login=item.user,
    )


def _pages(issues: Sequence[HistoricIssue]) -> Iterator[Sequence[HistoricIssue]]:
    for start in range(0, len(issues), PAGE):
        yield issues[start : start + PAGE]


def _load_sqlite(path: str, issues: Sequence[HistoricIssue]) -> Database:
    store = SQLiteStore(path)
    exists = "SELECT count(*) FROM sqlite_master WHERE name = 'issue_search'"
    return _load(store, sqlite, exists, issues, sqlite.SQLiteSearchIndex)


def _load_postgres(url: str, issues: Sequence[HistoricIssue]) -> Database:
    from autosolve.infra.postgres.store import PostgresStore

    # One connection, so the server process whose CPU time is read is the one that answers.
    store = PostgresStore(url, pool_size=1)
    exists = "SELECT count(*) FROM pg_class WHERE relname = 'issue_search'"
    database = _load(store, postgres, exists, issues, postgres.PostgresSearchIndex)
    with store.engine.transaction(write=True) as connection:
        connection.execute("ANALYZE issue_search")
        server = _server_process(connection)
    if server is not None:
        database.cpu_seconds = lambda: time.thread_time() + sum(server.cpu_times()[:2])
    return database


def _load(
    store: Store,
    engine: Any,
    exists: str,
    issues: Sequence[HistoricIssue],
    index: Callable[[Any], SearchIndex],
) -> Database:
    store.migrate()
    repository_id = store.upsert_repository(1, OWNER, NAME)
    with store.engine.transaction(write=True) as connection:
        if not connection.execute(exists).fetchone()[0]:
            for statement in engine.SCHEMA:
                connection.execute(statement)
        indexed = connection.execute("SELECT count(*) FROM issue_search").fetchone()[0]
    if indexed != len(issues):
        for page in _pages(issues):
            store.save_issue_page(repository_id, [as_issue(i) for i in page], SyncCursor())
            with store.engine.transaction(write=True) as connection:
                engine.index_issues(
                    connection, stored_texts(connection, repository_id, [i.number for i in page])
                )

    @contextmanager
    def session() -> Iterator[SearchIndex]:
        with store.engine.transaction(write=False) as connection:
            yield index(connection)

    return Database(repository_id, session)


def _server_process(connection: Any) -> Any:
    """The server process serving ``connection``, when it runs on this machine."""
    import psutil

    try:
        return psutil.Process(connection.execute("SELECT pg_backend_pid()").fetchone()[0])
    except psutil.Error:
        return None


# -- scoring -----------------------------------------------------------------------------------


@dataclass
class Scores:
    """Per-query outcomes, kept apart so halves can be reported."""

    ranks: list[int | None]
    """Where each pair's original came (0 = first), ``None`` when not returned."""
    label_hits: list[bool]
    """Whether each label issue's top suggestion is one of its labels."""
    label_recall: list[float]
    """Share of each label issue's labels among its top three suggestions."""
    seconds: list[float]
    cpu: list[float]

    def summary(self, half: slice = slice(None)) -> dict[str, float | int]:
        """The figures of the pairs and label issues in ``half``; the p99 is of every query."""
        ranks, hits, recall = self.ranks[half], self.label_hits[half], self.label_recall[half]
        return {
            "pairs": len(ranks),
            "recall@1": _share(ranks, 1),
            "recall@5": _share(ranks, 5),
            "recall@10": _share(ranks, 10),
            "labels": len(hits),
            "label_precision@1": round(sum(hits) / max(len(hits), 1), 3),
            "label_recall@3": round(sum(recall) / max(len(recall), 1), 3),
            "query_p99_ms": round(_percentile(self.seconds, 0.99) * 1000, 1),
        }

    def costs(self) -> str:
        """Median and p99 of wall-clock and CPU time per query, in ms."""
        return ", ".join(
            f"{name} median {stats.median(values) * 1000:.1f} ms, "
            f"p99 {_percentile(values, 0.99) * 1000:.1f} ms"
            for name, values in (("wall", self.seconds), ("cpu", self.cpu))
        )


def _share(ranks: list[int | None], k: int) -> float:
    return round(sum(1 for r in ranks if r is not None and r < k) / max(len(ranks), 1), 3)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] if ordered else 0.0


def measure(
    database: Database,
    issues: dict[int, HistoricIssue],
    pairs: list[tuple[int, int]],
    label_numbers: list[int],
    statistics: CorpusStatistics,
) -> Scores:
    """Ask for every pair's duplicate and every label issue; time each question."""
    scores = Scores([], [], [], [], [])

    def timed(issue: HistoricIssue) -> Related:
        def was_open(number: int, state: str) -> bool:
            return issues[number].open_when(issue.created_at)

        started, spent = time.perf_counter(), database.cpu_seconds()
        answer = related(database, issue, statistics, was_open)
        scores.seconds.append(time.perf_counter() - started)
        scores.cpu.append(database.cpu_seconds() - spent)
        return answer

    for duplicate, original in pairs:
        numbers = [found.number for found in timed(issues[duplicate]).issues]
        scores.ranks.append(numbers.index(original) if original in numbers else None)
    for number in label_numbers:
        truth = set(issues[number].labels)
        suggested = [label.name for label in timed(issues[number]).labels]
        scores.label_hits.append(bool(suggested) and suggested[0] in truth)
        scores.label_recall.append(len(truth.intersection(suggested[:3])) / len(truth))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=Path, required=True, help="issues.jsonl.gz")
    parser.add_argument("--pairs", type=Path, required=True, help="pairs-*.jsonl")
    parser.add_argument("--labels", type=Path, required=True, help="labels-*.txt")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--sqlite", help="SQLite file to load into, or reuse when loaded")
    args = parser.parse_args()

    issues = read_issues(args.issues)
    lines = [line for line in args.pairs.read_text().splitlines() if line.strip()]
    pairs = [(item["duplicate"], item["original"]) for item in map(json.loads, lines)]
    label_numbers = [int(n) for n in args.labels.read_text().split()]
    ordered = [issues[number] for number in sorted(issues)]

    with tempfile.TemporaryDirectory() as scratch:
        target = args.database_url or args.sqlite or str(Path(scratch) / "triage.db")
        started = time.perf_counter()
        database = load_issues(target, ordered)
        print(f"loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        started = time.perf_counter()
        with database.session() as index:
            statistics = corpus_statistics(index.corpus(database.repository_id))
        print(f"term statistics in {time.perf_counter() - started:.2f} s", file=sys.stderr)
        scores = measure(database, issues, pairs, label_numbers, statistics)

    print(f"per query: {scores.costs()}", file=sys.stderr)
    for name, half in (("half A", slice(0, None, 2)), ("half B", slice(1, None, 2))):
        print(name, json.dumps(scores.summary(half)))
    print(json.dumps(scores.summary()))


if __name__ == "__main__":
    main()
