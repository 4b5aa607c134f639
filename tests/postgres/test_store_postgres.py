"""What only the PostgreSQL store does: fenced repository writes, SKIP LOCKED receiving.

The operations both stores share are specified by the store contract suite.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from autosolve.infra.issue import Issue
from autosolve.infra.postgres import LeaseLostError
from autosolve.infra.postgres.cluster import Cluster
from autosolve.infra.postgres.store import PostgresStore
from autosolve.infra.store import SyncCursor
from tests.stores import ManualClock, count, enqueue_job

TTL = 30.0


def issue(number: int) -> Issue:
    return Issue(
        github_id=number,
        number=number,
        title=f"Issue {number}",
        body=None,
        state="open",
        is_pull_request=False,
        updated_at="2026-01-01T00:00:00Z",
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_store(postgres_url: str, clock: ManualClock) -> Iterator[Callable[[], PostgresStore]]:
    stores: list[PostgresStore] = []

    def make() -> PostgresStore:
        store = PostgresStore(postgres_url, now=clock, pool_size=2)
        store.migrate()
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def join(store: PostgresStore, name: str, clock: ManualClock) -> Cluster:
    cluster = Cluster(store.database, node_name=name, ttl=TTL, now=clock)
    cluster.beat()
    store.set_fence(cluster)
    return cluster


def test_the_lease_holder_writes_and_another_node_is_fenced_off(make_store, clock) -> None:
    holder_store, other_store = make_store(), make_store()
    holder = join(holder_store, "a", clock)
    join(other_store, "b", clock)
    assert holder.claim(["octo/hello"], 1) == {"octo/hello"}

    repo = holder_store.upsert_repository(1, "octo", "hello")
    assert holder_store.save_issue_page(repo, [issue(1)], SyncCursor(since="t1")) == 1
    assert holder_store.relay_outbox(repo) == 1

    writes = {
        "save_issue_page": lambda: other_store.save_issue_page(repo, [issue(2)], SyncCursor()),
        "relay_outbox": lambda: other_store.relay_outbox(repo),
    }
    for name, write in writes.items():
        with pytest.raises(LeaseLostError, match="node b does not hold its lease"):
            write()
            pytest.fail(f"{name} was not fenced")
    assert count(other_store, "issues") == 1
    assert other_store.load_cursor(repo) == SyncCursor(since="t1")


def test_a_node_whose_lease_expired_writes_nothing(make_store, clock) -> None:
    store = make_store()
    cluster = join(store, "a", clock)
    cluster.claim(["octo/hello"], 1)
    repo = store.upsert_repository(1, "octo", "hello")
    clock.now += TTL  # paused past the lease
    with pytest.raises(LeaseLostError):
        store.save_issue_page(repo, [issue(1)], SyncCursor(since="t1"))
    assert count(store, "issues") == 0
    assert store.load_cursor(repo) == SyncCursor()


def test_a_single_daemon_without_a_fence_writes_freely(make_store) -> None:
    store = make_store()
    repo = store.upsert_repository(1, "octo", "hello")
    assert store.save_issue_page(repo, [issue(1)], SyncCursor()) == 1


def test_receiving_skips_a_job_another_daemon_is_taking(make_store, postgres_url) -> None:
    store = make_store()
    first, second = enqueue_job(store, {"n": 1}), enqueue_job(store, {"n": 2})
    with psycopg.connect(postgres_url) as other_daemon:
        other_daemon.execute("SELECT id FROM jobs WHERE id = %s FOR UPDATE", (first,))
        job = store.receive_job(visibility_timeout=60, max_attempts=5)
        assert job is not None and job.id == second
        assert store.receive_job(visibility_timeout=60, max_attempts=5) is None
    job = store.receive_job(visibility_timeout=60, max_attempts=5)
    assert job is not None and job.id == first


def test_explainers_on_several_daemons_never_take_the_same_job(make_store) -> None:
    daemons = [make_store() for _ in range(4)]
    expected = {enqueue_job(daemons[0], {"n": n}) for n in range(200)}
    taken: list[list[int]] = [[] for _ in daemons]
    barrier = threading.Barrier(len(daemons))

    def drain(index: int) -> None:
        barrier.wait(timeout=30)
        while (
            job := daemons[index].receive_job(visibility_timeout=600, max_attempts=5)
        ) is not None:
            taken[index].append(job.id)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(daemons))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    everything = [job_id for ids in taken for job_id in ids]
    assert sorted(everything) == sorted(expected)
