"""Property-based tests of the supervisor: random interleavings, checked invariants.

In the spirit of the QuickCheck state-machine tests that found bugs in
Erlang/OTP's own supervisor and process registry: hypothesis drives a real
runtime (each backend, on the manual clock) with random sequences of ticks
that succeed, raise an ``Exception`` or a ``BaseException``, raise wait-hinted
errors or hang past the stop's timeout; control calls on random names and
glob patterns; clock jumps; and a stop at a random moment. The invariants:

- ticks of one child never overlap;
- a paused child never ticks, but for one tick per run-now asked for while
  paused (and the tick the pause may have caught on its way in);
- every failure is followed by exactly one restart, or is permanent;
- the run always ends with a result, and the stop returns within its bound;
- no actor, thread or greenlet of the runtime outlives the run.
"""

from __future__ import annotations

import gc
import threading
from collections import defaultdict, deque
from typing import Any

import gevent
import greenlet
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from autosolve.runtime import ControlError, PhasePolicies, Policies, RestartPolicy, Unit
from tests.runtime.errors import RateLimited, node_error
from tests.runtime.harness import Harness

pytestmark = pytest.mark.timeout(180)

WORKERS = ("worker:a", "worker:b", "worker:c")
PREFLIGHT = "preflight:p"
NAMES = (PREFLIGHT, *WORKERS)
PATTERNS = (*NAMES, "worker:*", "*", "worker:[ab]", "nope", "preflight:*")
OUTCOMES = ("ok", "node", "base", "hinted", "hang")
BASE_ERRORS = (SystemExit, KeyboardInterrupt, greenlet.GreenletExit, gevent.Timeout)
SHUTDOWN_TIMEOUT = 0.3
"""Real seconds a stop waits for hanging work before abandoning it."""
POLICIES = Policies(
    preflight=PhasePolicies(node=RestartPolicy(0.0, 0.0), service=RestartPolicy(5.0, 300.0)),
    worker=PhasePolicies(
        node=RestartPolicy(0.0, 0.0),  # a restart due at once races the old actor's exit
        service=RestartPolicy(5.0, 300.0),
        degraded=RestartPolicy(30.0, 300.0, jitter=0.5),
    ),
)
NEVER = 1e9
"""A tick deadline no test reaches: hangs here are about the stop, not the watchdog."""


class Script:
    """Per-child plans of what the next ticks do, and what the ticks saw."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.plans: dict[str, deque[str]] = defaultdict(deque)
        self.running: dict[str, int] = defaultdict(int)
        self.paused: set[str] = set()
        self.allowed: dict[str, int] = defaultdict(int)
        """Run-nows asked for while paused: each may tick a paused child once."""
        self.violations: list[str] = []
        self.release = harness.backend.make_event()
        self.hanging: set[str] = set()
        self.base_raised = 0
        self.lock = threading.Lock()

    def work(self, ctx: Any) -> None:
        name = ctx.name
        with self.lock:
            self.running[name] += 1
            if self.running[name] > 1:
                self.violations.append(f"{name}: two ticks at once")
            if name in self.paused:
                if self.allowed[name] > 0:
                    self.allowed[name] -= 1
                else:
                    self.violations.append(f"{name}: ticked while paused")
            outcome = self.plans[name].popleft() if self.plans[name] else "ok"
        try:
            self._act(name, outcome)
        finally:
            with self.lock:
                self.running[name] -= 1
            self.harness.poke()

    def _act(self, name: str, outcome: str) -> None:
        if outcome == "node":
            raise node_error()
        if outcome == "base":
            self.base_raised += 1  # each kind in turn
            raise BASE_ERRORS[self.base_raised % len(BASE_ERRORS)]()
        if outcome == "hinted":
            raise RateLimited(7.5)
        if outcome == "hang":
            self.hanging.add(name)
            self.release.wait(60.0)  # ignores cancellation: only the test releases it


def check_restarts(events: list[Any], name: str, *, quiescent: bool) -> None:
    """Every non-permanent failure is followed by exactly one restart (a fresh actor)."""
    owed = False
    backoffs = 0
    for event in events:
        if event.name != name:
            continue
        if event.kind == "failed":
            assert not owed, f"{name}: failed again before its restart"
            owed, backoffs = not event.detail.permanent, 0
        elif event.kind == "backoff":
            backoffs += 1
            assert owed and backoffs == 1, f"{name}: a backoff without a failure, or two"
        elif event.kind == "spawned":
            owed = False
    if quiescent:
        assert not owed, f"{name}: a restart was lost"


def runtime_loops_alive(harness: Harness) -> list[str]:
    """Threads or greenlets still running a runtime actor's loop or its timer loop."""
    if harness.backend.name == "threading":
        return [
            t.name
            for t in threading.enumerate()
            if t.name.startswith(("ChildDaemon", "SupervisorDaemon", "autosolve-timers"))
        ]
    alive = []
    for obj in gc.get_objects():
        # type(), not isinstance(): the latter asks lazy proxies (dynaconf) for __class__
        if issubclass(type(obj), greenlet.greenlet) and not obj.dead and obj.gr_frame:
            frame = obj.gr_frame
            while frame is not None:
                if frame.f_code.co_name in ("_actor_loop", "_run") and "autosolve" in (
                    frame.f_code.co_filename
                ):
                    alive.append(repr(obj))
                    break
                frame = frame.f_back
    return alive


