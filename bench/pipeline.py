"""Pipeline benchmark: initial sync and steady state, or the explainer's throughput.

The daemon runs as a real ``autosolve-supervisor start`` subprocess; the fake
GitHub and Ollama run in this process, so the two do not share a GIL and the
fake counts every request the daemon makes.

    python bench/pipeline.py --repos 50 --issues 500
    python bench/pipeline.py --repos 10 --issues 1000 \\
        --texts ../shared/data/rust-issues/issues.jsonl.gz [--without-index]
    python bench/pipeline.py --throughput 1000 --backend gevent --concurrency 1
    python bench/pipeline.py --budget --repos 2000 --minutes 5 --backend gevent
    python bench/pipeline.py --analyses 200 --repos 5

Sync mode (issues titled ``issue N`` with a 200-character body, or with
``--texts`` the titles and bodies of real issues, as the search index meets
them) prints: initial sync time, the daemon's CPU seconds, issues stored per
second (with their outbox events), listing requests per issue, and the CPU
once the relay and the explainer have caught up ("drained": the figure to
compare between runs, as the share done by the sync's end depends on its
pace); then, in steady state, listing requests per poll (one conditional
request answered 304 is the target). ``--without-index`` runs a daemon whose
store keeps no search index: the difference in CPU is what the index costs
the initial sync.

Throughput mode queues that many jobs (one per issue, mirrored beforehand)
and starts the daemon with a model that answers at once; it prints the time
until every job is done and every comment posted (bar: 1,000 in < 30 s).

Analyses mode opens that many new issues, one after another, in repositories
in steady state, waits until each is analysed and commented, and prints the
GitHub requests the daemon made beyond the listings (issues, comments,
labels) per analysis (bar: <= 1.05; the comment's POST is one).

Budget mode (issue #11) runs many repositories on one token against a fake
that enforces GitHub's documented secondary limits (900 points per minute,
100 concurrent requests, 80 writes per minute and 500 per hour) with the
shipped ``[github.budget]``. It prints the secondary-limit answers (bar: 0),
the most requests and points in any minute (bar: requests <= 900), then
opens an issue in quiet repositories and prints the worst time to notice it
beside the arithmetic bound (the slowest interval a quiet repository gets).
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from autosolve.domain.comment import MARKER
from tests.fakes.github import FakeGitHub, iso_now
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


def wait_for(
    done: Callable[[], object], daemon: DaemonProcess, pause: threading.Event, every: float = 0.05
) -> None:
    """Return once ``done()`` is true; end the bench if the daemon exits first."""
    while not done():
        if daemon.process.poll() is not None:
            sys.exit(f"daemon exited early:\n{daemon.log}")
        pause.wait(every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument(
        "--texts",
        type=Path,
        metavar="ISSUES_JSONL_GZ",
        help="give the issues these real titles and bodies (sync mode)",
    )
    parser.add_argument("--without-index", action="store_true",
                        help="sync mode: a daemon that keeps no search index")  # fmt: skip
    parser.add_argument("--page-latency", type=float, default=0.0, metavar="SECONDS",
                        help="sync mode: the fake answers each repository request this late, "
                             "as GitHub takes 0.3-1.5 s to serve a page of 100 issues")  # fmt: skip
    parser.add_argument("--steady-seconds", type=float, default=10.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--throughput", type=int, metavar="JOBS", default=0,
                        help="measure the explainer draining JOBS queued jobs instead")  # fmt: skip
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--concurrency", type=int, default=1, help="analysis.concurrency")
    parser.add_argument("--analyses", type=int, metavar="ISSUES", default=0,
                        help="measure the GitHub requests per steady-state analysis")  # fmt: skip
    parser.add_argument("--budget", action="store_true",
                        help="run many repositories against GitHub's secondary limits")  # fmt: skip
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="budget mode: minutes before the probes")  # fmt: skip
    parser.add_argument("--probes", type=int, default=50,
                        help="budget mode: quiet repositories that get an issue")  # fmt: skip
    args = parser.parse_args()
    if args.budget:
        budget_run(args.repos, args.minutes, args.probes, args.backend)
        return
    if args.throughput:
        throughput(args.throughput, args.backend, args.concurrency)
        return
    if args.analyses:
        analyses_cost(args.analyses, args.repos, args.backend)
        return
    total = args.repos * args.issues
    pause = threading.Event()

    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeGitHub(token="bench") as github,
        FakeOllama() as ollama,
    ):
        repositories = [f"bench/repo{r}" for r in range(args.repos)]
        texts = issue_texts(args.texts)
        for repository in repositories:
            github.add_repo(*repository.split("/"))
            if args.page_latency:
                github.slow(args.page_latency, f"/repos/{repository}/")
            for n in range(args.issues):
                title, body = next(texts)
                github.add_issue(*repository.split("/"), title=title.format(n=n), body=body)
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
        with DaemonProcess(settings, env=without_index() if args.without_index else None) as daemon:
            wait_for(
                lambda: count(db, "SELECT count(*) FROM outbox_events") >= total, daemon, pause
            )
            synced = time.monotonic() - started
            cpu = daemon_cpu(daemon)
            stored = count(db, "SELECT count(*) FROM issues")
            sync_requests = len(listings(github))
            behind = backlog(db)
            drained = drain(db, daemon, pause) - started
            print(f"initial sync: {args.repos} repositories x {args.issues} issues")
            print(f"  issues stored        {stored}")
            print(f"  time                 {synced:.2f} s (daemon start included)")
            print(f"  daemon CPU           {cpu:.2f} s at its end, {behind} events or jobs behind")
            print(f"  issues/s             {stored / synced:,.0f}")
            print(f"  listing requests     {sync_requests}")
            print(f"  requests per issue   {sync_requests / stored:.4f}")
            print(f"  drained              {drained:.2f} s (every event relayed, every job taken)")
            print(f"  daemon CPU, drained  {daemon_cpu(daemon):.2f} s (the same work at any pace)")

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
                f"  min gap between one repository's requests {min(gaps, default=math.nan):.3f} s "
                f"(poll interval {args.poll_interval} s)"
            )
            daemon.signal(signal.SIGTERM)
            print(f"  daemon exit code     {daemon.wait(60)}")


def daemon_cpu(daemon: DaemonProcess) -> float:
    """The daemon's CPU seconds so far, user and system."""
    return sum(psutil.Process(daemon.process.pid).cpu_times()[:2])


