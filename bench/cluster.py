"""Cluster benchmark: several daemons on one PostgreSQL against one daemon on SQLite.

Real ``autosolve-supervisor start`` subprocesses; the fake GitHub and Ollama,
and a PostgreSQL 16 (``pgserver``), run beside them. Three measures (issue #12):

1. initial sync: ``--repos`` × ``--issues`` issues by ``--nodes`` daemons on
   PostgreSQL, then by one daemon on SQLite, in the same run (ratio printed);
2. failover: ``--rounds`` times, ``kill -9`` the node holding a repository and
   time until another node lists it (p50 / max; the bar is 2 × TTL);
3. explainer throughput with a model answering in ``--model-seconds``: one
   daemon, then ``--nodes`` daemons, on PostgreSQL, from the first comment to
   the last (ratio printed; bar ≥ 2.5).

    python bench/cluster.py --nodes 3 --repos 300 --issues 100
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from autosolve.domain.workers import MARKER
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import DaemonProcess, settings_dict, to_toml
from tests.postgres.harness import listing_repository
from tests.postgres.server import PostgresServer

PAUSE = threading.Event()


def sqlite_count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(db, timeout=10)
    try:
        return int(connection.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


class Stored:
    """Counts the stored issues, on one PostgreSQL connection kept open.

    A connection per look would fork a server process 20 times a second: CPU
    taken from the daemons being measured, on PostgreSQL's side only.
    """

    def __init__(self, url: str | None, db: Path) -> None:
        self.url, self.db = url, db
        self.connection: psycopg.Connection | None = None

    def __call__(self) -> int:
        sql = "SELECT count(*) FROM issues"
        if not self.url:
            return sqlite_count(self.db, sql)
        if self.connection is None:
            self.connection = psycopg.connect(self.url, autocommit=True)
        try:
            return int(self.connection.execute(sql).fetchone()[0])  # type: ignore[index]
        except psycopg.errors.UndefinedTable:
            return 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def start_node(
    root: Path,
    name: str,
    github: FakeGitHub,
    ollama: FakeOllama,
    repositories: list[str],
    url: str | None,
    ttl: float,
    intervals: dict[str, float],
) -> DaemonProcess:
    directory = root / name
    directory.mkdir(exist_ok=True)
    data: dict[str, Any] = settings_dict(directory, github.url, ollama.url, repositories)
    data["github"]["token"] = f"token-{name}"
    data["intervals"] = intervals
    data["log"] = {"level": "WARNING"}
    data["github"]["issues"] = {"since": "all"}  # the fake's issues predate the first start
    if url:
        data["database"]["url"] = url
        data["cluster"] = {"node_name": name, "lease_ttl": ttl}
    path = directory / "settings.toml"
    path.write_text(to_toml(data))
    return DaemonProcess(path)


def wait(condition: Any, nodes: list[DaemonProcess], timeout: float = 600) -> float:
    started = time.monotonic()
    while not condition():
        for node in nodes:
            if node.process.poll() is not None:
                sys.exit(f"a daemon exited early:\n{node.log[-3000:]}")
        if time.monotonic() - started > timeout:
            sys.exit("timed out")
        PAUSE.wait(0.05)
    return time.monotonic() - started


def stop(nodes: list[DaemonProcess]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            node.signal(signal.SIGTERM)
    for node in nodes:
        node.wait(60)
        node.__exit__()


def fill(github: FakeGitHub, repositories: list[str], issues: int) -> None:
    for repository in repositories:
        github.add_repo(*repository.split("/"))
        for n in range(issues):
            github.add_issue(*repository.split("/"), title=f"issue {n}", body="x" * 200)


SYNC_INTERVALS = {"issue_poller": 1.0, "outbox_relay": 1.0, "issue_explainer": 600.0}


def initial_sync(args: argparse.Namespace, server: PostgresServer, root: Path) -> None:
    repositories = [f"bench/repo{r}" for r in range(args.repos)]
    total = args.repos * args.issues
    figures = {}
    for label in ("postgres", "sqlite"):
        with FakeGitHub(token=None) as github, FakeOllama() as ollama:
            fill(github, repositories, args.issues)
            url = server.create_database() if label == "postgres" else None
            count_nodes = args.nodes if url else 1
            started = time.monotonic()
            nodes = [
                start_node(
                    root / label,
                    f"node-{i}",
                    github,
                    ollama,
                    repositories,
                    url,
                    args.ttl,
                    SYNC_INTERVALS,
                )
                for i in range(count_nodes)
            ]
            db = root / label / "node-0" / "autosolve.db"
            stored = Stored(url, db)
            wait(lambda stored=stored: stored() >= total, nodes)
            figures[label] = time.monotonic() - started
            stored.close()
            stop(nodes)
            (root / label).mkdir(exist_ok=True)
        print(f"initial sync {label:8} ({count_nodes} daemon(s)): {total} issues in "
              f"{figures[label]:.2f} s ({total / figures[label]:,.0f} issues/s)")  # fmt: skip
    print(f"  speed-up of {args.nodes} daemons on PostgreSQL over one on SQLite: "
          f"{figures['sqlite'] / figures['postgres']:.2f}x (bar > 1)")  # fmt: skip


def failover(args: argparse.Namespace, server: PostgresServer, root: Path) -> None:
    repositories = [f"bench/fail{r}" for r in range(args.nodes * 4)]
    url = server.create_database()
    intervals = {"issue_poller": 0.2, "outbox_relay": 0.5, "issue_explainer": 600.0}
    delays = []
    with FakeGitHub(token=None) as github, FakeOllama() as ollama:
        fill(github, repositories, 1)
        names = [f"node-{i}" for i in range(args.nodes)]
        nodes = {
            n: start_node(
                root / "failover", n, github, ollama, repositories, url, args.ttl, intervals
            )
            for n in names
        }
        for round_ in range(args.rounds):
            owners = settle(url, names, len(repositories), list(nodes.values()))
            victim = names[round_ % len(names)]
            orphaned = {r for r, node in owners.items() if node == victim}
            killed = time.monotonic()
            nodes[victim].kill()

            def taken_over(
                orphaned: set[str] = orphaned, killed: float = killed, victim: str = victim
            ) -> bool:
                seen = {
                    listing_repository(r.path)
                    for r in github.requests
                    if r.monotonic > killed
                    and r.headers.get("Authorization") != f"Bearer token-{victim}"
                }
                return orphaned <= seen

            alive = [p for n, p in nodes.items() if n != victim]
            delays.append(wait(taken_over, alive, timeout=10 * args.ttl))
            nodes[victim].__exit__()
            nodes[victim] = start_node(root / "failover", victim, github, ollama, repositories,
                                       url, args.ttl, intervals)  # fmt: skip
        stop(list(nodes.values()))
    print(f"failover after kill -9 ({args.nodes} daemons, lease_ttl {args.ttl} s, "
          f"{args.rounds} rounds): p50 {statistics.median(delays):.2f} s, "
          f"max {max(delays):.2f} s (bar 2 x TTL = {2 * args.ttl:.1f} s)")  # fmt: skip


def settle(url: str, names: list[str], repositories: int, nodes: list[DaemonProcess]) -> dict:
    share = -(-repositories // len(names))

    def owners() -> dict[str, str]:
        try:
            with psycopg.connect(url) as connection:
                rows = connection.execute(
                    "SELECT l.repository, n.name FROM leases l JOIN cluster_nodes n "
                    "ON n.id = l.owner_id WHERE l.expires_at > extract(epoch FROM now())"
                ).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}
        return dict(rows)

    def settled() -> bool:
        found = owners()
        counts = [list(found.values()).count(n) for n in names]
        return len(found) == repositories and min(counts) > 0 and max(counts) <= share

    wait(settled, nodes)
    return owners()


def explainer(args: argparse.Namespace, server: PostgresServer, root: Path) -> None:
    repositories = [f"bench/explain{r}" for r in range(args.nodes * 2)]
    jobs = args.jobs
    per_repository = -(-jobs // len(repositories))
    intervals = {"issue_poller": 1.0, "outbox_relay": 0.2, "issue_explainer": 0.2}
    rates = {}
    for count_nodes in (1, args.nodes):
        url = server.create_database()
        with FakeGitHub(token=None) as github, FakeOllama() as ollama:
            fill(github, repositories, per_repository)
            total = per_repository * len(repositories)
            ollama.slow(args.model_seconds, path_prefix="/api/generate")
            nodes = [
                start_node(
                    root / f"explain{count_nodes}",
                    f"node-{i}",
                    github,
                    ollama,
                    repositories,
                    url,
                    args.ttl,
                    intervals,
                )
                for i in range(count_nodes)
            ]

            def posted() -> int:
                return sum(1 for r in github.requests if r.method == "POST" and r.status == 201)

            wait(lambda total=total: posted() >= total, nodes)
            # Throughput once analysis runs: first comment to last (daemon
            # starts, which differ with the number of daemons, left out).
            posts = sorted(r.monotonic for r in github.requests if r.method == "POST")
            rates[count_nodes] = (len(posts) - 1) / (posts[-1] - posts[0])
            ollama.release()
            stop(nodes)
            duplicates = [
                (repo, n)
                for repo, n in itertools.product(repositories, range(1, per_repository + 1))
                if sum(MARKER in c.body for c in github.comments(*repo.split("/"), n)) != 1
            ]
        print(f"explainer, model {args.model_seconds * 1000:.0f} ms per answer, "
              f"{count_nodes} daemon(s): {total} comments at {rates[count_nodes]:.2f}/s "
              f"(issues without exactly one comment: {len(duplicates)})")  # fmt: skip
    print(f"  throughput of {args.nodes} daemons over one: "
          f"{rates[args.nodes] / rates[1]:.2f}x (bar >= 2.5)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--repos", type=int, default=300)
    parser.add_argument("--issues", type=int, default=100)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--model-seconds", type=float, default=0.1)
    parser.add_argument("--only", choices=("sync", "failover", "explainer"))
    args = parser.parse_args()
    server = PostgresServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for label in ("postgres", "sqlite", "failover"):
                (root / label).mkdir()
            for count_nodes in (1, args.nodes):
                (root / f"explain{count_nodes}").mkdir(exist_ok=True)
            if args.only in (None, "sync"):
                initial_sync(args, server, root)
            if args.only in (None, "failover"):
                failover(args, server, root)
            if args.only in (None, "explainer"):
                explainer(args, server, root)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
