"""How long each store call holds the caller: the gevent hub's worst case.

Under the gevent backend SQLite calls run on the hub (they are C calls that
do not yield), so their duration is the longest pause they can inflict on
every other greenlet. This prints p50/p99/max per call on a real file.

    python bench/store.py --pages 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from autosolve.infra.issue import Issue
from autosolve.infra.store import DEFAULT_RELAY_BATCH, SQLiteStore, SyncCursor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages of 50 issues to store")
    args = parser.parse_args()
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, call, *call_args):
        started = time.perf_counter()
        result = call(*call_args)
        timings[name].append(time.perf_counter() - started)
        return result

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        store.migrate()
        repository_id = store.upsert_repository(1, "bench", "repo")
        for page in range(args.pages):
            issues = [
                Issue(
                    github_id=page * 50 + i,
                    number=page * 50 + i + 1,
                    title="t" * 60,
                    body="b" * 1000,
                    state="open",
                    is_pull_request=False,
                    updated_at=f"2025-01-01T{page // 60 % 24:02d}:{page % 60:02d}:{i:02d}Z",
                )
                for i in range(50)
            ]
            timed("load_cursor", store.load_cursor, repository_id)
            cursor = SyncCursor(since=issues[-1].updated_at)
            timed(
                "save_issue_page (50 issues)", store.save_issue_page, repository_id, issues, cursor
            )
            for _ in range(3):
                batch = DEFAULT_RELAY_BATCH
                timed(f"relay_outbox ({batch} events)", store.relay_outbox, repository_id, batch)
            for _ in range(5):
                job = timed("receive_job", store.receive_job, 600.0, 5)
                if job is not None:
                    timed("delete_job", store.delete_job, job.id)
        store.close()

    print(f"{'call':30s} {'n':>6s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for name, values in timings.items():
        values.sort()
        p99 = values[max(int(len(values) * 0.99) - 1, 0)]
        print(
            f"{name:30s} {len(values):6d} {statistics.median(values) * 1000:8.2f} "
            f"{p99 * 1000:8.2f} {values[-1] * 1000:8.2f}"
        )


if __name__ == "__main__":
    main()
