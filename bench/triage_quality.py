"""Triage quality: related issues and suggested labels on real rust-lang/rust history (issue #17).

Loads the issues into a real database (SQLite by default, PostgreSQL with
``--database-url``) through the product's store, which keeps the search index
in the transaction of each page it stores, then, for each
duplicate pair, asks the product's retrieval for the issues related to the
duplicate and finds where the original ranks; for each listed issue, asks for
its suggested labels. Printed last, one JSON object:
``pairs, recall@1, recall@5, recall@10, labels, label_precision@1,
label_recall@3, query_p99_ms``. Before it, the same figures for each half of
the pairs and label issues, split two ways (even and odd positions in the
files; the earlier and the later half by issue number), to see how much of a
difference is noise.

    python bench/triage_quality.py --issues ../shared/data/rust-issues/issues.jsonl.gz \\
        --pairs ../shared/data/rust-issues/pairs-dev.jsonl \\
        --labels ../shared/data/rust-issues/labels-dev.txt [--database-url URL] [--sqlite PATH]

The rules of an honest score (the data's README): when issue N is the query,
only issues opened before N are candidates (GitHub numbers issues in opening
order, and the index asks for ``number < N``), N itself never; a candidate is
open if it was open when N was opened (``closed_at`` null or later than N's
``created_at``), whatever its state today; labels are voted by earlier issues
only, and so are the labels' profiles that weigh the votes (the label issues
are asked in number order, each after the profiles have counted the issues
opened before it); the maintainers' closing comments are not in the data.
The term statistics (how many issues contain a term) are counted once over
all loaded issues, as the product counts them over its whole mirror.

``load_issues`` and ``related`` are the two places that touch the database:
to measure another store, change those. The database is reused when it holds
every issue already (``--sqlite PATH``, or a URL), so repeated runs skip the load.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.domain.related import (
    CorpusStatistics,
    LabelProfiles,
    OpenTest,
    Related,
    corpus_statistics,
    find_related,
)
from autosolve.infra.issue import Issue
from autosolve.infra.search import CorpusDocument, SearchIndex
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
    """A loaded database: its search index as the store hands it out, and the repository's id."""

    repository_id: int
    index: SearchIndex
    """The store's search index (each question a read transaction of its own, as in the
    product)."""
    cpu_seconds: Callable[[], float] = time.thread_time
    """CPU time spent on queries so far, the database server's included: on a busy machine
    this says what a query costs when wall-clock times mostly say how long it waited."""


def load_issues(target: str, issues: Sequence[HistoricIssue]) -> Database:
    """Store and index ``issues`` (unless ``target`` already holds them all); the database.

    ``target`` is a SQLite path or a PostgreSQL URL. Issues go through the
    product's store a page at a time, as the initial sync stores them; the
    store indexes each page in the page's own transaction.
    """
    if target.startswith(("postgresql://", "postgres://")):
        return _load_postgres(target, issues)
    return _load_sqlite(target, issues)


def related(
    database: Database,
    issue: HistoricIssue,
    statistics: CorpusStatistics,
    was_open: OpenTest,
    profiles: LabelProfiles | None = None,
) -> Related:
    """The product's answer for ``issue``; ``was_open`` tells a candidate's state back then."""
    return find_related(
        database.index,
        database.repository_id,
        issue.number,
        issue.title,
        issue.body,
        statistics,
        is_open=was_open,
        profiles=profiles,
    )


