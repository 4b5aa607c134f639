"""How many interval children one process holds, and at what cost, beside two yardsticks.

For each N this starts three subprocesses, one after the other so none's RSS
or CPU leaks into another's figures:

- ``runtime``: ``start_runtime`` with N interval workers doing trivial work;
- ``apscheduler``: the same N jobs on APScheduler 3's peer scheduler
  (``BackgroundScheduler`` for threading, ``GeventScheduler`` for gevent);
- ``floor``: bare pykka, the least a pykka design can do: N plain actors
  (``pykka.ThreadingActor``, or the runtime's gevent actor, as pykka has none)
  and one loop with a heap that tells each actor its tick. No supervision, no
  status, no deadlines: what the runtime's work costs above pykka itself.

Each side waits until every job ran once (spawn time), then measures a
window of ``--duration`` seconds (at least an interval: every child then
ticks in it) in slices of 2 s, quiet and busy in turn. The *quiet* slices
have nothing but ticks: CPU (% of one core) and CPU per tick (µs). In the
*busy* slices control round trips are sampled every 20 ms (run-now of one extra worker;
``modify_job(next_run_time=now)`` for APScheduler; an ask for the floor) and,
runtime only, every 100 ms a status page of 100 children of each kind (at a
random offset; ``state=idle``; ``state=running``; a name pattern) and the
counts per state. Over the whole window: tick lateness (how long after its
due time a tick started, read inside the work function into a preallocated
array) and every garbage collector pause, by generation. RSS is read at the
end of the window. After it: one full ``gc.collect()``, and runtime only
``status()`` (the whole document, O(N)), ``/readyz``'s judgement (the
children not idle: ``status_in``), a restart (until the fresh actor ran)
and the graceful stop.

The yardsticks run at ``min(N, --peer-limit)`` jobs: neither holds a million
(APScheduler's job store inserts in a sorted list, O(N) per job; the floor
keeps a greenlet and its stack per actor, ~10 KiB each); their figures per
job still compare.

A runtime worker ticks at once when spawned, so its phases spread over the
spawn; the floor's too; APScheduler's first runs are spread evenly over one
interval (its best case: a burst of N due jobs is served one by one).

Usage (the bars of issue #22 are printed with each result)::

    python bench/runtime.py --backend threading --n 2000 --interval 1 --duration 30
    python bench/runtime.py --backend gevent --n 100000 --interval 10 --duration 30
    python bench/runtime.py --backend gevent --n 1000000 --interval 60 --duration 120

``--gc`` applies to every side: ``default`` leaves the collector alone (the
runtime freezes its children's objects itself, ``SupervisorOptions
.freeze_collector``), ``freeze`` calls ``gc.freeze()`` once every job is
running, ``tuned`` also raises the young-generation threshold.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from time import perf_counter
from typing import Any

CONTROL_NAME = "worker:bench-control"
CONTROL_PERIOD = 0.02
"""Seconds between two control round trips in the busy slices."""
PAGE_PERIOD = 0.1
"""Seconds between two rounds of status pages and counts in the busy slices."""
PAGE_SIZE = 100
STATUS_SAMPLES = 20
"""``status()`` calls timed after the window, at most (the whole document: fewer at large N)."""
PATTERN = "worker:bench:7*"
"""The name pattern of the pattern pages: a ninth of the children match, spread out."""


# -- measuring: shared by the sides ------------------------------------------------


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

    @classmethod
    def for_window(cls, n: int, interval: float, duration: float) -> Recorder:
        """A recorder with room for every tick of ``n`` jobs in a window of ``duration``."""
        return cls(n, capacity=int(n * (duration / interval + 2) * 1.1) + 1000)

    def record(self, lateness: float) -> None:
        index = next(self.sequence)
        if index < self.capacity:
            self.samples[index] = lateness

    def first_run(self, index: int) -> None:
        if not self.seen[index]:
            self.seen[index] = 1
            self.started = next(self.first_runs)

    def wait_every_first_run(self) -> None:
        """Return once every job ran once (the end of the spawn)."""
        import time

        while self.started < len(self.seen):
            time.sleep(0.005)

    def count(self) -> int:
        """Ticks recorded so far (read without advancing the counter)."""
        recorded: int = self.sequence.__reduce__()[1][0]
        return recorded

    def lateness(self) -> list[float]:
        count = min(next(self.sequence), self.capacity)
        return sorted(self.samples[:count])

    def work_for(self, monotonic: Callable[[], float]) -> Callable[[int, float], None]:
        """The work of job ``index`` whose tick was due at ``scheduled`` (monotonic)."""

        def work(index: int, scheduled: float) -> None:
            if scheduled >= self.window_start:
                if scheduled < self.window_end:
                    self.record(monotonic() - scheduled)
            else:
                self.first_run(index)

        return work


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


def timed_full_collection() -> float:
    """Seconds one full collection takes now: the pause a process risks.

    A window may well hold no full collection (CPython runs one only after
    ten middle-generation ones, and only if enough objects piled up since
    the last), yet one comes sooner or later; this is its price.
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


