"""Pipeline benchmark: initial sync and steady state, or the explainer's throughput.

The daemon runs as a real ``autosolve-supervisor start`` subprocess; the fake
GitHub and Ollama run in this process, so the two do not share a GIL and the
fake counts every request the daemon makes.

    python bench/pipeline.py --repos 50 --issues 500
    python bench/pipeline.py --throughput 1000 --backend gevent --concurrency 1

Sync mode prints: initial sync time, issues stored per second (with their
outbox events), listing requests per issue; then, in steady state, listing
requests per poll (one conditional request answered 304 is the target).

Throughput mode queues that many jobs (one per issue, mirrored beforehand)
and starts the daemon with a model that answers at once; it prints the time
until every job is done and every comment posted (bar: 1,000 in < 30 s).
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import DaemonProcess, settings_dict, to_toml


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(db, timeout=10)
    try:
        return connection.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def listings(github: FakeGitHub) -> list:
    return [r for r in github.requests if r.path.endswith("/issues") and r.method == "GET"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--throughput", type=int, metavar="JOBS", default=0,
                        help="measure the explainer draining JOBS queued jobs instead")  # fmt: skip
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--concurrency", type=int, default=1, help="analysis.concurrency")
    args = parser.parse_args()
    if args.throughput:
        throughput(args.throughput, args.backend, args.concurrency)
        return
    total = args.repos * args.issues
    pause = threading.Event()

    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeGitHub(token="bench") as github,
        FakeOllama() as ollama,
    ):
        repositories = [f"bench/repo{r}" for r in range(args.repos)]
        for repository in repositories:
            github.add_repo(*repository.split("/"))
            for n in range(args.issues):
                github.add_issue(*repository.split("/"), title=f"issue {n}", body="x" * 200)
        data = settings_dict(Path(tmp), github.url, ollama.url, repositories)
        data["github"]["token"] = "bench"
        # Analysis is not what is measured here: keep the explainer's share small.
        data["intervals"] = {"issue_poller": args.poll_interval, "outbox_relay": 1.0,
                             "issue_explainer": 60.0}  # fmt: skip
        data["log"] = {"level": "WARNING"}
        settings = Path(tmp) / "settings.toml"
        settings.write_text(to_toml(data))
        db = Path(tmp) / "autosolve.db"

        started = time.monotonic()
        with DaemonProcess(settings) as daemon:
            while count(db, "SELECT count(*) FROM outbox_events") < total:
                if daemon.process.poll() is not None:
                    sys.exit(f"daemon exited early:\n{daemon.log}")
                pause.wait(0.05)
            synced = time.monotonic() - started
            stored = count(db, "SELECT count(*) FROM issues")
            sync_requests = len(listings(github))
            print(f"initial sync: {args.repos} repositories x {args.issues} issues")
            print(f"  issues stored        {stored}")
            print(f"  time                 {synced:.2f} s (daemon start included)")
            print(f"  issues/s             {stored / synced:,.0f}")
            print(f"  listing requests     {sync_requests}")
            print(f"  requests per issue   {sync_requests / stored:.4f}")

            # Let every poller finish its catch-up and fetch its ETag, then count.
            pause.wait(2 * args.poll_interval + 1)
            before = len(listings(github))
            pause.wait(args.steady_seconds)
            window = listings(github)[before:]
            polls = args.repos * args.steady_seconds / args.poll_interval
            statuses = {
                s: sum(1 for r in window if r.status == s) for s in {r.status for r in window}
            }
            print(
                f"steady state: {args.steady_seconds:.0f} s, poll interval {args.poll_interval} s"
            )
            print(f"  listing requests     {len(window)} (statuses {statuses})")
            print(f"  expected polls       {polls:.0f}")
            print(f"  requests per poll    {len(window) / polls:.3f}")
            gaps = []
            for repository in repositories:
                times = [r.monotonic for r in window if r.path == f"/repos/{repository}/issues"]
                gaps += [b - a for a, b in itertools.pairwise(times)]
            # A poll that needed two requests would show a gap far below the interval.
            print(
                f"  min gap between one repository's requests {min(gaps):.3f} s "
                f"(poll interval {args.poll_interval} s)"
            )
            daemon.signal(signal.SIGTERM)
            print(f"  daemon exit code     {daemon.wait(60)}")


def throughput(jobs: int, backend: str, concurrency: int) -> None:
    """Time the explainer draining ``jobs`` queued jobs with an instant model."""
    pause = threading.Event()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeGitHub(token="bench") as github,
        FakeOllama() as ollama,
    ):
        github.add_repo("bench", "repo")
        for n in range(jobs):
            github.add_issue("bench", "repo", title=f"issue {n}", body="x" * 200)
        data = settings_dict(Path(tmp), github.url, ollama.url, ["bench/repo"])
        data["github"]["token"] = "bench"
        data["github"]["issues"] = {"since": "all"}
        data["analysis"] = {"concurrency": concurrency}
        data["runtime"]["backend"] = backend
        data["intervals"] = {"issue_poller": 60.0, "outbox_relay": 60.0, "issue_explainer": 1.0}
        data["log"] = {"level": "WARNING"}
        settings = Path(tmp) / "settings.toml"
        settings.write_text(to_toml(data))
        db = Path(tmp) / "autosolve.db"
        _queue_every_issue(github, db)

        started = time.monotonic()
        with DaemonProcess(settings) as daemon:
            while len(github.requests_for(method="POST")) < jobs or count(
                db, "SELECT count(*) FROM jobs"
            ):
                if daemon.process.poll() is not None:
                    sys.exit(f"daemon exited early:\n{daemon.log}")
                pause.wait(0.05)
            elapsed = time.monotonic() - started
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(60)
        posted = len(github.requests_for(method="POST"))
        print(f"explainer throughput: {jobs} queued jobs, instant model, backend {backend}, "
              f"concurrency {concurrency}")  # fmt: skip
        print(f"  comments posted      {posted}")
        print(f"  time                 {elapsed:.2f} s (daemon start included; bar < 30 s)")
        print(f"  jobs/s               {jobs / elapsed:,.0f}")
        print(f"  daemon exit code     {code}")


def _queue_every_issue(github: FakeGitHub, db: Path) -> None:
    """Mirror the repository and queue one job per issue, as poller and relay would."""
    from autosolve.domain.spec import RepoTenant
    from autosolve.domain.workers import IssuePoller, OutboxRelay
    from autosolve.infra.github import GitHubClient
    from autosolve.infra.store import SQLiteStore
    from autosolve.runtime import SystemClock, WorkContext

    repo = github.repo("bench", "repo")
    with SQLiteStore(db) as store:
        store.migrate()
        tenant = RepoTenant(
            "bench", "repo", store.upsert_repository(repo.github_id, "bench", "repo")
        )
        ctx = WorkContext("bench", threading.Event(), SystemClock())
        IssuePoller(GitHubClient(github.url, "bench", timeout=10), store, 1.0).poll(ctx, tenant)
        OutboxRelay(store, 1.0).relay(ctx, tenant)
        queued = store.pending_jobs()
    github.clear_log()
    print(f"queued {queued} jobs")


if __name__ == "__main__":
    main()