def as_issue(item: HistoricIssue) -> Issue:
    """``item`` as the GitHub client hands issues to the store.

    NUL characters are left in: the store leaves them out of what it keeps
    (PostgreSQL's text cannot hold them, and a few real bodies have one).
    """
    return Issue(
        github_id=item.number,
        number=item.number,
        title=item.title,
        body=item.body,
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
    return _load(SQLiteStore(path), issues)


def _load_postgres(url: str, issues: Sequence[HistoricIssue]) -> Database:
    from autosolve.infra.postgres.store import PostgresStore

    # One connection, so the server process whose CPU time is read is the one that answers.
    store = PostgresStore(url, pool_size=1)
    database = _load(store, issues)
    with store.engine.transaction(write=True) as connection:
        connection.execute("ANALYZE issue_search")
        server = _server_process(connection)
    if server is not None:
        database.cpu_seconds = lambda: time.thread_time() + sum(server.cpu_times()[:2])
    return database


def _load(store: Store, issues: Sequence[HistoricIssue]) -> Database:
    store.migrate()
    repository_id = store.upsert_repository(1, OWNER, NAME)
    if store.issue_counts().get(f"{OWNER}/{NAME}") != len(issues):
        for page in _pages(issues):
            store.save_issue_page(repository_id, [as_issue(i) for i in page], SyncCursor())
    return Database(repository_id, store.search_index)


def _server_process(connection: Any) -> Any:
    """The server process serving ``connection``, when it runs on this machine."""
    import psutil

    try:
        return psutil.Process(connection.execute("SELECT pg_backend_pid()").fetchone()[0])
    except psutil.Error:
        return None


# -- scoring -----------------------------------------------------------------------------------


class EarlierProfiles:
    """The label profiles over the issues opened before a number, grown as the number rises."""

    def __init__(self, corpus: Sequence[CorpusDocument], statistics: CorpusStatistics) -> None:
        self._waiting = sorted(corpus, key=lambda document: document.number)
        self._counted = 0
        self._profiles = LabelProfiles(statistics)

    def before(self, number: int) -> LabelProfiles:
        """The profiles over the issues numbered below ``number`` (asked in rising order)."""
        while self._counted < len(self._waiting) and self._waiting[self._counted].number < number:
            self._profiles.add(self._waiting[self._counted])
            self._counted += 1
        return self._profiles


_Value = TypeVar("_Value")
Positions = slice | Sequence[int]
"""Which of the pairs (or label issues) a figure is of: a slice or a list of positions."""


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

    def summary(
        self, pairs: Positions = slice(None), labels: Positions = slice(None)
    ) -> dict[str, float | int]:
        """The figures of these pairs and label issues; the p99 is of every query."""
        ranks = _pick(self.ranks, pairs)
        hits, recall = _pick(self.label_hits, labels), _pick(self.label_recall, labels)
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


def _pick(values: list[_Value], positions: Positions) -> list[_Value]:
    if isinstance(positions, slice):
        return values[positions]
    return [values[position] for position in positions]


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
    profiles: EarlierProfiles,
) -> Scores:
    """Ask for every pair's duplicate and every label issue; time each question.

    The label issues are asked in number order (the profiles only grow);
    their outcomes are kept in the file's order.
    """
    scores = Scores([], [], [], [], [])

    def timed(issue: HistoricIssue, labels: LabelProfiles | None = None) -> Related:
        def was_open(number: int, state: str) -> bool:
            return issues[number].open_when(issue.created_at)

        started, spent = time.perf_counter(), database.cpu_seconds()
        answer = related(database, issue, statistics, was_open, labels)
        scores.seconds.append(time.perf_counter() - started)
        scores.cpu.append(database.cpu_seconds() - spent)
        return answer

    for duplicate, original in pairs:
        numbers = [found.number for found in timed(issues[duplicate]).issues]
        scores.ranks.append(numbers.index(original) if original in numbers else None)
    suggested = {
        number: [label.name for label in timed(issues[number], profiles.before(number)).labels]
        for number in sorted(label_numbers)
    }
    for number in label_numbers:
        truth, names = set(issues[number].labels), suggested[number]
        scores.label_hits.append(bool(names) and names[0] in truth)
        scores.label_recall.append(len(truth.intersection(names[:3])) / len(truth))
    return scores


def splits(
    pairs: list[tuple[int, int]], label_numbers: list[int]
) -> dict[str, tuple[Positions, Positions]]:
    """Two ways to halve the pairs and the label issues: by position, by issue number."""
    by_number = [
        sorted(range(len(numbers)), key=numbers.__getitem__)
        for numbers in ([duplicate for duplicate, _ in pairs], label_numbers)
    ]
    earlier = [order[: len(order) // 2] for order in by_number]
    later = [order[len(order) // 2 :] for order in by_number]
    return {
        "half A": (slice(0, None, 2), slice(0, None, 2)),
        "half B": (slice(1, None, 2), slice(1, None, 2)),
        "earlier half": (earlier[0], earlier[1]),
        "later half": (later[0], later[1]),
    }


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
        corpus = database.index.corpus(database.repository_id)
        statistics = corpus_statistics(corpus)
        print(f"term statistics in {time.perf_counter() - started:.2f} s", file=sys.stderr)
        profiles = EarlierProfiles(corpus, statistics)
        scores = measure(database, issues, pairs, label_numbers, statistics, profiles)

    print(f"per query: {scores.costs()}", file=sys.stderr)
    for name, (pair_positions, label_positions) in splits(pairs, label_numbers).items():
        print(name, json.dumps(scores.summary(pair_positions, label_positions)))
    print(json.dumps(scores.summary()))


if __name__ == "__main__":
    main()
