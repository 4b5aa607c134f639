"""Discovery benchmark: a whole organisation discovered, then changed under the daemon.

The daemon (``App``, the real tasks, a real SQLite store) runs in this
process and watches one organisation (``github.organizations``); the fake
GitHub, in a child process (this script with ``--serve-github``), has N
repositories there, one issue each. Printed:

- how long until every repository of the organisation was validated and
  polled once (bar: within one discoverer interval of the start);
- after M repositories are added to the organisation and M others archived:
  how long until the next listing's changes ran (every new repository polled
  once, every archived one's units gone), and how many of the other
  repositories' units were restarted or spawned again (bar: none).

    python bench/discovery.py --repos 500 --change 50
    python bench/discovery.py --repos 500 --change 50 --backend gevent
"""

from __future__ import annotations

import argparse
import sys

if "--backend" in sys.argv and sys.argv[sys.argv.index("--backend") + 1] == "gevent":
    from gevent import monkey  # before anything imports socket or threading, as the CLI does

    monkey.patch_all()

import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autosolve.daemon.app import App
from autosolve.domain.workers import IssuePoller
from autosolve.runtime import RuntimeEvent
from bench.reload import wait
from tests.pipeline.daemon import settings_dict, to_toml

TOKEN = "bench"
ORGANIZATION = "bench"


def serve_github(repositories: int, change: int) -> None:
    """The fake GitHub (``--serve-github``); ``change`` on stdin adds and archives repositories."""
    from tests.fakes.github import FakeGitHub

    with FakeGitHub(token=TOKEN) as github:
        for name in names("run", repositories):
            github.add_repo(ORGANIZATION, name)
            github.add_issue(ORGANIZATION, name, title="one issue")
        print(github.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "change":
                for name in names("new", change):
                    github.add_repo(ORGANIZATION, name)
                    github.add_issue(ORGANIZATION, name, title="one issue")
                for name in names("run", change):
                    github.archive_repo(ORGANIZATION, name)
                print("changed", flush=True)


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(count)]


def full(names_: list[str]) -> list[str]:
    return [f"{ORGANIZATION}/{name}" for name in names_]


class Seen:
    """Runtime events, by kind and unit, and every poll (the poller's own view)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[float, RuntimeEvent]] = []
        self.polls: list[tuple[float, str]] = []
        poll = IssuePoller.poll

        def recorded(poller: IssuePoller, ctx: Any, tenant: Any) -> None:
            poll(poller, ctx, tenant)
            with self.lock:
                self.polls.append((time.monotonic(), tenant.full_name))

        IssuePoller.poll = recorded  # type: ignore[method-assign]

    def __call__(self, event: RuntimeEvent) -> None:
        with self.lock:
            self.events.append((time.monotonic(), event))

    def polled(self, repositories: list[str], since: float = 0.0) -> bool:
        with self.lock:
            done = {name for at, name in self.polls if at >= since}
        return set(repositories) <= done

    def count(self, kind: str, repositories: list[str], since: float) -> int:
        suffixes = tuple(f":{r}" for r in repositories)
        with self.lock:
            return sum(1 for at, e in self.events
                       if e.kind == kind and at >= since and e.name.endswith(suffixes))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=500, help="repositories of the organisation")
    parser.add_argument("--change", type=int, default=50, help="added, and archived, live")
    parser.add_argument("--discover-every", type=float, default=60.0,
                        help="intervals.repository_discoverer")  # fmt: skip
    parser.add_argument("--poll-interval", type=float, default=10.0)
    parser.add_argument("--backend", choices=("threading", "gevent"), default="threading")
    parser.add_argument("--serve-github", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_github:
        serve_github(args.repos, args.change)
        return
    github = subprocess.Popen(
        [sys.executable, __file__, "--serve-github", "--repos", str(args.repos),
         "--change", str(args.change)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    seen = Seen()
    try:
        assert github.stdout is not None and github.stdin is not None
        url = github.stdout.readline().strip()
        print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
        with tempfile.TemporaryDirectory() as tmp:
            data = settings_dict(Path(tmp), url, "http://127.0.0.1:9", [])
            data["github"]["organizations"] = [ORGANIZATION]
            data["github"]["token"] = TOKEN
            data["intervals"] = {"issue_poller": args.poll_interval, "outbox_relay": 5.0,
                                 "issue_explainer": 60.0,
                                 "repository_discoverer": args.discover_every}  # fmt: skip
            data["runtime"]["backend"] = args.backend
            data["http"] = {"listen": ""}
            data["log"] = {"level": "WARNING"}
            settings = Path(tmp) / "settings.toml"
            settings.write_text(to_toml(data))
            started = time.monotonic()
            app = App.start(settings, observers=[seen])
            running = full(names("run", args.repos))
            took = wait(lambda: seen.polled(running), 600, "every repository polled")
            print(f"{args.repos} repositories discovered, validated and polled in {took:.2f} s "
                  f"(discoverer interval {args.discover_every:g} s; {args.backend})")  # fmt: skip
            github.stdin.write("change\n")
            github.stdin.flush()
            github.stdout.readline()
            changed = time.monotonic()
            added = full(names("new", args.change))
            archived = full(names("run", args.change))
            others = running[args.change :]

            def applied() -> bool:
                gone = not any(n.endswith(tuple(archived)) for n in app.plan.names)
                return gone and seen.polled(added, since=changed)

            took = wait(applied, 3 * args.discover_every + 60, "the changes applied")
            print(
                f"{args.change} added and {args.change} archived: applied {took:.2f} s after "
                f"the change (the next listing is due within {args.discover_every:g} s)"
            )
            restarted = seen.count("restarted", others, changed)
            spawned = seen.count("spawned", others, changed)
            print(
                f"  the other {len(others)} repositories' units restarted {restarted}, "
                f"spawned again {spawned}"
            )
            failed = [c for c in app.status()["children"] if c["state"] in ("failed", "backoff")]
            print(f"  children failed or in backoff {len(failed)}")
            print(f"load average after: {os.getloadavg()[0]:.2f}")
            result = app.stop(timeout=60)
            print(f"  stopped: {result}  (whole run {time.monotonic() - started:.0f} s)")
    finally:
        assert github.stdin is not None
        github.stdin.close()
        github.wait(30)


if __name__ == "__main__":
    main()
