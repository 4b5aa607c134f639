"""Long work shares its tick with its deadline instead of running into it.

A tick cancelled at its deadline is a failure (the runtime's guard against
hung work). A busy explainer or a long catch-up is not hung: the explainer
declares a deadline that fits an analysis and takes no job it could not
finish in time; the poller goes on with a catch-up at its next tick.
"""

from __future__ import annotations

import threading
from pathlib import Path

from autosolve.domain.spec import RepoTenant
from autosolve.domain.workers import MARKER, IssuePoller
from autosolve.runtime import ChildRecord, ManualClock, WorkContext
from tests.fakes import RequestRecord
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import query, wait_until
from tests.pipeline.world import World
from tests.stores import count, pending_jobs


def tick_context(clock: ManualClock, allowance: float, name: str) -> WorkContext:
    """The context of a tick that began now and may run ``allowance`` seconds."""
    record = ChildRecord(name, "worker", 1.0)
    record.running_since = clock.monotonic()
    return WorkContext(name, threading.Event(), clock, record, allowance=lambda record: allowance)


def advance_on(clock: ManualClock, seconds: float, path_part: str):
    def hook(request: RequestRecord) -> None:
        if path_part in request.path:
            clock.advance(seconds)

    return hook


def test_the_explainer_declares_a_deadline_that_fits_one_analysis(world: World) -> None:
    world.configure(ollama={"timeout": 900.0})
    deadline = world.explainer().task_spec().deadline
    assert deadline is not None and deadline > 2 * 900.0


def test_the_explainer_takes_no_job_it_could_not_finish_before_its_deadline(
    world: World,
) -> None:
    world.configure(github={"issues": {"since": "all"}})
    for _ in range(5):
        world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    explainer = world.explainer()
    allowance = explainer.task_spec().deadline
    assert allowance is not None
    clock = ManualClock()
    # Each model answer takes 60 % of a job's allowance: after two jobs less
    # than one job's allowance is left.
    world.ollama.before_request = advance_on(clock, 0.3 * allowance, "/api/generate")
    explainer.run(tick_context(clock, allowance, "worker:issue-explainer"))
    commented = [n for n in range(1, 6) if world.github.marker_comments("octo", "hello", n, MARKER)]
    assert commented == [1, 2]
    assert pending_jobs(world.store) == 3  # for the next tick, attempts unspent


def test_a_catch_up_stops_at_half_its_tick_and_goes_on_at_the_next(world: World) -> None:
    for _ in range(350):
        world.github.add_issue("octo", "hello")
    repository_id = world.validate()
    clock = ManualClock()
    world.github.before_request = advance_on(clock, 30.0, "/issues")
    poller = IssuePoller(world.github_client, world.store, 10.0)
    tenant = RepoTenant("octo", "hello", repository_id)

    poller.poll(tick_context(clock, 100.0, "worker:issue-poller:octo/hello"), tenant)
    # Two pages (30 s each): then less than half of the 100 s was left.
    assert len(world.github.requests_for("/repos/octo/hello/issues")) == 2
    assert count(world.store, "issues") < 350
    poller.poll(tick_context(clock, 100.0, "worker:issue-poller:octo/hello"), tenant)
    assert count(world.store, "issues") == 350


def test_a_busy_explainer_never_runs_into_the_runtimes_tick_deadline(
    github: FakeGitHub, ollama: FakeOllama, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for _ in range(8):
        github.add_issue("octo", "hello")
    ollama.slow(0.25, "/api/generate")  # eight answers: twice the tick deadline
    handle = run_daemon(
        make_settings(
            ["octo/hello"], github={"issues": {"since": "all"}}, runtime={"tick_deadline": 1.0}
        )
    )
    wait_until(
        lambda: query(db, "SELECT count(*) FROM analyses WHERE posted_at IS NOT NULL")[0][0] == 8,
        timeout=60,
        what="eight analyses posted",
    )
    [explainer] = [c for c in handle.status()["children"] if c["name"] == "worker:issue-explainer"]
    assert (explainer["failures"], explainer["last_error"]) == (0, None)
