"""Cluster coordination on a real PostgreSQL: heartbeats, leases, fair shares, fencing.

Time is a manual clock shared by every node (the database's clock stands in
for it in production), so expiry and takeover are exact, never slept for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import psycopg
import pytest

from autosolve.domain.lease_keeper import LeaseKeeper
from autosolve.infra.postgres import DatabaseUnavailableError, LeaseLostError, PostgresDatabase
from autosolve.infra.postgres.cluster import Cluster
from autosolve.infra.postgres.engine import PostgresEngine
from autosolve.infra.postgres.migrations import apply_migrations
from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import Connection
from tests.stores import ManualClock, PostgresBackend, enqueue_job

TTL = 30.0


class Node:
    """A keeper and the units it runs, as a daemon would have them."""

    def __init__(self, cluster: Cluster, repositories: list[str], clock: ManualClock) -> None:
        self.cluster = cluster
        self.running: set[str] = set()
        self.events: list[tuple[str, frozenset[str]]] = []
        self.keeper = LeaseKeeper(
            cluster,
            repositories,
            start_units=self._start,
            stop_units=self._stop,
            monotonic=clock,
        )

    def _start(self, repositories: frozenset[str]) -> None:
        assert not repositories & self.running
        self.running |= repositories
        self.events.append(("start", repositories))

    def _stop(self, repositories: frozenset[str]) -> None:
        assert repositories <= self.running
        self.running -= repositories
        self.events.append(("stop", repositories))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def database(postgres_url: str) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(postgres_url, timeout=10)
    database.open()
    apply_migrations(database)
    yield database
    database.close()


@pytest.fixture
def make_node(database: PostgresDatabase, clock: ManualClock) -> Callable[..., Node]:
    def make(name: str, repositories: list[str], ttl: float = TTL) -> Node:
        cluster = Cluster(database, node_name=name, ttl=ttl, now=clock)
        return Node(cluster, repositories, clock)

    return make


def store_transaction(database: PostgresDatabase) -> AbstractContextManager[Connection]:
    """A transaction as the store runs its writes in: where the fence is checked."""
    return PostgresEngine(database).transaction(write=True)


def repos(count: int) -> list[str]:
    return [f"Org/Repo-{i:03d}" for i in range(count)]


def lease_owners(database: PostgresDatabase) -> dict[str, str]:
    with database.transaction() as connection:
        rows = connection.execute("SELECT repository, owner_id FROM leases").fetchall()
    return dict(rows)


def settle(nodes: list[Node], clock: ManualClock, rounds: int = 8) -> None:
    """Heartbeats round-robin, TTL/3 apart, as the daemons would run them."""
    for _ in range(rounds):
        for node in nodes:
            node.keeper.tick()
        clock.advance(TTL / 3)


def test_a_lone_node_leases_every_repository(make_node, database) -> None:
    node = make_node("a", repos(5))
    report = node.keeper.tick()
    assert report.live_nodes == 1 and report.share == 5
    assert node.running == {r.lower() for r in repos(5)}
    assert set(lease_owners(database).values()) == {node.cluster.node_id}


def test_three_nodes_spread_300_repositories_evenly(make_node, clock) -> None:
    nodes = [make_node(name, repos(300)) for name in ("a", "b", "c")]
    nodes[0].keeper.tick()  # the first one up takes everything
    assert len(nodes[0].running) == 300
    settle(nodes, clock)
    counts = sorted(len(n.running) for n in nodes)
    assert max(counts) <= 110, counts
    assert sum(counts) == 300
    assert set().union(*(n.running for n in nodes)) == {r.lower() for r in repos(300)}


def test_a_surplus_is_stopped_before_its_lease_is_given_back(make_node, database, clock) -> None:
    a, b = make_node("a", repos(4)), make_node("b", repos(4))
    a.keeper.tick()
    seen_while_stopping: list[dict[str, str]] = []
    original = a.keeper._stop_units
    a.keeper._stop_units = lambda r: (
        seen_while_stopping.append(lease_owners(database)),
        original(r),
    )
    b.keeper.tick()  # b joins: live nodes = 2, a's share drops to 2
    report = a.keeper.tick()
    assert len(report.released) == 2 and len(a.running) == 2
    # While a stopped those units, it still owned their leases: nobody could start them.
    assert all(seen_while_stopping[0][r] == a.cluster.node_id for r in report.released)
    assert not report.released & set(lease_owners(database))
    b.keeper.tick()
    assert b.running == report.released


def test_a_dead_nodes_repositories_are_taken_over_within_two_ttls(make_node, clock) -> None:
    a, b = make_node("a", repos(6)), make_node("b", repos(6))
    settle([a, b], clock, rounds=3)
    orphaned = set(a.running)
    assert orphaned and b.running.isdisjoint(orphaned)
    died_at = clock.now  # a is killed: no more heartbeats
    while not orphaned <= b.running:
        clock.advance(TTL / 3)
        b.keeper.tick()
        assert clock.now - died_at <= 2 * TTL, "takeover took longer than 2 × TTL"
    assert len(b.running) == 6


def test_a_paused_node_stops_the_units_it_lost_at_once(make_node, database, clock) -> None:
    a, b = make_node("a", repos(4)), make_node("b", repos(4))
    settle([a, b], clock, rounds=3)
    held_by_a = frozenset(a.running)
    clock.advance(2 * TTL)  # a is paused (SIGSTOP) past its leases
    settle([b], clock, rounds=2)
    assert held_by_a <= b.running
    report = a.keeper.tick()  # a resumes
    assert report.lost == held_by_a
    assert a.events[-1] == ("stop", held_by_a)
    assert not a.running and not a.keeper.held
    for repository in held_by_a:
        assert not a.keeper.holds(repository)
        with (
            pytest.raises(LeaseLostError, match="does not hold its lease"),
            store_transaction(database) as connection,
        ):
            a.cluster.fence(connection, repository)


def test_an_expired_lease_nobody_took_is_kept(make_node, clock) -> None:
    a = make_node("a", repos(2))
    a.keeper.tick()
    clock.advance(3 * TTL)  # paused, but alone
    report = a.keeper.tick()
    assert not report.lost and len(a.running) == 2
    assert a.events == [("start", frozenset(r.lower() for r in repos(2)))]


def test_a_graceful_stop_hands_over_at_the_next_heartbeat(make_node, clock) -> None:
    a, b = make_node("a", repos(4)), make_node("b", repos(4))
    settle([a, b], clock, rounds=3)
    a.keeper.stop()
    assert not a.running
    b.keeper.tick()  # no waiting for a's leases to expire
    assert len(b.running) == 4


def test_a_node_that_cannot_beat_for_a_ttl_stops_everything(make_node, clock) -> None:
    a = make_node("a", repos(3))
    a.keeper.tick()
    assert all(a.keeper.holds(r) for r in repos(3))

    def unreachable() -> None:
        raise ConnectionError("database down")

    a.cluster.beat = unreachable  # type: ignore[method-assign]
    clock.advance(TTL / 3)
    with pytest.raises(ConnectionError):
        a.keeper.tick()
    assert len(a.running) == 3  # not yet: the leases are still valid
    clock.advance(TTL)
    assert not a.keeper.holds(repos(3)[0])
    with pytest.raises(ConnectionError):
        a.keeper.tick()
    assert not a.running


def test_removed_repositories_are_stopped_and_given_back(make_node, database) -> None:
    a = make_node("a", repos(3))
    a.keeper.tick()
    a.keeper.set_repositories(repos(2))
    report = a.keeper.tick()
    assert report.released == {repos(3)[2].lower()}
    assert len(lease_owners(database)) == 2


def test_the_fence_passes_for_the_holder_only(make_node, database, clock) -> None:
    a, b = make_node("a", ["octo/hello"]), make_node("b", ["octo/hello"])
    a.keeper.tick()
    with store_transaction(database) as connection:
        a.cluster.fence(connection, "Octo/Hello")
    with pytest.raises(LeaseLostError), store_transaction(database) as connection:
        b.cluster.fence(connection, "octo/hello")
    clock.advance(TTL + 1)  # expired, even though nobody took it yet
    with pytest.raises(LeaseLostError), store_transaction(database) as connection:
        a.cluster.fence(connection, "octo/hello")


def test_a_takeover_waits_for_a_fenced_write_to_commit(
    make_node, database, clock, postgres_url
) -> None:
    a, b = make_node("a", ["octo/hello"]), make_node("b", ["octo/hello"])
    a.keeper.tick()
    claimed: list[frozenset[str]] = []
    with store_transaction(database) as connection:
        a.cluster.fence(connection, "octo/hello")
        connection.execute("CREATE TABLE written (x int)")
        connection.execute("INSERT INTO written VALUES (1)")
        clock.advance(TTL + 1)  # a's lease runs out while its write is in flight
        taking = threading.Thread(target=lambda: claimed.append(b.cluster.claim(["octo/hello"], 1)))
        taking.start()
        with psycopg.connect(postgres_url) as observer:
            wait_for_lock_waiter(observer)
        assert not claimed  # b waits for a's write
    taking.join(timeout=30)
    assert claimed == [frozenset({"octo/hello"})]


def test_the_fence_by_repository_id_follows_the_name(make_node, database) -> None:
    a = make_node("a", ["octo/hello"])
    a.keeper.tick()
    with database.transaction() as connection:
        rid = connection.execute(
            "INSERT INTO repositories (github_id, owner, name, created_at, updated_at) "
            "VALUES (1, 'Octo', 'Hello', 0, 0) RETURNING id"
        ).fetchone()[0]
        other = connection.execute(
            "INSERT INTO repositories (github_id, owner, name, created_at, updated_at) "
            "VALUES (2, 'octo', 'world', 0, 0) RETURNING id"
        ).fetchone()[0]
    with store_transaction(database) as connection:
        a.cluster.fence_repository_id(connection, rid)
    with pytest.raises(LeaseLostError, match="id"), store_transaction(database) as connection:
        a.cluster.fence_repository_id(connection, other)


def test_the_lease_table_names_the_owning_node(make_node) -> None:
    a = make_node("alpha", ["octo/hello"])
    a.keeper.tick()
    (lease,) = a.cluster.leases()
    assert (lease.repository, lease.node_name) == ("octo/hello", "alpha")
    assert lease.expires_at == a.cluster.now() + TTL
    assert [n.name for n in a.cluster.nodes()] == ["alpha"]


def wait_for_lock_waiter(connection: psycopg.Connection, timeout: float = 20.0) -> None:
    stop = threading.Event()
    timer = threading.Timer(timeout, stop.set)
    timer.start()
    try:
        while not connection.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[
            0
        ]:
            if stop.wait(0.02):
                pytest.fail("the takeover never waited for the lease row")
    finally:
        timer.cancel()


def test_a_node_frozen_inside_a_write_does_not_hold_up_the_takeover(
    make_node, database, clock, postgres_url
) -> None:
    frozen_db = PostgresDatabase(postgres_url, timeout=10, idle_transaction_timeout=0.5)
    frozen_db.open()
    frozen = Cluster(frozen_db, node_name="a", ttl=TTL, now=clock)
    frozen.beat()
    frozen.claim(["octo/hello"], 1)
    b = make_node("b", ["octo/hello"])
    claimed: list[frozenset[str]] = []
    try:
        with pytest.raises(DatabaseUnavailableError), store_transaction(frozen_db) as connection:
            frozen.fence(connection, "octo/hello")  # holds the lease row's share lock...
            clock.advance(TTL + 1)  # ... and freezes (SIGSTOP) past its lease
            taking = threading.Thread(
                target=lambda: claimed.append(b.cluster.claim(["octo/hello"], 1))
            )
            taking.start()
            taking.join(timeout=30)  # the server ends the idle transaction, b goes on
            assert claimed == [frozenset({"octo/hello"})]
            connection.execute("INSERT INTO repositories VALUES (DEFAULT, 1, 'o', 'n', 0, 0)")
    finally:
        frozen_db.close()


def test_the_jobs_of_a_node_whose_heartbeat_expired_are_released_by_the_next_node(
    database, clock, postgres_url
) -> None:
    nodes = [Cluster(database, node_name=name, ttl=TTL, now=clock) for name in ("a", "b")]
    stores = [PostgresStore(postgres_url, now=clock, pool_size=2) for _ in nodes]
    try:
        for node, store in zip(nodes, stores, strict=True):
            store.migrate()
            store.set_holder(node.node_id)
            node.beat()
        (a, b), (store_a, store_b) = nodes, stores
        for n in range(3):
            enqueue_job(store_a, {"n": n})
        held_by_a = store_a.receive_job(visibility_timeout=600, max_attempts=5)
        held_by_b = store_b.receive_job(visibility_timeout=600, max_attempts=5)
        unrecorded = store_b.receive_job(visibility_timeout=600, max_attempts=5)
        assert held_by_a and held_by_b and unrecorded
        PostgresBackend(postgres_url).sql(  # leased by an autosolve that recorded no holder
            "UPDATE jobs SET leased_by = NULL WHERE id = ?", (unrecorded.id,)
        )
        assert store_b.release_orphaned_jobs(b) == []  # a is alive: its job stays its own

        clock.advance(TTL)  # a was killed: its heartbeat expires, b's goes on
        b.beat()

        assert store_b.release_orphaned_jobs(b) == [held_by_a.id]
        again = store_b.receive_job(visibility_timeout=600, max_attempts=5)
        assert again is not None and again.id == held_by_a.id
        assert again.last_error == f"its holder {a.node_id} ended without finishing it"
    finally:
        for store in stores:
            store.close()
