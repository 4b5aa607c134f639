"""Reconciling a running plan with a new one: tenants added and removed, units replaced or
switched to new closures at their next tick."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from autosolve.domain.spec import GlobalWorkerSpec, PreflightSpec, RepoTenant, WorkerSpec
from autosolve.schedule import Planner, Scheduler
from autosolve.schedule.reconcile import apply, diff
from autosolve.schedule.scheduler import GLOBAL, Plan
from tests.runtime.harness import Harness

Seen = list[tuple[str, str]]
"""``(version, unit name)`` of every tick."""


class Tasks:
    """A validator, a poller and a global explainer; every tick notes its task version."""

    def __init__(self, harness: Harness, version: str, seen: Seen, poll_every: float = 10.0):
        self.version, self.seen, self.harness = version, seen, harness
        self.poll_every = poll_every

    def note(self, ctx) -> None:
        self.seen.append((self.version, ctx.name))
        self.harness.poke()

    def plan(self, repositories: list[str]) -> Plan:
        version = self

        class Validator:
            def task_spec(self) -> PreflightSpec:
                return PreflightSpec("validator", lambda ctx, tenant: version.note(ctx))

        class Poller:
            def task_spec(self) -> WorkerSpec:
                return WorkerSpec("poller", version.poll_every, lambda ctx, t: version.note(ctx))

        class Explainer:
            def task_spec(self) -> GlobalWorkerSpec:
                return GlobalWorkerSpec("explainer", 10.0, version.note)

        planner = Planner(repositories, [Validator()], [Poller()], lambda owner, name: 1)
        return Scheduler([planner], [Explainer()]).plan()


def start(harness: Harness, plan: Plan):
    return harness.start(list(plan.preflights), list(plan.workers))


def ticks(seen: Seen, name: str) -> list[str]:
    return [version for version, unit in seen if unit == name]


def test_a_plan_groups_its_units_by_tenant_and_the_global_workers_apart(
    harness: Harness,
) -> None:
    plan = Tasks(harness, "v1", []).plan(["octo/a", "octo/b"])
    assert dict(plan.groups) == {
        "octo/a": ("preflight:validator:octo/a", "worker:poller:octo/a"),
        "octo/b": ("preflight:validator:octo/b", "worker:poller:octo/b"),
        GLOBAL: ("worker:explainer",),
    }


def test_kept_units_keep_their_actors_and_run_the_new_closures_from_their_next_tick(
    harness: Harness,
) -> None:
    seen: Seen = []
    running = Tasks(harness, "v1", seen).plan(["octo/a", "octo/b"])
    start(harness, running)
    harness.wait_for(lambda: len(ticks(seen, "worker:poller:octo/b")) == 1, what="first polls")
    changes = diff(running, Tasks(harness, "v2", seen).plan(["octo/b", "octo/c"]))
    assert changes.removed == ("preflight:validator:octo/a", "worker:poller:octo/a")
    assert changes.added_names == ["preflight:validator:octo/c", "worker:poller:octo/c"]
    assert changes.replaced == () and changes.unchanged == len(running.names) - 2  # octo/a's
    result = apply(harness.handle, changes)
    assert result.names == [
        "preflight:validator:octo/b", "preflight:validator:octo/c",
        "worker:poller:octo/b", "worker:poller:octo/c", "worker:explainer",
    ]  # fmt: skip
    harness.wait_for(lambda: ticks(seen, "worker:poller:octo/c"), what="the new poller")
    harness.advance(10.0)
    harness.wait_for(lambda: len(ticks(seen, "worker:poller:octo/b")) == 2, what="next poll")
    assert ticks(seen, "worker:poller:octo/b") == ["v1", "v2"]  # same actor, new closure
    assert ticks(seen, "preflight:validator:octo/c") == ["v2"]
    assert len(harness.named("spawned", "worker:poller:octo/b")) == 1
    assert len(ticks(seen, "worker:poller:octo/a")) == 1  # removed: no more ticks
    assert harness.named("restarted") == []


def test_a_changed_interval_replaces_only_the_affected_units(harness: Harness) -> None:
    seen: Seen = []
    running = Tasks(harness, "v1", seen).plan(["octo/a"])
    start(harness, running)
    harness.wait_for(lambda: ticks(seen, "worker:explainer"), what="the explainer")
    changes = diff(running, Tasks(harness, "v2", seen, poll_every=30.0).plan(["octo/a"]))
    assert [u.name for u in changes.replaced] == ["worker:poller:octo/a"]
    assert changes.removed == () and changes.added == ()
    assert changes.unchanged == len(running.names) - 1  # all but the poller
    apply(harness.handle, changes)
    harness.wait_event("spawned", "worker:poller:octo/a", count=2)
    assert harness.child("worker:poller:octo/a")["interval"] == 30.0
    assert len(harness.named("spawned", "worker:explainer")) == 1


def test_tenants_to_restart_are_removed_and_added_again(harness: Harness) -> None:
    seen: Seen = []
    running = Tasks(harness, "v1", seen).plan(["octo/a"])
    changes = diff(running, Tasks(harness, "v2", seen).plan(["octo/a"]), restart=["octo/a"])
    assert changes.removed == running.groups["octo/a"]
    assert changes.added_names == list(running.groups["octo/a"])


@pytest.mark.parametrize(
    ("before", "after"),
    [([], ["octo/a"]), (["octo/a"], []), (["octo/a", "octo/b"], ["octo/b", "octo/a"])],
)
def test_applying_a_diff_leaves_the_runtime_running_exactly_the_desired_plan(
    harness: Harness, before: list[str], after: list[str]
) -> None:
    plan: Callable[[list[str]], Plan] = Tasks(harness, "v", []).plan
    running = plan(before)
    start(harness, running)
    result = apply(harness.handle, diff(running, plan(after)))
    status = harness.handle.status()
    assert sorted(c["name"] for c in status["children"]) == sorted(result.names)
    assert sorted(result.names) == sorted(plan(after).names)


def test_work_is_switchable_and_runs_the_current_target() -> None:
    from autosolve.schedule.scheduler import SwitchableWork

    calls: list[str] = []
    work = SwitchableWork(lambda ctx: calls.append("old"))
    work(None)  # type: ignore[arg-type]
    work.target = lambda ctx: calls.append("new")
    work(None)  # type: ignore[arg-type]
    assert calls == ["old", "new"]


def test_tenants_keep_their_tenant_in_the_closures() -> None:
    seen: list[RepoTenant] = []

    class Validator:
        def task_spec(self) -> PreflightSpec:
            return PreflightSpec("validator", lambda ctx, tenant: seen.append(tenant))

    plan = Scheduler([Planner(["octo/a"], [Validator()], [], lambda o, n: 1)], []).plan()
    plan.preflights[0].work(None)  # type: ignore[arg-type]
    assert seen == [RepoTenant("octo", "a")]