BACKLOG = (
    "SELECT (SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL)"
    " + (SELECT count(*) FROM jobs)"
)
"""The sync's work still ahead of the outbox relay and the explainer: each
stored issue's event is relayed into a job, which the explainer takes and
(for an issue from before the watch start) skips."""


DRAIN_TIMEOUT = 600.0
"""Seconds the relay and the explainer get to catch up before the bench gives up."""


def backlog(db: Path) -> int:
    return count(db, BACKLOG)


def drain(db: Path, daemon: DaemonProcess, pause: threading.Event) -> float:
    """Wait until the relay and the explainer have caught up with the sync; when.

    The CPU at the sync's end is no measure of the sync's work: the relay and
    the explainer lag behind a fast sync (against a fake GitHub answering at
    once, two thirds of the jobs are still ahead) and keep up with a slow one,
    so that figure grows with the page latency for the same work.
    """
    deadline = time.monotonic() + DRAIN_TIMEOUT

    def drained() -> bool:
        behind = backlog(db)
        if behind and time.monotonic() > deadline:
            sys.exit(f"{behind} events or jobs still queued after {DRAIN_TIMEOUT} s")
        return not behind

    wait_for(drained, daemon, pause)
    return time.monotonic()


def without_index() -> dict[str, str]:
    """The daemon's environment with ``bench/without_index`` first on its path: its
    ``sitecustomize`` leaves the search index out of the SQLite store."""
    path = [str(Path(__file__).resolve().parent / "without_index"), os.environ.get("PYTHONPATH")]
    return {"PYTHONPATH": os.pathsep.join(filter(None, path))}


def issue_texts(path: Path | None) -> Iterator[tuple[str, str]]:
    """``(title, body)`` for each issue to open: the real ones of ``path`` in turn (a
    ``{n}`` in a title is escaped), else ``issue {n}`` and a 200-character body."""
    if path is None:
        return itertools.repeat(("issue {n}", "x" * 200))
    from bench.triage_quality import read_issues

    real = read_issues(path).values()
    return itertools.cycle([(i.title.replace("{", "{{").replace("}", "}}"), i.body) for i in real])


LISTINGS = ("/issues", "/issues/comments", "/labels")
"""What the pollers read: paths of a repository's listings."""


def is_listing(request) -> bool:
    return request.method == "GET" and request.path.endswith(LISTINGS)