Sampler = tuple[float, Callable[[], object]]
"""``(period_seconds, call)``: a call timed once per period in the busy slices."""

SLICE = 2.0
"""Seconds of one slice of the window; quiet and busy slices alternate, so both see
every phase of the children's ticks (at a million children they cluster)."""


class Window:
    """The measured window of one side: quiet slices and busy slices, in turn.

    Quiet slices have nothing but ticks (CPU, CPU per tick); in busy ones the
    samplers run (control round trips, status pages, counts).

    Args:
        recorder: the side's lateness recorder (its window is set here).
        duration: the whole window, seconds.
    """

    def __init__(self, recorder: Recorder, duration: float) -> None:
        import psutil

        self._process = psutil.Process()
        self.recorder = recorder
        self._duration = duration
        self.watch = GcWatch()

    def run(self, samplers: dict[str, Sampler]) -> dict[str, Any]:
        """Measure; returns CPU, CPU per tick, samples per sampler, RSS."""
        import gc
        import time

        gc.callbacks.append(self.watch)
        recorder = self.recorder
        recorder.window_start = time.monotonic()
        recorder.window_end = end = recorder.window_start + self._duration
        samples: dict[str, list[float]] = {name: [] for name in samplers}
        quiet = [0.0, 0.0, 0]  # cpu, wall, ticks
        busy = [0.0, 0.0, 0]
        self.watch.enabled = True
        for index in itertools.count():
            left = end - time.monotonic()
            if left <= 0:
                break
            seconds = min(SLICE, left)
            if index % 2:
                self._slice(busy, functools.partial(self._sample, seconds, samplers, samples))
            else:
                self._slice(quiet, functools.partial(time.sleep, seconds))
        self.watch.enabled = False
        return {
            "cpu_pct": quiet[0] / quiet[1] * 100,
            "cpu_busy_pct": busy[0] / busy[1] * 100 if busy[1] else float("nan"),
            "us_per_tick": quiet[0] / max(quiet[2], 1) * 1e6,
            "ticks_quiet": quiet[2],
            "samples": {name: summary_ms(values) for name, values in samples.items()},
            "rss": self._process.memory_info().rss,
        }

    def _slice(self, totals: list[Any], measured: Callable[[], None]) -> None:
        """Add the CPU, wall time and ticks of ``measured()`` to ``totals``."""
        import time

        ticks, cpu, wall = self.recorder.count(), self._cpu(), time.monotonic()
        measured()
        totals[0] += self._cpu() - cpu
        totals[1] += time.monotonic() - wall
        totals[2] += self.recorder.count() - ticks

    @staticmethod
    def _sample(seconds: float, samplers: dict[str, Sampler], samples: dict[str, list]) -> None:
        import time

        next_at = dict.fromkeys(samplers, time.monotonic())
        end = time.monotonic() + seconds
        while (now := time.monotonic()) < end:
            for name, (period, call) in samplers.items():
                if next_at[name] <= now:
                    began = perf_counter()
                    call()
                    samples[name].append(perf_counter() - began)
                    next_at[name] = now + period
            time.sleep(max(0.0, min(min(next_at.values()), end) - time.monotonic()))

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)


