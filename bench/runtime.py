"""How many interval children one process holds, and at what cost, beside APScheduler.

For each N this starts two subprocesses, one after the other so neither's
RSS or CPU leaks into the other's figures:

- ``runtime``: ``start_runtime`` with N interval workers doing trivial work;
- ``apscheduler``: the same N jobs on APScheduler 3's peer scheduler
  (``BackgroundScheduler`` for threading, ``GeventScheduler`` for gevent).

Each side waits until every job ran once (spawn time), then measures for
``--duration`` seconds: CPU (% of one core), tick lateness (how long after its
due time a tick started, read inside the work function and written into a
preallocated array), a control round trip sampled every 20 ms (run-now of one
extra worker; ``modify_job(next_run_time=now)`` for APScheduler) and garbage
collector pauses. RSS is read at the end of the window. After the window both
sides time one full ``gc.collect()``, and the runtime side ``status()`` (the
whole status document, O(N)), a restart (until the fresh actor ran) and the
graceful stop.

A runtime worker ticks at once when spawned, so its phases spread over the
spawn; APScheduler's first runs are spread evenly over one interval (its best
case: a burst of N due jobs is served one by one, seconds late at 20,000).

Usage::

    python bench/runtime.py --backend threading --n 100 1000 2000 --interval 1 --duration 30
    python bench/runtime.py --backend gevent --n 1000 10000 20000 50000 --interval 10 \\
        --duration 30 --gc freeze

``--gc`` applies to both sides: ``default`` leaves the collector alone,
``freeze`` calls ``gc.freeze()`` once every job is running (the long-lived
actors then leave the collector's generations), ``tuned`` also raises the
young-generation threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from time import perf_counter
from typing import Any

CONTROL_NAME = "worker:bench-control"
CONTROL_PERIOD = 0.02
"""Seconds between two control round trips during the window."""
STATUS_SAMPLES = 20
"""``status()`` calls timed after the window (their p99 is the slowest of them)."""


# -- one side, in its own process ----------------------------------------------


class Recorder:
    """Lateness samples in a preallocated array; counts first runs for spawn time.

    The work function is on the hot path of what is measured, so it does
    the least it can: one ``next()`` on a counter, one subtraction, one store.
    """

    def __init__(self, n: int, capacity: int) -> None:
        import itertools
        from array import array

        self.seen = bytearray(n)
        self.first_runs = itertools.count(1)
        self.started = 0
        self.window_start = float("inf")
        self.window_end = float("inf")
        self.samples = array("d", bytes(8 * capacity))
        self.capacity = capacity
        self.sequence = itertools.count()

    def record(self, lateness: float) -> None:
        index = next(self.sequence)
        if index < self.capacity:
            self.samples[index] = lateness

    def first_run(self, index: int) -> None:
        if not self.seen[index]:
            self.seen[index] = 1
            self.started = next(self.first_runs)

    def lateness(self) -> list[float]:
        count = min(next(self.sequence), self.capacity)
        return sorted(self.samples[:count])


class GcWatch:
    """Pause time of every collection (by generation) while enabled."""

    def __init__(self) -> None:
        self.enabled = False
        self.pauses: list[list[float]] = [[], [], []]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.enabled:
            return
        if phase == "start":
            self._started = perf_counter()
        else:
            self.pauses[info["generation"]].append(perf_counter() - self._started)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "p50": percentile(values, 0.50) * 1e3,
        "p99": percentile(values, 0.99) * 1e3,
        "max": (values[-1] if values else float("nan")) * 1e3,
        "count": len(values),
    }


def apply_gc_mode(mode: str) -> None:
    import gc

    if mode in ("freeze", "tuned"):
        gc.collect()
        gc.freeze()
    if mode == "tuned":
        gc.set_threshold(50_000, 20, 100)


def run_runtime_side(args: argparse.Namespace) -> dict[str, Any]:
    import functools
    import gc
    import threading
    import time

    import psutil

    from autosolve.runtime import SupervisorOptions, Unit, start_runtime

    process = psutil.Process()
    n, interval, duration = args.n[0], args.interval, args.duration
    recorder = Recorder(n, capacity=int(n * (duration / interval + 2) * 1.1) + 1000)
    watch = GcWatch()
    gc.callbacks.append(watch)
    monotonic = time.monotonic

    def work(index: int, ctx: Any) -> None:
        scheduled = ctx.scheduled_at
        if scheduled >= recorder.window_start:
            if scheduled < recorder.window_end:
                recorder.record(monotonic() - scheduled)
        else:
            recorder.first_run(index)

    control_ticks = threading.Event()  # a gevent event in a patched process

    def control_work(ctx: Any) -> None:
        control_ticks.set()

    gc.collect()
    rss_before = process.memory_info().rss  # the units count, as APScheduler's jobs do

    started = time.perf_counter()
    units = [Unit(f"worker:bench:{i}", functools.partial(work, i), interval) for i in range(n)]
    units.append(Unit(CONTROL_NAME, control_work, 3600.0))
    # The default shutdown_timeout (30 s): a stop must fit in it at any N.
    handle = start_runtime([], units, backend=args.backend, options=SupervisorOptions())
    while recorder.started < n:
        time.sleep(0.005)
    spawn_seconds = time.perf_counter() - started
    apply_gc_mode(args.gc)

    # -- the measured window ---------------------------------------------------
    control_samples: list[float] = []
    recorder.window_start = monotonic()
    window_end = recorder.window_end = recorder.window_start + duration
    watch.enabled = True
    cpu_before = process.cpu_times()
    wall_before = monotonic()
    while monotonic() < window_end:
        began = time.perf_counter()
        handle.run_now(CONTROL_NAME)
        control_samples.append(time.perf_counter() - began)
        time.sleep(CONTROL_PERIOD)
    cpu_after = process.cpu_times()
    wall = monotonic() - wall_before
    watch.enabled = False
    rss = process.memory_info().rss
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / wall

    # -- after the window: the costlier calls, outside the CPU figure -----------
    full_collection = timed_full_collection()
    status_samples = []
    for _ in range(STATUS_SAMPLES):
        began = time.perf_counter()
        status = handle.status()
        status_samples.append(time.perf_counter() - began)
    assert len(status["children"]) == n + 1
    restart_samples = []
    for _ in range(20):
        control_ticks.clear()
        began = time.perf_counter()
        handle.restart(CONTROL_NAME)
        control_ticks.wait(10.0)  # the fresh actor's first tick
        restart_samples.append(time.perf_counter() - began)
    began = time.perf_counter()
    result = handle.stop(timeout=600.0)
    stop_seconds = time.perf_counter() - began
    assert result is not None and result.ok, result
    abandoned = sum(c["state"] == "abandoned" for c in handle.status()["children"])
    lateness_count = handle.tick_lateness()[3]

    return {
        "side": "runtime",
        "n": n,
        "spawn_s": spawn_seconds,
        "rss_mib": rss / 2**20,
        "rss_per_job_kib": (rss - rss_before) / n / 1024,
        "cpu_pct": cpu * 100,
        "lateness": summary_ms(recorder.lateness()),
        "control": summary_ms(control_samples),
        "status": summary_ms(status_samples),
        "restart": summary_ms(restart_samples),
        "stop_s": stop_seconds,
        "abandoned": abandoned,
        "ticks_counted": lateness_count,
        "gc": gc_summary(watch, full_collection),
    }


def run_apscheduler_side(args: argparse.Namespace) -> dict[str, Any]:
    import gc
    import time
    from datetime import UTC, datetime, timedelta

    import psutil
    from apscheduler.triggers.interval import IntervalTrigger

    if args.backend == "gevent":
        from apscheduler.schedulers.gevent import GeventScheduler as Scheduler
    else:
        from apscheduler.schedulers.background import BackgroundScheduler as Scheduler

    process = psutil.Process()
    n, interval, duration = args.n[0], args.interval, args.duration
    recorder = Recorder(n, capacity=int(n * (duration / interval + 2) * 1.1) + 1000)
    watch = GcWatch()
    gc.callbacks.append(watch)
    wall_clock = time.time

    def work(index: int, first_due: float) -> None:
        # APScheduler does not tell a job when it was due: derive it from the
        # job's own grid (first_due + k × interval).
        now = wall_clock()
        due = first_due + round((now - first_due) / interval) * interval
        if due >= recorder.window_start:
            if due < recorder.window_end:
                recorder.record(now - due)
        else:
            recorder.first_run(index)

    def control_work() -> None:
        pass

    scheduler = Scheduler(
        job_defaults={"coalesce": True, "misfire_grace_time": int(max(1, interval)),
                      "max_instances": 1},
        timezone="UTC",
    )  # fmt: skip
    gc.collect()
    rss_before = process.memory_info().rss

    # Phases spread evenly over one interval, starting one interval from now:
    # APScheduler's best case (its main loop drains a burst of due jobs one by
    # one, so N jobs all due at once are served up to seconds late).
    started = time.perf_counter()
    base = datetime.now(UTC) + timedelta(seconds=interval)
    for index in range(n):
        first = base + timedelta(seconds=interval * index / n)
        scheduler.add_job(
            work,
            IntervalTrigger(seconds=interval, start_date=first, timezone="UTC"),
            args=(index, first.timestamp()),
            id=f"bench:{index}",
            next_run_time=first,
        )
    scheduler.add_job(control_work, "interval", seconds=3600, id="bench-control")
    scheduler.start()
    spawn_seconds = time.perf_counter() - started
    while recorder.started < n:
        time.sleep(0.005)
    apply_gc_mode(args.gc)

    control_samples: list[float] = []
    window_end = time.monotonic() + duration
    recorder.window_start = wall_clock()
    recorder.window_end = recorder.window_start + duration
    watch.enabled = True
    cpu_before = process.cpu_times()
    wall_before = time.monotonic()
    while time.monotonic() < window_end:
        began = time.perf_counter()
        scheduler.modify_job("bench-control", next_run_time=datetime.now(UTC))
        control_samples.append(time.perf_counter() - began)
        time.sleep(CONTROL_PERIOD)
    cpu_after = process.cpu_times()
    wall = time.monotonic() - wall_before
    watch.enabled = False
    rss = process.memory_info().rss
    cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / wall
    full_collection = timed_full_collection()
    began = time.perf_counter()
    scheduler.shutdown(wait=True)
    stop_seconds = time.perf_counter() - began
    return {
        "side": "apscheduler",
        "n": n,
        "spawn_s": spawn_seconds,
        "rss_mib": rss / 2**20,
        "rss_per_job_kib": (rss - rss_before) / n / 1024,
        "cpu_pct": cpu * 100,
        "lateness": summary_ms(recorder.lateness()),
        "control": summary_ms(control_samples),
        "stop_s": stop_seconds,
        "gc": gc_summary(watch, full_collection),
    }


def timed_full_collection() -> float:
    """Seconds one full collection takes now: the pause a process risks.

    A 30 s window may well hold no full collection (CPython runs one only
    after ten middle-generation ones, and only if enough objects piled up
    since the last), yet the first one after spawning N actors comes sooner
    or later; this is its price.
    """
    import gc

    began = perf_counter()
    gc.collect()
    return perf_counter() - began


def gc_summary(watch: GcWatch, full_collection: float) -> dict[str, Any]:
    every = [p for generation in watch.pauses for p in generation]
    return {
        "full_collection_ms": full_collection * 1e3,
        "collections": [len(g) for g in watch.pauses],
        "max_pause_ms": max(every, default=0.0) * 1e3,
        "gen2_max_ms": max(watch.pauses[2], default=0.0) * 1e3,
        "total_ms": sum(every) * 1e3,
    }


# -- the driver ------------------------------------------------------------------


def run_side_process(args: argparse.Namespace, side: str, n: int) -> dict[str, Any]:
    command = [
        sys.executable, os.path.abspath(__file__), "--side", side,
        "--backend", args.backend, "--n", str(n), "--interval", str(args.interval),
        "--duration", str(args.duration), "--gc", args.gc,
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"{side} side failed for N={n} (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "-"


def print_report(args: argparse.Namespace, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    peer = "GeventScheduler" if args.backend == "gevent" else "BackgroundScheduler"
    rows = [
        ("spawn (s)", ours["spawn_s"], theirs["spawn_s"], "{:.2f}"),
        ("RSS (MiB)", ours["rss_mib"], theirs["rss_mib"], "{:.1f}"),
        ("RSS per job (KiB)", ours["rss_per_job_kib"], theirs["rss_per_job_kib"], "{:.1f}"),
        ("CPU (% of a core)", ours["cpu_pct"], theirs["cpu_pct"], "{:.1f}"),
        ("lateness p50 (ms)", ours["lateness"]["p50"], theirs["lateness"]["p50"], "{:.2f}"),
        ("lateness p99 (ms)", ours["lateness"]["p99"], theirs["lateness"]["p99"], "{:.2f}"),
        ("lateness max (ms)", ours["lateness"]["max"], theirs["lateness"]["max"], "{:.1f}"),
        ("control p50 (ms)", ours["control"]["p50"], theirs["control"]["p50"], "{:.3f}"),
        ("control p99 (ms)", ours["control"]["p99"], theirs["control"]["p99"], "{:.3f}"),
        ("gc max pause (ms)", ours["gc"]["max_pause_ms"], theirs["gc"]["max_pause_ms"], "{:.1f}"),
        (
            "full gc.collect() (ms)",
            ours["gc"]["full_collection_ms"],
            theirs["gc"]["full_collection_ms"],
            "{:.1f}",
        ),
        ("stop (s)", ours["stop_s"], theirs["stop_s"], "{:.2f}"),
    ]
    print(
        f"\n== backend={args.backend} N={ours['n']} interval={args.interval:g}s "
        f"window={args.duration:g}s gc={args.gc}"
    )
    print(f"{'':22}{'autosolve':>12}{peer:>22}{'ratio':>8}")
    for label, mine, peers, fmt in rows:
        print(f"{label:22}{fmt.format(mine):>12}{fmt.format(peers):>22}{ratio(mine, peers):>8}")
    print(f"{'ticks measured':22}{ours['lateness']['count']:>12}{theirs['lateness']['count']:>22}")
    print(
        f"{'gc collections 0/1/2':22}{'/'.join(map(str, ours['gc']['collections'])):>12}"
        f"{'/'.join(map(str, theirs['gc']['collections'])):>22}"
    )
    print(
        f"runtime only: status() p50 {ours['status']['p50']:.1f} ms, "
        f"p99 {ours['status']['p99']:.1f} ms (all {ours['n'] + 1} records); "
        f"restart until the fresh actor ran p50 {ours['restart']['p50']:.2f} ms, "
        f"p99 {ours['restart']['p99']:.2f} ms; stop {ours['stop_s']:.2f} s with "
        f"{ours['abandoned']} abandoned; {ours['ticks_counted']} ticks in the lateness histogram"
    )
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument("--duration", type=float, default=30.0, help="measured window, seconds")
    parser.add_argument("--gc", choices=("default", "freeze", "tuned"), default="default")
    parser.add_argument("--json", metavar="PATH", help="also write every result to this file")
    parser.add_argument("--side", choices=("runtime", "apscheduler"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.side:
        if args.backend == "gevent":
            # As the CLI does: patch before anything imports socket, ssl, threading.
            from gevent import monkey

            monkey.patch_all()
        run = run_runtime_side if args.side == "runtime" else run_apscheduler_side
        print(json.dumps(run(args)))
        return
    results = []
    for n in args.n:
        ours = run_side_process(args, "runtime", n)
        theirs = run_side_process(args, "apscheduler", n)
        print_report(args, ours, theirs)
        results.append({"backend": args.backend, "interval": args.interval, "gc": args.gc,
                        "runtime": ours, "apscheduler": theirs})  # fmt: skip
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