def analyses_cost(analyses: int, repos: int, backend: str) -> None:
    """GitHub requests per analysis of a new issue, beyond the listings, in steady state."""
    pause = threading.Event()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeGitHub(token="bench") as github,
        FakeOllama() as ollama,
    ):
        repositories = [f"bench/repo{r}" for r in range(repos)]
        for repository in repositories:
            github.add_repo(*repository.split("/"))
            github.add_label(*repository.split("/"), "bug")
            for n in range(20):  # history: mirrored, never analysed
                github.add_issue(*repository.split("/"), title=f"old {n}")
        data = settings_dict(Path(tmp), github.url, ollama.url, repositories)
        data["github"]["token"] = "bench"
        data["runtime"]["backend"] = backend
        data["intervals"]["comment_poller"] = 0.1
        data["log"] = {"level": "WARNING"}
        settings = Path(tmp) / "settings.toml"
        settings.write_text(to_toml(data))
        db = Path(tmp) / "autosolve.db"

        with DaemonProcess(settings) as daemon:
            while backlog(db) or count(db, "SELECT count(*) FROM issues") < 20 * repos:
                pause.wait(0.1)
            pause.wait(1.0)  # every poller in steady state
            mark = len(github.requests)
            started = time.monotonic()
            # From now on GitHub's clock ticks on from the wall clock: new issues are new.
            github.clock.observe(iso_now())
            for n in range(analyses):
                owner, name = repositories[n % repos].split("/")
                issue = github.add_issue(owner, name, title=f"new {n}")
                commented = functools.partial(
                    github.marker_comments, owner, name, issue.number, MARKER
                )
                wait_for(commented, daemon, pause, every=0.02)
            while count(db, "SELECT count(*) FROM jobs"):
                pause.wait(0.05)  # the bumps of the comments judged too
            elapsed = time.monotonic() - started
            window = github.requests[mark:]
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(60)
        beyond = Counter(f"{r.method} {_shape(r.path)}" for r in window if not is_listing(r))
        print(f"steady-state analyses: {analyses} new issues in {repos} repositories, "
              f"backend {backend}")  # fmt: skip
        print(f"  time                 {elapsed:.2f} s")
        print(f"  listing requests     {sum(1 for r in window if is_listing(r))}")
        print(f"  other requests       {sum(beyond.values())} {dict(beyond)}")
        print(f"  per analysis         {sum(beyond.values()) / analyses:.3f} (bar <= 1.05)")
        print(f"  daemon exit code     {code}")


def _shape(path: str) -> str:
    """A path with its numbers as ``N``, to count requests by endpoint."""
    return "/".join("N" if part.isdigit() else part for part in path.split("/"))


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
            wait_for(
                lambda: (
                    len(github.requests_for(method="POST")) >= jobs
                    and not count(db, "SELECT count(*) FROM jobs")
                ),
                daemon,
                pause,
            )
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
        summary = store.jobs_summary(recent=0)
        queued = summary.ready + summary.in_flight
    github.clear_log()
    print(f"queued {queued} jobs")


BUDGET_TOKEN = "ghp_budgetbench0123456789"
"""Not "bench": control answers mask the token, and it would mask the repository names."""