def side_result(
    side: str, n: int, spawn_s: float, rss_before: int, window: Window, measured: dict[str, Any]
) -> dict[str, Any]:
    """The figures every side reports (``measured`` from :meth:`Window.run`)."""
    rss = measured.pop("rss")
    full_collection = timed_full_collection()
    return {
        "side": side,
        "n": n,
        "spawn_s": spawn_s,
        "rss_mib": rss / 2**20,
        "rss_per_job_kib": (rss - rss_before) / n / 1024,
        **measured,
        "lateness": summary_ms(window.recorder.lateness()),
        "gc": gc_summary(window.watch, full_collection),
    }


# -- the sides, each in its own process ---------------------------------------------


def run_runtime_side(args: argparse.Namespace) -> dict[str, Any]:
    import gc
    import random
    import threading
    import time

    import psutil

    from autosolve.http.readiness import JUDGED_STATES, ReadinessRule
    from autosolve.runtime import SupervisorOptions, Unit, start_runtime

    n, interval, duration = args.n[0], args.interval, args.duration
    recorder = Recorder.for_window(n, interval, duration)
    work = recorder.work_for(time.monotonic)

    def unit_work(index: int, ctx: Any) -> None:
        work(index, ctx.scheduled_at)

    control_ticks = threading.Event()  # a gevent event in a patched process

    gc.collect()
    rss_before = psutil.Process().memory_info().rss  # the units count, as APScheduler's jobs do
    started = time.perf_counter()
    units = [Unit(f"worker:bench:{i}", functools.partial(unit_work, i), interval) for i in range(n)]
    units.append(Unit(CONTROL_NAME, lambda ctx: control_ticks.set(), 3600.0))
    # The default shutdown_timeout (30 s): a stop must fit in it at any N.
    handle = start_runtime([], units, backend=args.backend, options=SupervisorOptions())
    recorder.wait_every_first_run()
    spawn_seconds = time.perf_counter() - started
    apply_gc_mode(args.gc)

    rng = random.Random(22)
    samplers: dict[str, Sampler] = {
        "control": (CONTROL_PERIOD, lambda: handle.run_now(CONTROL_NAME)),
        "page": (PAGE_PERIOD, lambda: handle.status(offset=rng.randrange(n), limit=PAGE_SIZE)),
        "idle page": (PAGE_PERIOD, lambda: handle.status(state="idle", limit=PAGE_SIZE)),
        "running page": (PAGE_PERIOD, lambda: handle.status(state="running", limit=PAGE_SIZE)),
        "pattern page": (PAGE_PERIOD, lambda: handle.status(pattern=PATTERN, limit=PAGE_SIZE)),
        "counts": (PAGE_PERIOD, handle.counts),
    }
    window = Window(recorder, duration)
    result = side_result("runtime", n, spawn_seconds, rss_before, window, window.run(samplers))

    # -- after the window: the costlier calls, outside the CPU figures -----------
    status_samples = []
    for _ in range(STATUS_SAMPLES if n <= 100_000 else 3):
        began = time.perf_counter()
        status = handle.status(timeout=600.0)
        status_samples.append(time.perf_counter() - began)
    assert len(status["children"]) == n + 1
    del status
    rule, readiness_samples = ReadinessRule(), []
    for _ in range(STATUS_SAMPLES):  # what /readyz judges: the children not idle
        began = time.perf_counter()
        verdict = rule.judge(handle.status_in(JUDGED_STATES, timeout=600.0))
        readiness_samples.append(time.perf_counter() - began)
    assert verdict.ready, verdict.reasons
    restart_samples = []
    for _ in range(20):
        control_ticks.clear()
        began = time.perf_counter()
        handle.restart(CONTROL_NAME)
        control_ticks.wait(10.0)  # the fresh actor's first tick
        restart_samples.append(time.perf_counter() - began)
    began = time.perf_counter()
    ended = handle.stop(timeout=600.0)
    stop_seconds = time.perf_counter() - began
    assert ended is not None and ended.ok, ended
    counts = handle.counts()["counts"]
    return {
        **result,
        "status": summary_ms(status_samples),
        "readiness": summary_ms(readiness_samples),
        "restart": summary_ms(restart_samples),
        "stop_s": stop_seconds,
        "abandoned": counts["abandoned"],
        "ticks_counted": handle.tick_lateness()[3],
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

    n, interval, duration = min(args.n[0], args.peer_limit), args.interval, args.duration
    recorder = Recorder.for_window(n, interval, duration)
    grid_offset = time.time() - time.monotonic()
    work = recorder.work_for(time.monotonic)

    def job(index: int, first_due: float) -> None:
        # APScheduler does not tell a job when it was due: derive it from the
        # job's own grid (first_due + k × interval), on the monotonic clock.
        now = time.monotonic()
        due = first_due + round((now - first_due) / interval) * interval
        work(index, due)

    scheduler = Scheduler(
        job_defaults={"coalesce": True, "misfire_grace_time": int(max(1, interval)),
                      "max_instances": 1},
        timezone="UTC",
    )  # fmt: skip
    gc.collect()
    rss_before = psutil.Process().memory_info().rss

    # Phases spread evenly over one interval, starting one interval from now:
    # APScheduler's best case (its main loop drains a burst of due jobs one by
    # one, so N jobs all due at once are served up to seconds late).
    started = time.perf_counter()
    base = datetime.now(UTC) + timedelta(seconds=interval)
    for index in range(n):
        first = base + timedelta(seconds=interval * index / n)
        scheduler.add_job(
            job,
            IntervalTrigger(seconds=interval, start_date=first, timezone="UTC"),
            args=(index, first.timestamp() - grid_offset),
            id=f"bench:{index}",
            next_run_time=first,
        )
    scheduler.add_job(lambda: None, "interval", seconds=3600, id="bench-control")
    scheduler.start()
    spawn_seconds = time.perf_counter() - started
    recorder.wait_every_first_run()
    apply_gc_mode(args.gc)

    def control() -> None:
        scheduler.modify_job("bench-control", next_run_time=datetime.now(UTC))

    window = Window(recorder, duration)
    measured = window.run({"control": (CONTROL_PERIOD, control)})
    result = side_result("apscheduler", n, spawn_seconds, rss_before, window, measured)
    began = time.perf_counter()
    scheduler.shutdown(wait=True)
    return {**result, "stop_s": time.perf_counter() - began}


def run_floor_side(args: argparse.Namespace) -> dict[str, Any]:
    import gc
    import heapq
    import threading
    import time

    import psutil
    import pykka

    from autosolve.runtime import get_backend

    n, interval, duration = min(args.n[0], args.peer_limit), args.interval, args.duration
    recorder = Recorder.for_window(n, interval, duration)
    work = recorder.work_for(time.monotonic)
    base: type[pykka.Actor] = (
        get_backend("gevent").actor_class if args.backend == "gevent" else pykka.ThreadingActor
    )

    class Ticker(base):  # type: ignore[valid-type, misc]
        use_daemon_thread = True

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

        def on_receive(self, message: Any) -> None:
            if isinstance(message, float):
                work(self.index, message)

    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    refs, heap = [], []
    for index in range(n):  # every actor ticks at once, as the runtime's: phases spread
        refs.append(Ticker.start(index))
        heap.append((time.monotonic(), index))

    def timer_loop() -> None:
        while True:
            now = time.monotonic()
            while heap[0][0] <= now:
                due, index = heapq.heappop(heap)
                refs[index].tell(due)
                heapq.heappush(heap, (due + interval, index))
            time.sleep(heap[0][0] - now)

    threading.Thread(target=timer_loop, daemon=True).start()  # a greenlet once patched
    recorder.wait_every_first_run()
    spawn_seconds = time.perf_counter() - started
    apply_gc_mode(args.gc)
    window = Window(recorder, duration)
    measured = window.run({"control": (CONTROL_PERIOD, lambda: refs[0].ask("ping"))})
    return side_result("floor", n, spawn_seconds, rss_before, window, measured)


SIDES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "runtime": run_runtime_side,
    "apscheduler": run_apscheduler_side,
    "floor": run_floor_side,
}


