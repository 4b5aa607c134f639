"""Reload benchmark: add many repositories to a running daemon, measure who notices.

The daemon (``App``, the real tasks, a real SQLite store) runs in this process
with N repositories; the fake GitHub runs in a child process (this script with
``--serve-github``), so the two do not share a GIL. Once every poller ticks
steadily, the settings file is rewritten with M more repositories and
``reload`` is asked for (as ``ctl reload`` does, through the command table).
Printed:

- how long the ``reload`` answer took (bar: < 2 s on threads);
- the tick lateness (tick start − due time) of the N *unrelated* pollers, in a
  window before the reload and in the window from the reload until every new
  poller has polled once, or one poll interval if that is longer (bar: p99 <
  50 ms during the reload);
- how long until every new repository was validated and polled.

    python bench/reload.py --repos 1000 --add 1000
    python bench/reload.py --repos 1000 --add 1000 --backend gevent
"""

from __future__ import annotations

import argparse
import gc
import sys

if "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "gevent":
    from gevent import monkey  # before anything imports socket or threading, as the CLI does

    monkey.patch_all()

import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.cli.start import QuietCollector
from autosolve.daemon.app import App
from autosolve.domain.workers import IssuePoller
from tests.pipeline.daemon import settings_dict, to_toml

TOKEN = "bench"


