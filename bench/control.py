"""Control socket round trip, p50/p99, with N interval children running.

The daemon side runs in a subprocess: ``start_runtime`` with N trivial
interval workers (all due at the same moments, the harshest case) and a
``ControlServer`` on a temporary socket — the daemon without the pipeline,
so the figures are the socket's and the supervisor's, not GitHub's. This
process is the client, as ``ctl`` or ``repl --attach`` would be. Requests
are paced (``--period``) so the samples span many tick bursts.

Measured after a warm-up, while every child keeps ticking:

- ``run-now`` of one worker on a kept-open connection (``repl --attach``);
- ``run-now`` on a new connection each time: connect, request, close
  (``ctl`` without the Python start-up);
- ``pause`` + ``resume`` of one worker, each a round trip;
- ``status``: the whole status document, O(N) (fewer samples).

Usage::

    python bench/control.py --backend threading gevent --children 2000

Bar: p99 under 20 ms for control requests.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BAR_MS = 20.0
TARGET = "worker:bench-0000"


# -- the daemon side, in its own process ---------------------------------------


def serve(socket_path: str, backend: str, children: int, interval: float) -> None:
    if backend == "gevent":
        from gevent import monkey

        monkey.patch_all()
    from autosolve.control import ControlServer
    from autosolve.runtime import Unit, start_runtime

    def noop(ctx: object) -> None:
        pass

    units = [Unit(f"worker:bench-{i:04d}", noop, interval) for i in range(children)]
    handle = start_runtime([], units, backend=backend)
    deadline = time.monotonic() + 120
    while any(c["runs"] == 0 for c in handle.status()["children"]):  # every child started
        if time.monotonic() > deadline:
            raise SystemExit("children did not all run within 120 s")
        handle.wait(0.05)
    with ControlServer(handle, socket_path):
        print("ready", flush=True)
        handle.wait()  # until the client sends `stop`


# -- the client side -------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(n: int, period: float, request: Callable[[], object]) -> list[float]:
    for _ in range(min(50, n)):  # warm-up
        request()
    samples = []
    next_at = time.perf_counter()
    for _ in range(n):
        next_at += period
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000.0)
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    return samples


def run_backend(args: argparse.Namespace, backend: str) -> list[tuple[str, list[float], bool]]:
    from autosolve.control import ControlClient

    socket_dir = tempfile.mkdtemp(prefix="as-bench-", dir="/tmp")
    socket_path = os.path.join(socket_dir, "c.sock")
    command = [
        sys.executable, __file__, "--serve", socket_path, "--backend", backend,
        "--children", str(args.children), "--interval", str(args.interval),
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout is None or server.stdout.readline().strip() != "ready":
            raise SystemExit(f"{backend}: the daemon side did not start")
        kept = ControlClient(socket_path, timeout=10.0).connect()

        def fresh_run_now() -> None:
            with ControlClient(socket_path, timeout=10.0) as client:
                client.run_now(TARGET)

        def pause_resume() -> None:
            kept.pause(TARGET)
            kept.resume(TARGET)

        n, period = args.requests, args.period
        status_name = f"status ({args.children} children)"
        results = [
            ("run-now, kept connection", measure(n, period, lambda: kept.run_now(TARGET)), True),
            ("run-now, new connection", measure(n, period, fresh_run_now), True),
            ("pause + resume (2 round trips)", measure(n // 2, period, pause_resume), True),
            (status_name, measure(max(20, n // 10), period, kept.status), False),
        ]
        kept.stop(wait=True, timeout=30.0)
        server.wait(timeout=30.0)
        return results
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if os.path.exists(socket_path):
            os.unlink(socket_path)
        os.rmdir(socket_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", default=["threading"])
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=1.0, help="children's interval, s")
    parser.add_argument("--requests", type=int, default=2000, help="samples per control request")
    parser.add_argument("--period", type=float, default=0.005, help="s between requests")
    parser.add_argument("--serve", metavar="SOCKET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.backend[0], args.children, args.interval)
        return

    print(
        f"control round trip, {args.children} interval children ticking every "
        f"{args.interval:g} s, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print(f"{'backend':<10} {'request':<34} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    passed = True
    for backend in args.backend:
        for name, samples, barred in run_backend(args, backend):
            p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
            mark = "" if not barred else ("  ok" if p99 < BAR_MS else "  OVER BAR")
            passed &= not barred or p99 < BAR_MS
            print(
                f"{backend:<10} {name:<34} {len(samples):>5} "
                f"{p50:>8.2f} {p99:>8.2f} {max(samples):>8.2f}{mark}"
            )
    print(f"bar: p99 < {BAR_MS:g} ms for control requests: {'PASS' if passed else 'FAIL'}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
