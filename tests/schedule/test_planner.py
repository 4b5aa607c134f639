"""The Planner and Scheduler: naming, tenants, cached repository ids."""

from __future__ import annotations

import threading

import pytest

from autosolve.domain.spec import GlobalWorkerSpec, PreflightSpec, RepoTenant, WorkerSpec
from autosolve.runtime import ManualClock, WorkContext
from autosolve.schedule import Planner, Scheduler


class Validator:
    def __init__(self) -> None:
        self.seen: list[RepoTenant] = []

    def task_spec(self) -> PreflightSpec:
        return PreflightSpec("repository-validator", lambda ctx, t: self.seen.append(t))


class Poller:
    def __init__(self) -> None:
        self.seen: list[RepoTenant] = []

    def task_spec(self) -> WorkerSpec:
        return WorkerSpec("issue-poller", 10.0, lambda ctx, t: self.seen.append(t))


class Explainer:
    def task_spec(self) -> GlobalWorkerSpec:
        return GlobalWorkerSpec("issue-explainer", 2.0, lambda ctx: None)


def context(name: str) -> WorkContext:
    return WorkContext(name, threading.Event(), ManualClock())


def test_units_are_named_phase_resource_and_repository() -> None:
    planner = Planner(["octo/hello", "octo/world"], [Validator()], [Poller()], lambda o, n: 1)
    plan = Scheduler([planner], [Explainer()]).plan()
    assert plan.names == [
        "preflight:repository-validator:octo/hello",
        "preflight:repository-validator:octo/world",
        "worker:issue-poller:octo/hello",
        "worker:issue-poller:octo/world",
        "worker:issue-explainer",
    ]
    assert [u.interval for u in plan.workers] == [10.0, 10.0, 2.0]
    assert all(u.interval is None for u in plan.preflights)


def test_work_closures_capture_their_tenant() -> None:
    validator = Validator()
    planner = Planner(["octo/hello", "acme/tools"], [validator], [], lambda o, n: 1)
    for unit in planner.preflights():
        unit.work(context(unit.name))
    assert validator.seen == [RepoTenant("octo", "hello"), RepoTenant("acme", "tools")]


def test_a_worker_resolves_its_repository_id_once_and_caches_it() -> None:
    lookups: list[tuple[str, str]] = []

    def resolve(owner: str, name: str) -> int:
        lookups.append((owner, name))
        return 42

    poller = Poller()
    (unit,) = Planner(["octo/hello"], [], [poller], resolve).workers()
    for _ in range(3):
        unit.work(context(unit.name))
    assert lookups == [("octo", "hello")]
    assert poller.seen == [RepoTenant("octo", "hello", 42)] * 3


def test_a_failed_resolution_is_retried_on_the_next_run() -> None:
    answers = iter([LookupError("not yet"), 7])

    def resolve(owner: str, name: str) -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    poller = Poller()
    (unit,) = Planner(["octo/hello"], [], [poller], resolve).workers()
    with pytest.raises(LookupError):
        unit.work(context(unit.name))
    unit.work(context(unit.name))
    assert poller.seen == [RepoTenant("octo", "hello", 7)]


def test_duplicate_task_names_are_a_start_up_error() -> None:
    planner = Planner(["octo/hello"], [], [Poller(), Poller()], lambda o, n: 1)
    with pytest.raises(ValueError, match="duplicate task names: worker:issue-poller:octo/hello"):
        Scheduler([planner], []).plan()