class SupervisorMachine(RuleBasedStateMachine):
    backend_name = "threading"

    def __init__(self) -> None:
        super().__init__()
        self.harness = Harness(self.backend_name)
        self.script = Script(self.harness)
        self.stopped = False
        self.handle = self.harness.start(
            preflights=[Unit(PREFLIGHT, self.script.work, deadline=NEVER)],
            workers=[Unit(name, self.script.work, 10.0, deadline=NEVER) for name in WORKERS],
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            policies=POLICIES,
        )

    @property
    def running(self) -> bool:
        return not self.stopped and self.handle.result is None

    @precondition(lambda self: self.running)
    @rule(name=st.sampled_from(NAMES), outcomes=st.lists(st.sampled_from(OUTCOMES), max_size=3))
    def plan(self, name: str, outcomes: list[str]) -> None:
        with self.script.lock:
            self.script.plans[name].extend(outcomes)

    @precondition(lambda self: self.running)
    @rule(seconds=st.sampled_from((0.5, 2.0, 7.5, 10.0, 30.0, 300.0)))
    def advance(self, seconds: float) -> None:
        self.harness.advance(seconds)

    @precondition(lambda self: self.running)
    @rule(
        command=st.sampled_from(("pause", "resume", "run_now", "restart")),
        pattern=st.sampled_from(PATTERNS),
    )
    def control(self, command: str, pattern: str) -> None:
        script = self.script
        targets = [n for n in WORKERS if _matches(pattern, n)]
        with script.lock:  # before the call: the ticks it causes are allowed
            if command == "resume":
                script.paused.difference_update(targets)
            if command == "resume":
                for name in targets:
                    script.allowed[name] = 0
            granted = [n for n in targets if n in script.paused] if command == "run_now" else []
            for name in granted:
                script.allowed[name] += 1
        try:
            names = self.handle.control(command, pattern)
        except ControlError:
            with script.lock:
                for name in granted:
                    script.allowed[name] = max(0, script.allowed[name] - 1)
            return
        if command == "pause":
            with script.lock:
                script.paused.update(names)
                for name in names:
                    # A tick that got past the runtime's pause check just before
                    # the pause landed may reach the work after this line: the
                    # current tick finishes (SPEC §2.5). One, never more.
                    script.allowed[name] = 1

    @precondition(lambda self: self.running)
    @rule()
    def stop(self) -> None:
        result = self.handle.stop(timeout=SHUTDOWN_TIMEOUT + 20.0)
        assert result is not None, "the stop did not finish within its bound"
        self.stopped = True

    @rule()
    def look(self) -> None:
        """A status call: it answers at any moment, also after the run ended."""
        status = self.handle.status()
        assert [c["name"] for c in status["children"]] == list(NAMES)

    @invariant()
    def no_overlap_and_no_paused_tick(self) -> None:
        assert self.script.violations == []

    @invariant()
    def restarts_are_never_doubled(self) -> None:
        for name in NAMES:
            check_restarts(list(self.harness.events), name, quiescent=False)

    def teardown(self) -> None:
        harness, handle = self.harness, self.handle
        try:
            if self.running:
                self._let_every_restart_happen()
            result = handle.stop(timeout=SHUTDOWN_TIMEOUT + 20.0)
            assert result is not None, "the run did not end"
            final = handle.status()
            assert final["phase"] in ("stopped", "failed")
            assert result.ok == (final["phase"] == "stopped")
            for child in final["children"]:
                assert child["state"] in ("pending", "succeeded", "stopped", "failed", "abandoned")
        finally:
            self.script.release.set()
        harness.wait_for(
            lambda: not runtime_loops_alive(harness), timeout=20.0, what="runtime loops to end"
        )
        assert self.script.violations == []

    def _let_every_restart_happen(self) -> None:
        with self.script.lock:
            for plan in self.script.plans.values():
                plan.clear()
        for _ in range(4):
            self.harness.advance(400.0)  # past every backoff (the cap is 300 s)

        def nothing_owed() -> bool:
            if self.handle.result is not None:
                return True  # a preflight failed permanently meanwhile
            events = list(self.harness.events)
            try:
                for name in NAMES:
                    check_restarts(events, name, quiescent=True)
            except AssertionError:
                return False
            return True

        self.harness.wait_for(nothing_owed, timeout=20.0, what="every owed restart")
        for child in self.handle.status()["children"]:
            if child["state"] == "backoff":
                assert child["next_run_at"] is not None, f"{child['name']}: backoff forever"


def _matches(pattern: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def machine_for(backend_name: str) -> type[SupervisorMachine]:
    return type(f"Supervisor{backend_name.title()}Machine", (SupervisorMachine,), {
        "backend_name": backend_name,
    })  # fmt: skip


PROPERTY_SETTINGS = settings(
    max_examples=80,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestSupervisorOnThreads = machine_for("threading").TestCase
TestSupervisorOnThreads.settings = PROPERTY_SETTINGS
TestSupervisorOnGreenlets = machine_for("gevent").TestCase
TestSupervisorOnGreenlets.settings = PROPERTY_SETTINGS