def serve_github(repositories: int, added: int) -> None:
    """The fake GitHub (``--serve-github``): every repository, one issue each; prints its URL."""
    from tests.fakes.github import FakeGitHub

    with FakeGitHub(token=TOKEN) as github:
        for repository in names(repositories, added):
            github.add_repo(*repository.split("/"))
            github.add_issue(*repository.split("/"), title="one issue")
        print(github.url, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin


def names(repositories: int, added: int) -> list[str]:
    return [f"bench/run{n}" for n in range(repositories)] + [f"bench/new{n}" for n in range(added)]


class Lateness:
    """Every poll's lateness and start time, per repository (the poller's own view)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.polls: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
        """Per repository: (poll start, the tick's lateness, the poll's start lateness)."""

    def install(self) -> None:
        poll = IssuePoller.poll
        polls, lock = self.polls, self.lock

        def measured(poller: IssuePoller, ctx: Any, tenant: Any) -> None:
            now = ctx.clock.monotonic()
            tick = ctx._record.running_since  # when the runtime started the tick
            with lock:
                polls[tenant.full_name].append(
                    (now, tick - ctx.scheduled_at, now - ctx.scheduled_at)
                )
            poll(poller, ctx, tenant)

        IssuePoller.poll = measured  # type: ignore[method-assign]

    def window(
        self, repositories: list[str], start: float, end: float, *, poll: bool = False
    ) -> list[float]:
        """Lateness of ticks (or, with ``poll``, of the polls themselves) begun in the window."""
        with self.lock:
            return [
                late[poll]
                for repository in repositories
                for at, *late in self.polls[repository]
                if start <= at <= end
            ]

    def polled(self, repositories: list[str], times: int = 1) -> bool:
        with self.lock:
            return all(len(self.polls[r]) >= times for r in repositories)


class GcPauses:
    """Garbage-collector passes (start time, seconds, generation): they stop every thread."""

    def __init__(self) -> None:
        self.passes: list[tuple[float, float, int]] = []
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        else:
            took = time.monotonic() - self._started
            self.passes.append((self._started, took, info["generation"]))

    def window(self, start: float, end: float) -> str:
        passes = [(took, gen) for at, took, gen in self.passes if start <= at <= end]
        full = [took for took, gen in passes if gen == 2]
        longest = max((took for took, _ in passes), default=0.0)
        return (f"{len(passes)} passes, {len(full)} full, longest {longest * 1000:.1f} ms, "
                f"total {sum(t for t, _ in passes) * 1000:.0f} ms")  # fmt: skip


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe(values: list[float]) -> str:
    if not values:
        return "no ticks"
    ms = [v * 1000 for v in values]
    return (
        f"n {len(ms):5d}  p50 {percentile(ms, 0.5):7.2f} ms  p99 {percentile(ms, 0.99):7.2f} ms"
        f"  max {max(ms):7.2f} ms"
    )


def wait(predicate: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    pause = threading.Event()
    while not predicate():
        if time.monotonic() - started > timeout:
            sys.exit(f"timed out waiting for {what}")
        pause.wait(0.05)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=1000, help="repositories running")
    parser.add_argument("--add", type=int, default=1000, help="repositories the reload adds")
    parser.add_argument("--poll-interval", type=float, default=10.0, help="the default's")
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--gc", choices=("daemon", "default"), default="daemon",
                        help="daemon: keep full collections out of the reload, as `start` "
                             "does; default: leave the collector alone")  # fmt: skip
    parser.add_argument("--serve-github", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_github:
        serve_github(args.repos, args.add)
        return

    everything = names(args.repos, args.add)
    running, added = everything[: args.repos], everything[args.repos :]
    github = subprocess.Popen(
        [sys.executable, __file__, "--serve-github", "--repos", str(args.repos),
         "--add", str(args.add)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    lateness = Lateness()
    lateness.install()
    pauses = GcPauses()
    try:
        assert github.stdout is not None
        url = github.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            data = settings_dict(Path(tmp), url, "http://127.0.0.1:9", running)
            data["github"]["token"] = TOKEN
            data["intervals"] = {"issue_poller": args.poll_interval, "outbox_relay": 5.0,
                                 "issue_explainer": 60.0}  # fmt: skip
            data["runtime"]["backend"] = args.backend
            data["http"] = {"listen": ""}
            data["log"] = {"level": "WARNING"}
            settings = Path(tmp) / "settings.toml"
            settings.write_text(to_toml(data))
            started = time.monotonic()
            app = App.start(settings)
            took = wait(lambda: lateness.polled(running, 3), 600, "steady polling")
            print(f"{args.repos} repositories running, polled 3 times in {took:.1f} s (start "
                  f"included; {args.backend}, poll interval {args.poll_interval} s)")  # fmt: skip
            if args.gc == "daemon":
                QuietCollector(app)
            before = time.monotonic()
            time.sleep(2 * args.poll_interval)  # a calm window to compare with

            data["github"]["repositories"] = running + added
            settings.write_text(to_toml(data))
            reload_started = time.monotonic()
            answer = app.answer({"command": "reload"})
            answered = time.monotonic() - reload_started
            assert answer["ok"], answer
            print(f"reload adding {args.add} repositories ({3 * args.add} children):")
            print(f"  answer                        {answered:.3f} s"
                  f"  (added {len(answer['added'])}, unchanged {answer['unchanged']})")  # fmt: skip
            took = wait(lambda: lateness.polled(added, 1), 600, "every new repository polled")
            print(f"  every new repository polled   {took + answered:.2f} s after the reload")
            # At least one interval: every unrelated poller ticks once in the window.
            window_end = max(time.monotonic(), reload_started + args.poll_interval)
            time.sleep(max(0.0, window_end - time.monotonic()) + 0.5)
            calm = lateness.window(running, before, reload_started)
            during = lateness.window(running, reload_started, window_end)
            polls = lateness.window(running, reload_started, window_end, poll=True)
            print(f"  unrelated pollers' ticks, calm    {describe(calm)}")
            print(f"  unrelated pollers' ticks, reload  {describe(during)}")
            print(f"  their polls' start, reload        {describe(polls)}")
            print(f"  garbage collector, calm     {pauses.window(before, reload_started)}")
            print(f"  garbage collector, reload   {pauses.window(reload_started, window_end)}")
            failed = [c for c in app.status()["children"] if c["state"] in ("failed", "backoff")]
            print(f"  children failed or in backoff {len(failed)}")
            result = app.stop(timeout=60)
            print(f"  stopped: {result}  (whole run {time.monotonic() - started:.0f} s)")
    finally:
        assert github.stdin is not None
        github.stdin.close()
        github.wait(30)


if __name__ == "__main__":
    main()
