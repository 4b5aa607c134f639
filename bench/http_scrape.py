"""``GET /metrics`` (and friends) latency, p50/p99, with N interval children running.

The daemon side runs in a subprocess: ``start_runtime`` with N trivial
interval workers (all due at the same moments, the harshest case), a real
SQLite store with a few mirrored repositories, and the HTTP endpoint on the
backend's server (cheroot threads or gevent.pywsgi) — the daemon without the
pipeline, so the figures are the endpoint's, the supervisor's and the
store's. This process is the scraper, on one kept-alive connection, as
Prometheus would be. Requests are paced (``--period``) so the samples span
many tick bursts.

Usage::

    python bench/http_scrape.py --backend threading gevent --children 2000

Bar: a ``/metrics`` scrape at 2,000 children answers in under 100 ms (p99).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BAR_MS = 100.0
TOKEN = "bench-token"
"""The endpoint's token: the scraper sends it, as an operator's Prometheus would off loopback."""
REPOSITORIES = 20
ISSUES_PER_REPOSITORY = 500


# -- the daemon side, in its own process ---------------------------------------


def serve(backend: str, children: int, interval: float, database: str) -> None:
    if backend == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from autosolve.control.commands import CommandTable, runtime_commands
    from autosolve.http.app import make_app
    from autosolve.http.metrics import Metrics, ScrapeSources, job_counts
    from autosolve.http.server import HttpServer
    from autosolve.infra.store import SQLiteStore
    from autosolve.runtime import Unit, start_runtime

    store = SQLiteStore(database)
    store.migrate()
    fill_store(store)

    def noop(ctx: object) -> None:
        pass

    metrics = Metrics()
    units = [Unit(f"worker:bench-{i:04d}", noop, interval) for i in range(children)]
    handle = start_runtime([], units, backend=backend)
    deadline = time.monotonic() + 120
    while any(c["runs"] == 0 for c in handle.status()["children"]):  # every child started
        if time.monotonic() > deadline:
            raise SystemExit("children did not all run within 120 s")
        handle.wait(0.05)
    metrics.sources = ScrapeSources(
        status=handle.status,
        issues=store.issue_counts,
        jobs=lambda: job_counts(store.jobs_summary(0)),
    )
    daemon = BareDaemon(handle, CommandTable(runtime_commands(handle)).answer, store)
    server = HttpServer("127.0.0.1:0", backend).start(make_app(daemon, metrics, token=TOKEN))
    print(server.url, flush=True)
    handle.wait()  # until the client posts `stop`
    server.close()
    store.close()


class BareDaemon:
    """The endpoint's view of a runtime and a store, without the pipeline (no store: an
    empty overview)."""

    def __init__(self, handle: Any, answer: Any, store: Any = None) -> None:
        self._handle = handle
        from autosolve.http.overview import Overview

        self.answer = answer
        self.overview = (
            dict if store is None else Overview(lambda: store, [], "https://api.github.com")
        )

    @property
    def running(self) -> bool:
        return self._handle.result is None

    def status(self) -> dict[str, Any]:
        return self._handle.status()

    def status_in(self, states: Any) -> dict[str, Any]:
        return self._handle.status_in(states)


def fill_store(store: object) -> None:
    from autosolve.infra.issue import Issue
    from autosolve.infra.store import SyncCursor

    for r in range(REPOSITORIES):
        repository_id = store.upsert_repository(r + 1, "bench", f"repo{r}")
        issues = [
            Issue(
                github_id=r * 100_000 + n,
                number=n,
                title=f"issue {n}",
                body="",
                state="open",
                is_pull_request=False,
                updated_at="2026-01-01T00:00:00Z",
            )
            for n in range(1, ISSUES_PER_REPOSITORY + 1)
        ]
        store.save_issue_page(repository_id, issues, SyncCursor())


# -- the client side -------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(session: object, url: str, n: int, period: float) -> tuple[list[float], int]:
    for _ in range(min(20, n)):  # warm-up
        session.get(url, timeout=30).raise_for_status()
    samples, size = [], 0
    next_at = time.perf_counter()
    for _ in range(n):
        next_at += period
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        response.raise_for_status()
        size = len(response.content)
        samples.append((time.perf_counter() - started) * 1000.0)
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return samples, size


def run_backend(args: argparse.Namespace, backend: str) -> list[tuple[str, list[float], int]]:
    import requests

    folder = tempfile.mkdtemp(prefix="as-bench-")
    database = os.path.join(folder, "bench.db")
    command = [
        sys.executable, __file__, "--serve", database, "--backend", backend,
        "--children", str(args.children), "--interval", str(args.interval),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip() if server.stdout else ""
        if not line.startswith("http://"):
            raise SystemExit(f"{backend}: the daemon side did not start")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        results = []
        for route, n in (("/metrics", args.requests), ("/status.json", args.requests // 4),
                         ("/readyz", args.requests), ("/healthz", args.requests)):  # fmt: skip
            samples, size = measure(session, line + route, n, args.period)
            results.append((route, samples, size))
        session.post(
            line + "/api/control", json={"command": "stop"}, headers={"Origin": line}, timeout=30
        ).raise_for_status()
        server.wait(timeout=60.0)
        return results
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", default=["threading"])
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=1.0, help="children's interval, s")
    parser.add_argument("--requests", type=int, default=400, help="samples per route")
    parser.add_argument("--period", type=float, default=0.05, help="s between requests")
    parser.add_argument("--serve", metavar="DATABASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.backend[0], args.children, args.interval, args.serve)
        return

    print(
        f"HTTP endpoint, {args.children} interval children ticking every {args.interval:g} s, "
        f"{REPOSITORIES} repositories × {ISSUES_PER_REPOSITORY} issues, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(f"{'backend':<10} {'route':<14} {'n':>5} {'KiB':>6} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")  # fmt: skip
    passed = True
    for backend in args.backend:
        for route, samples, size in run_backend(args, backend):
            p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
            mark = ""
            if route == "/metrics":
                mark = "  ok" if p99 < BAR_MS else "  OVER BAR"
                passed &= p99 < BAR_MS
            print(
                f"{backend:<10} {route:<14} {len(samples):>5} {size / 1024:>6.0f} "
                f"{p50:>8.2f} {p99:>8.2f} {max(samples):>8.2f}{mark}"
            )
    print(f"bar: /metrics p99 < {BAR_MS:g} ms: {'PASS' if passed else 'FAIL'}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