# -- the driver ------------------------------------------------------------------------


def run_side_process(args: argparse.Namespace, side: str, n: int) -> dict[str, Any]:
    command = [
        sys.executable, os.path.abspath(__file__), "--side", side,
        "--backend", args.backend, "--n", str(n), "--interval", str(args.interval),
        "--duration", str(args.duration), "--gc", args.gc, "--peer-limit", str(args.peer_limit),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"{side} side failed for N={n} (exit {completed.returncode})")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}" if theirs else "-"


def print_report(args: argparse.Namespace, sides: dict[str, dict[str, Any]]) -> None:
    ours, peer, floor = sides["runtime"], sides["apscheduler"], sides["floor"]
    peer_name = "GeventScheduler" if args.backend == "gevent" else "BackgroundScheduler"
    rows: list[tuple[str, Callable[[dict[str, Any]], float], str]] = [
        ("jobs", lambda s: s["n"], "{:.0f}"),
        ("spawn (s)", lambda s: s["spawn_s"], "{:.2f}"),
        ("RSS (MiB)", lambda s: s["rss_mib"], "{:.1f}"),
        ("RSS per job (KiB)", lambda s: s["rss_per_job_kib"], "{:.2f}"),
        ("CPU quiet (% core)", lambda s: s["cpu_pct"], "{:.1f}"),
        ("CPU per tick (us)", lambda s: s["us_per_tick"], "{:.2f}"),
        ("CPU busy slices (%)", lambda s: s["cpu_busy_pct"], "{:.1f}"),
        ("lateness p50 (ms)", lambda s: s["lateness"]["p50"], "{:.2f}"),
        ("lateness p99 (ms)", lambda s: s["lateness"]["p99"], "{:.2f}"),
        ("lateness max (ms)", lambda s: s["lateness"]["max"], "{:.1f}"),
        ("control p50 (ms)", lambda s: s["samples"]["control"]["p50"], "{:.3f}"),
        ("control p99 (ms)", lambda s: s["samples"]["control"]["p99"], "{:.3f}"),
        ("gc max pause (ms)", lambda s: s["gc"]["max_pause_ms"], "{:.1f}"),
        ("gc gen2 max (ms)", lambda s: s["gc"]["gen2_max_ms"], "{:.1f}"),
        ("full gc.collect() (ms)", lambda s: s["gc"]["full_collection_ms"], "{:.1f}"),
    ]
    print(
        f"\n== backend={args.backend} N={ours['n']} interval={args.interval:g}s "
        f"window={args.duration:g}s gc={args.gc}"
    )
    print(f"{'':24}{'autosolve':>12}{peer_name:>20}{'ratio':>7}{'pykka floor':>13}{'ratio':>7}")
    for label, get, fmt in rows:
        mine, theirs, bare = get(ours), get(peer), get(floor)
        print(
            f"{label:24}{fmt.format(mine):>12}{fmt.format(theirs):>20}{ratio(mine, theirs):>7}"
            f"{fmt.format(bare):>13}{ratio(mine, bare):>7}"
        )
    collections = ["/".join(map(str, s["gc"]["collections"])) for s in (ours, peer, floor)]
    print(f"{'gc collections 0/1/2':24}" + "".join(f"{c:>16}" for c in collections))
    pages = ", ".join(
        f"{name} p50/p99 {ours['samples'][name]['p50']:.2f}/{ours['samples'][name]['p99']:.2f} ms"
        for name in ("page", "idle page", "running page", "pattern page", "counts")
    )
    print(f"runtime, busy slices: {pages}")
    print(
        f"runtime, after the window: status() p50 {ours['status']['p50']:.1f} ms, "
        f"p99 {ours['status']['p99']:.1f} ms (all {ours['n'] + 1} records); /readyz's "
        f"judgement p50 {ours['readiness']['p50']:.2f} ms, p99 {ours['readiness']['p99']:.2f} "
        f"ms; restart until the "
        f"fresh actor ran p50 {ours['restart']['p50']:.2f} ms, p99 {ours['restart']['p99']:.2f} "
        f"ms; stop {ours['stop_s']:.2f} s with {ours['abandoned']} abandoned; "
        f"{ours['ticks_counted']} ticks in the lateness histogram; {peer_name} shutdown "
        f"{peer['stop_s']:.2f} s"
    )
    print_bars(args, ours, floor)
    sys.stdout.flush()


