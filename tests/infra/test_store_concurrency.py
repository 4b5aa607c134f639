"""Many actors write to the store at once: nothing is locked out, nothing is lost (both engines)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from autosolve.infra.issue import Issue
from autosolve.infra.store import SyncCursor
from tests.stores import StoreBackend, count, pending_jobs

THREADS = 8
ROUNDS = 25
ISSUES_PER_PAGE = 4


def page(first: int) -> list[Issue]:
    return [
        Issue(
            github_id=number,
            number=number,
            title=f"Issue {number}",
            body=None,
            state="open",
            is_pull_request=number % 2 == 0,
            updated_at="2026-01-01T00:00:00Z",
            labels=(),
        )
        for number in range(first, first + ISSUES_PER_PAGE)
    ]


def run_threads(worker: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def guarded(index: int) -> None:
        try:
            start.wait()
            worker(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=50)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return errors


@pytest.mark.parametrize("sharing", ["one shared store", "one store per thread"])
def test_concurrent_writers_are_never_locked_out_and_lose_no_rows(
    store_backend: StoreBackend, sharing: str
):
    """Poller, relay and explainer calls from 8 threads at once all succeed.

    With one store per thread the threads really contend for the database's
    locks (on SQLite the write lock: ``BEGIN IMMEDIATE`` and ``busy_timeout``
    at work), not only for one store's own lock or pool.
    """
    shared = store_backend.open()
    shared.migrate()
    repositories = [shared.upsert_repository(i, "octo", f"repo{i}") for i in range(THREADS)]
    done: list[list[int]] = [[] for _ in range(THREADS)]

    def worker(index: int) -> None:
        store = shared if sharing == "one shared store" else store_backend.open()
        try:
            store.migrate()
            repository = repositories[index]
            for round_ in range(ROUNDS):
                cursor = SyncCursor(since=f"round {round_}")
                store.save_issue_page(repository, page(round_ * ISSUES_PER_PAGE + 1), cursor)
                store.relay_outbox(repository)
                job = store.receive_job(visibility_timeout=3600, max_attempts=5)
                if job is not None:
                    assert store.delete_job(job.id)
                    done[index].append(job.id)
        finally:
            if store is not shared:
                store.close()

    errors = run_threads(worker)

    assert errors == []
    total = THREADS * ROUNDS * ISSUES_PER_PAGE
    assert count(shared, "issues") == total
    assert count(shared, "outbox_events") == total
    for repository in repositories:
        assert shared.load_cursor(repository).since == f"round {ROUNDS - 1}"
        while shared.relay_outbox(repository):
            pass
    finished = [job_id for ids in done for job_id in ids]
    assert len(finished) == len(set(finished)), "a job was handed to two receivers"
    assert len(finished) + pending_jobs(shared) == total
    shared.close()