def budget_run(repos: int, minutes: float, probes: int, backend: str) -> None:
    """``repos`` repositories on one token, the fake enforcing GitHub's secondary limits."""
    from autosolve.control.client import ControlClient
    from autosolve.domain.polling import polls_per_second
    from tests.fakes.limits import GitHubLimits

    pause = threading.Event()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeGitHub(token=BUDGET_TOKEN) as github,
        FakeOllama() as ollama,
    ):
        github.limits = GitHubLimits()  # GitHub's documented numbers
        repositories = [f"bench/repo{r}" for r in range(repos)]
        for repository in repositories:
            github.add_repo(*repository.split("/"))
            github.add_issue(*repository.split("/"), title="an old issue")
        data = settings_dict(Path(tmp), github.url, ollama.url, repositories)
        data["github"]["token"] = BUDGET_TOKEN
        data["github"]["budget"] = {}  # the shipped defaults: 900, 20, 60, 450
        data["intervals"] = {}  # 10 s .. 300 s
        data["runtime"] = {"backend": backend, "shutdown_timeout": 30.0}
        data["log"] = {"level": "WARNING"}
        settings = Path(tmp) / "settings.toml"
        settings.write_text(to_toml(data))
        db = Path(tmp) / "autosolve.db"
        slowest = 300.0
        rate = polls_per_second(900, 60, 60.0)
        bound = max(slowest, repos / rate)

        print(f"budget: {repos} repositories on one token, backend {backend}; the fake enforces "
              f"900 points/min, 100 concurrent, 80 writes/min, 500 writes/h")  # fmt: skip
        started = time.monotonic()
        with DaemonProcess(settings) as daemon:
            while time.monotonic() - started < minutes * 60:
                if daemon.process.poll() is not None:
                    sys.exit(f"daemon exited early:\n{daemon.log[-5000:]}")
                pause.wait(1.0)
            stored = count(db, "SELECT count(*) FROM issues")
            print(f"after {minutes:g} min: {stored} of {repos} repositories synced")
            probing = time.monotonic()
            last_minute = sum(1 for r in github.requests if r.monotonic > probing - 60.0)
            print(f"  requests in the minute before the probes: {last_minute}")
            quiet = _quiet_repositories(github, repositories, probes)
            status = ControlClient(Path(tmp) / "autosolve.sock").call("status")["status"]
            intervals = {c["name"].rsplit(":", 1)[1]: c["interval"] for c in status["children"]
                         if c["name"].startswith("worker:issue-poller:")}  # fmt: skip
            opened = {}
            for repository in quiet:
                github.add_issue(*repository.split("/"), title="a probe")
                opened[repository] = time.monotonic()
            noticed = _wait_noticed(db, opened, deadline=bound + 120, daemon=daemon)
            daemon.signal(signal.SIGTERM)
            code = daemon.wait(120)
        ran = time.monotonic() - started
        requests = github.requests
        per_minute = most_in_a_minute([r.monotonic for r in requests])
        points = most_in_a_minute(
            [r.monotonic for r in requests], [1 if r.method == "GET" else 5 for r in requests]
        )
        latencies = [noticed[r] - opened[r] for r in noticed]
        print(f"  ran                    {ran / 60:.1f} min, daemon exit code {code}")
        print(f"  requests               {len(requests)}; statuses "
              f"{dict(sorted(Counter(r.status for r in requests).items(), key=str))}")  # fmt: skip
        print(f"  secondary-limit 403s   {len(github.limits.rejected)} (bar: 0)")
        print(f"  429s                   {sum(r.status == 429 for r in requests)}")
        print(f"  most requests/minute   {per_minute} (bar: <= 900)")
        print(f"  most points/minute     {points} (GitHub: 900)")
        print(f"  peak concurrency       {github.limits.peak_in_flight} (budget: 20)")
        print(f"  quiet repositories probed  {len(opened)}, noticed {len(noticed)}")
        if latencies:
            median = sorted(latencies)[len(latencies) // 2]
            print(f"  time to notice         median {median:.0f} s, worst {max(latencies):.0f} s")
        print(f"  their intervals then   up to {max(intervals.get(r, 0.0) for r in opened):.0f} s")
        print(f"  arithmetic bound       {bound:.0f} s = max(issue_poller_max {slowest:g} s, "
              f"{repos} repositories / {rate:g} polls/s)")  # fmt: skip


def most_in_a_minute(times: list[float], weights: list[int] | None = None) -> int:
    """The most requests (or points) that arrived within any 60 s."""
    pairs = sorted(zip(times, weights or [1] * len(times), strict=True))
    start = total = most = 0
    for moment, weight in pairs:
        total += weight
        while moment - pairs[start][0] >= 60.0:
            total -= pairs[start][1]
            start += 1
        most = max(most, total)
    return most


def _quiet_repositories(github: FakeGitHub, repositories: list[str], probes: int) -> list[str]:
    """Repositories nobody touched since the start (autosolve's own comment aside)."""
    picked = []
    for repository in repositories:
        issues = github.repo(*repository.split("/")).issues
        if len(issues) == 1 and not issues[1].comments:
            picked.append(repository)
        if len(picked) == probes:
            break
    return picked


def _wait_noticed(
    db: Path, opened: dict[str, float], deadline: float, daemon: DaemonProcess
) -> dict[str, float]:
    """When each probe issue reached the database (polled every half second)."""
    noticed: dict[str, float] = {}
    pause = threading.Event()
    first = min(opened.values())
    while len(noticed) < len(opened) and time.monotonic() - first < deadline:
        if daemon.process.poll() is not None:
            break
        rows = _query(db, "SELECT r.owner || '/' || r.name FROM issues i JOIN repositories r "
                          "ON r.id = i.repository_id WHERE i.title = 'a probe'")  # fmt: skip
        now = time.monotonic()
        for (repository,) in rows:
            noticed.setdefault(repository, now)
        pause.wait(0.5)
    return noticed


def _query(db: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return connection.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()


if __name__ == "__main__":
    main()