def print_bars(args: argparse.Namespace, ours: dict[str, Any], floor: dict[str, Any]) -> None:
    """Issue #22's bars for this backend, each with its figure (they are set for the
    configuration named in brackets: the coordinator reads the run made for it)."""
    print("bars:")
    if args.backend == "threading":
        ratio_to_floor = ours["cpu_pct"] / floor["cpu_pct"] if floor["cpu_pct"] else float("inf")
        print_bar("CPU within 1.1 x the pykka floor [2,000 @ 1 s]", ratio_to_floor, 1.1, "x")
        return
    page_p99 = max(ours["samples"][k]["p99"] for k in ("page", "idle page", "running page"))
    for label, figure, limit, unit in [
        ("memory per child <= 4 KiB [1,000,000 @ 60 s]", ours["rss_per_job_kib"], 4.0, "KiB"),
        ("lateness p99 < 10 ms [1,000,000 @ 60 s]", ours["lateness"]["p99"], 10.0, "ms"),
        ("CPU <= 40 % of a core [1,000,000 @ 60 s]", ours["cpu_pct"], 40.0, "%"),
        ("stop < 10 s [1,000,000 @ 60 s]", ours["stop_s"], 10.0, "s"),
        ("status page of 100 p99 < 20 ms [1,000,000 @ 60 s]", page_p99, 20.0, "ms"),
        ("state counts p99 < 5 ms [1,000,000 @ 60 s]", ours["samples"]["counts"]["p99"], 5.0, "ms"),
        ("no full collection > 50 ms in the window", ours["gc"]["gen2_max_ms"], 50.0, "ms"),
        ("CPU per tick <= 8 us [100,000 @ 10 s]", ours["us_per_tick"], 8.0, "us"),
    ]:
        print_bar(label, figure, limit, unit)


def print_bar(label: str, figure: float, limit: float, unit: str) -> None:
    verdict = "met" if figure <= limit else "MISSED"
    print(f"  {label:56} {figure:10.2f} {unit:3} {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 2000])
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument("--duration", type=float, default=30.0, help="measured window, seconds")
    parser.add_argument("--gc", choices=("default", "freeze", "tuned"), default="default")
    parser.add_argument(
        "--peer-limit", type=int, default=100_000,
        help="jobs at most for APScheduler and the pykka floor (default 100,000)",
    )  # fmt: skip
    parser.add_argument("--json", metavar="PATH", help="also write every result to this file")
    parser.add_argument("--side", choices=tuple(SIDES), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.side:
        if args.backend == "gevent":
            # As the CLI does: patch before anything imports socket, ssl, threading.
            from gevent import monkey

            monkey.patch_all()
        print(json.dumps(SIDES[args.side](args)))
        return
    results = []
    for n in args.n:
        sides = {side: run_side_process(args, side, n) for side in SIDES}
        print_report(args, sides)
        results.append({"backend": args.backend, "interval": args.interval, "gc": args.gc, **sides})
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
