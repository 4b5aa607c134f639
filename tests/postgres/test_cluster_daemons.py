"""Two and three daemon processes on one PostgreSQL, against the fake GitHub (issue #12).

Lease TTLs are short (seconds) so that failover happens within a test; every
wait is a poll on a condition with a generous deadline.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from autosolve.demo.model import GENERATE
from autosolve.domain.workers import MARKER
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import wait_until
from tests.postgres.harness import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TTL = 3.0


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=None) as fake:
        yield fake


@pytest.fixture
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as fake:
        yield fake


@pytest.fixture
def make_cluster(tmp_path: Path, github: FakeGitHub, ollama: FakeOllama, postgres_url: str):
    made: list[Cluster] = []

    def make(repositories: list[str], ttl: float = TTL, **sections) -> Cluster:
        for repository in repositories:
            github.add_repo(*repository.split("/"))
        cluster = Cluster(tmp_path, github, ollama, postgres_url, repositories, ttl, **sections)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()


def ctl_text(cluster: Cluster, node: str, *arguments: str) -> str:
    settings = cluster.tmp_path / node / "settings.toml"
    done = subprocess.run(
        [sys.executable, "-m", "autosolve.cli", "ctl", "--settings", str(settings), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def ctl(cluster: Cluster, node: str, *arguments: str) -> dict:
    return json.loads(ctl_text(cluster, node, *arguments))


def repositories(count: int) -> list[str]:
    return [f"org/repo-{i}" for i in range(count)]


@pytest.mark.parametrize("daemons", [2, 3])
def test_each_repository_is_polled_by_exactly_one_daemon(make_cluster, daemons: int) -> None:
    cluster = make_cluster(repositories(6))
    names = [f"node-{chr(ord('a') + i)}" for i in range(daemons)]
    for name in names:
        cluster.start(name)
    wait_until(lambda: cluster.settled(names), timeout=60, what="leases spread over every node")
    settled_at = time.monotonic()
    owners = cluster.lease_owners()
    # Over more than two lease periods, each repository is listed, by its owner only.
    wait_until(
        lambda: all(len(cluster.listings(settled_at)[r]) >= 3 for r in cluster.repositories),
        timeout=60,
        what="every repository listed again",
    )
    listings = cluster.listings(settled_at)
    assert cluster.lease_owners() == owners, "the leases moved although no node changed"
    for repository in cluster.repositories:
        assert {node for _, node in listings[repository]} == {owners[repository]}, repository
    shown = ctl(cluster, "node-a", "status", "--cluster", "--json")["cluster"]
    assert {lease["repository"]: lease["node"] for lease in shown["leases"]} == owners
    assert sorted(n["name"] for n in shown["nodes"] if n["alive"]) == names
    table = ctl_text(cluster, "node-a", "status", "--cluster")
    assert "REPOSITORY" in table and "node-a (this node)" in table


def test_a_killed_daemons_repositories_are_polled_again_within_two_ttls(make_cluster) -> None:
    cluster = make_cluster(repositories(4))
    cluster.start("node-a")
    cluster.start("node-b")
    wait_until(lambda: cluster.settled(["node-a", "node-b"]), timeout=60, what="spread")
    orphaned = {r for r, node in cluster.lease_owners().items() if node == "node-a"}
    killed_at = time.monotonic()
    cluster.kill("node-a")

    def polled_by_b() -> bool:
        listings = cluster.listings(killed_at)
        return all(any(node == "node-b" for _, node in listings[r]) for r in orphaned)

    wait_until(polled_by_b, timeout=60, what="node-b polling node-a's repositories")
    listings = cluster.listings(killed_at)
    takeover = max(min(t for t, node in listings[r] if node == "node-b") for r in orphaned)
    assert takeover - killed_at <= 2 * TTL
    assert cluster.lease_owners() == dict.fromkeys(cluster.repositories, "node-b")


def test_a_paused_daemon_writes_nothing_for_the_repositories_it_lost(
    make_cluster, github: FakeGitHub
) -> None:
    cluster = make_cluster(repositories(4))
    cluster.start("node-a")
    cluster.start("node-b")
    wait_until(lambda: cluster.settled(["node-a", "node-b"]), timeout=60, what="spread")
    cluster.install_audit(("issues", "sync_cursors", "outbox_events"))
    lost = sorted(r for r, node in cluster.lease_owners().items() if node == "node-a")
    target = lost[0]
    # node-a is caught in the middle of a poll of `target`: its listing is held...
    listing = f"/repos/{target}/issues"
    github.slow(path_prefix=listing)
    github.add_issue(*target.split("/"), title="arrives while node-a is frozen")
    before = len(github.requests_for(listing))
    assert github.wait_for_requests(before + 1, path_prefix=listing, timeout=30)
    # ... when it is frozen past its lease; the answer waits in its socket.
    cluster.signal("node-a", signal.SIGSTOP)
    paused_at = cluster.sql("SELECT clock_timestamp()")[0][0]
    github.release()
    wait_until(
        lambda: set(lost) <= {r for r, n in cluster.lease_owners().items() if n == "node-b"},
        timeout=60,
        what="node-b taking over",
    )
    wait_until(
        lambda: cluster.sql("SELECT count(*) FROM issues")[0][0] == 1,
        timeout=30,
        what="node-b storing the new issue",
    )
    cluster.signal("node-a", signal.SIGCONT)

    # node-a wakes up: its keeper's next heartbeat sees the leases gone, or fails
    # (the server ended the transaction the freeze left open) past the lease's
    # ttl; either way it parks the units at once.
    def parked() -> bool:
        log = cluster.nodes["node-a"].log
        return "leases lost to other nodes" in log or "no heartbeat for" in log

    wait_until(parked, timeout=30, what="node-a noticing the loss")
    lost_ids = [
        row[0]
        for row in cluster.sql("SELECT id, lower(owner || '/' || name) FROM repositories")
        if row[1] in lost
    ]
    writes = cluster.sql(
        "SELECT tbl, repository_id FROM audit WHERE app = 'autosolve node-a' AND at > %s "
        "AND repository_id = ANY(%s)",
        paused_at,
        lost_ids,
    )
    assert writes == []
    assert cluster.sql("SELECT count(*) FROM issues")[0][0] == 1


def test_a_killed_nodes_job_in_flight_is_analysed_once_by_another_node_once_its_heartbeat_expires(
    make_cluster, github: FakeGitHub, ollama: FakeOllama
) -> None:
    cluster = make_cluster(["octo/hello"], analysed={"since": "all"})
    github.add_issue("octo", "hello", title="It crashes")
    ollama.hold()
    for name in ("node-a", "node-b"):
        cluster.start(name)
    assert ollama.wait_for_requests(1, path_prefix=GENERATE, timeout=60)
    [(holder,)] = cluster.sql("SELECT leased_by FROM jobs WHERE leased_until IS NOT NULL")
    victim = next(name for name in cluster if holder.startswith(f"{name}."))
    cluster.kill(victim)
    ollama.release()

    def commented() -> list[str]:
        return github.marker_comments("octo", "hello", 1, MARKER)

    # The victim's heartbeat row expires within a TTL and the other node's next
    # heartbeat (every TTL / 3) releases the job: seconds, where the job's own
    # lease (the default visibility timeout, 600 s) would have kept it an age.
    wait_until(commented, timeout=10 * TTL, what="the other node analysing the issue")
    assert len(commented()) == 1


@pytest.mark.timeout(600)
def test_random_kills_during_a_big_sync_store_every_issue_once_and_comment_once(
    make_cluster, github: FakeGitHub
) -> None:
    repos = repositories(30)
    cluster = make_cluster(
        repos,
        queue={"visibility_timeout": 10.0},
        analysed={"since": "all"},  # the issues predate the first start
        intervals={
            "issue_poller": 1.0,
            "issue_poller_max": 1.0,
            "outbox_relay": 0.1,
            "issue_explainer": 0.05,
        },
    )
    for repository in repos:
        for n in range(100):
            github.add_issue(*repository.split("/"), title=f"{repository} issue {n + 1}")
    names = ["node-a", "node-b", "node-c"]
    for name in names:
        cluster.start(name)
    chaos = random.Random(12)
    pause = threading.Event()
    for _ in range(20):
        pause.wait(chaos.uniform(0.3, 1.5))  # pacing the kills, not waiting for a result
        victim = chaos.choice(names)
        cluster.kill(victim)
        cluster.start(victim)

    def done() -> bool:
        counts = cluster.sql(
            "SELECT (SELECT count(*) FROM issues), (SELECT count(*) FROM jobs), "
            "(SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL)"
        )
        return bool(counts) and counts[0] == (3000, 0, 0)

    wait_until(done, timeout=400, what="3,000 issues stored and every job done")
    assert cluster.sql(
        "SELECT count(*) FROM (SELECT repository_id, number FROM issues "
        "GROUP BY 1, 2 HAVING count(*) > 1) AS duplicates"
    ) == [(0,)]
    per_issue = Counter(
        sum(MARKER in c.body for c in github.comments(*repository.split("/"), n))
        for repository in repos
        for n in range(1, 101)
    )
    assert per_issue == {1: 3000}  # every issue analysed, none twice
