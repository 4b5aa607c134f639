"""Property-based tests of the supervisor: random interleavings, checked invariants.

In the spirit of the QuickCheck state-machine tests that found bugs in
Erlang/OTP's own supervisor and process registry: hypothesis drives a real
runtime (each backend, on the manual clock) with random sequences of ticks
that succeed, raise an ``Exception`` or a ``BaseException``, raise wait-hinted
errors, hang past the stop's timeout or wait for a gate a later step opens
(a runner stays busy while the other children hibernate and wake); control calls on random names and
glob patterns, one at a time or several sent before any is answered (they
apply in the order sent); clock jumps; groups added (names sometimes taken) and
children removed by name or pattern (names sometimes added again); children
stopped and started again by name or pattern (supervisorctl's ``stop`` and
``start``); and a stop at a random moment. The invariants:

- ticks of one child never overlap, not even of a name removed and added again
  (but for a tick the runtime abandoned, which it can only leave running);
- a paused child never ticks, but for one tick per run-now asked for while
  paused (and the tick the pause may have caught on its way in);
- a group's worker never ticks before its group's preflight succeeded (or
  was removed); a removed child starts no tick after its removal (but the one
  it may have been starting); a stopped child starts no tick after its stop
  (but that one), and shows as stopped once its actor ended;
- every failure is followed by exactly one restart, or is permanent, or the
  child was stopped;
- a later group's preflight failing for good never fails the run;
- the status lists exactly the children added and not removed;
- the run always ends with a result, and the stop returns within its bound;
- children hibernate: once things settle, no runner is busy but for the ticks
  still in their work (an idle child holds no thread or greenlet), whatever
  messages, ticks and stops woke them in whatever order;
- no actor, thread or greenlet of the runtime outlives the run.
"""

from __future__ import annotations

import fnmatch
import functools
import gc
import itertools
import threading
from collections import defaultdict, deque
from typing import Any

import gevent
import greenlet
import pykka
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from autosolve.runtime import ControlError, PhasePolicies, Policies, RestartPolicy, Unit
from tests.runtime.errors import RateLimited, node_error
from tests.runtime.harness import Harness
from tests.runtime.machines import BackendMachine

pytestmark = pytest.mark.timeout(180)

WORKERS = ("worker:a", "worker:b", "worker:c")
PREFLIGHT = "preflight:p"
NAMES = (PREFLIGHT, *WORKERS)
PATTERNS = (*NAMES, "worker:*", "*", "worker:[ab]", "nope", "preflight:*", "*:g1:*", "worker:g*")
GROUPS = (1, 2, 3)
"""Group ``k`` is ``preflight:gk`` and ``worker:gk:a``/``b``; added again once removed."""
REMOVALS = ("*:g1:*", "*:g2:*", "worker:g3:*", "preflight:g*", "worker:g2:a", "worker:c", "nope")
OUTCOMES = ("ok", "node", "base", "hinted", "hang", "wait")
BASE_ERRORS = (SystemExit, KeyboardInterrupt, greenlet.GreenletExit, gevent.Timeout)
SHUTDOWN_TIMEOUT = 0.1
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
        self.gate = harness.backend.make_event()
        """What ``wait`` ticks wait for: opened (and replaced) by a step."""
        self.hanging: set[str] = set()
        self.base_raised = 0
        self.lock = threading.Lock()

        self.released: set[int] = {0}
        """Groups (by incarnation) whose workers may tick: their preflight succeeded or went."""
        self.removed: dict[tuple[int, str], int] = {}
        """Ticks started by a removed incarnation of a child since its removal."""
        self.halted: dict[tuple[int, str], int] = {}
        """Ticks started by a child since it was stopped on request (until it is started)."""

    def work(self, incarnation: int, ctx: Any) -> None:
        name = ctx.name
        with self.lock:
            self.running[name] += 1
            if self.running[name] > 1 + self._abandoned(name):
                self.violations.append(f"{name}: two ticks at once")
            if name.startswith("worker:") and incarnation not in self.released:
                self.violations.append(f"{name}: ticked before its group's preflight succeeded")
            for after, ticks in (("removal", self.removed), ("stop", self.halted)):
                if (incarnation, name) in ticks:
                    ticks[incarnation, name] += 1
                    if ticks[incarnation, name] > 1:
                        self.violations.append(f"{name}: ticked after its {after}")
            if name in self.paused:
                if self.allowed[name] > 0:
                    self.allowed[name] -= 1
                else:
                    self.violations.append(f"{name}: ticked while paused")
            outcome = self.plans[name].popleft() if self.plans[name] else "ok"
        try:
            self._act(name, outcome, ctx)
            if name.startswith("preflight:"):
                with self.lock:
                    self.released.add(incarnation)
        finally:
            with self.lock:
                self.running[name] -= 1
            self.harness.poke()

    def _abandoned(self, name: str) -> int:
        """Ticks of ``name`` the runtime abandoned: each may still run (a thread cannot end)."""
        return sum(1 for e in list(self.harness.events) if e.kind == "abandoned" and e.name == name)

    def in_work(self) -> int:
        """Ticks inside their work right now."""
        with self.lock:
            return sum(self.running.values())

    def open_gate(self) -> None:
        with self.lock:
            gate, self.gate = self.gate, self.harness.backend.make_event()
        gate.set()

    def _act(self, name: str, outcome: str, ctx: Any) -> None:
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
        if outcome == "wait":
            gate = self.gate
            while not (gate.wait(0.01) or ctx.cancelled):  # a stop ends the wait
                pass


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
        elif event.kind in ("spawned", "removed", "stopping", "stopped"):
            owed = False  # restarted, or a stop (of the run, or of the child) cancelled it
    if quiescent:
        assert not owed, f"{name}: a restart was lost"


def runtime_loops_alive(harness: Harness) -> list[str]:
    """Threads or greenlets still running a runtime actor's loop or its timer loop."""
    if harness.backend.name == "threading":
        return [
            t.name
            for t in threading.enumerate()
            if t.name.startswith(("SupervisorDaemon", "autosolve-timers", "autosolve-runner"))
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


class SupervisorMachine(BackendMachine):
    def __init__(self) -> None:
        super().__init__()
        self.script = Script(self.harness)
        self.stopped = False
        self.names = list(NAMES)
        """What the status must list: the children added and not removed, in order."""
        self.stopped: set[str] = set()
        """Children stopped on request and not started since."""
        self.incarnations = itertools.count(1)
        self.incarnation_of: dict[str, int] = dict.fromkeys(NAMES, 0)
        work = functools.partial(self.script.work, 0)
        self.handle = self.harness.start(
            preflights=[Unit(PREFLIGHT, work, deadline=NEVER)],
            workers=[Unit(name, work, 10.0, deadline=NEVER) for name in WORKERS],
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            policies=POLICIES,
        )

    @property
    def running(self) -> bool:
        return not self.stopped and self.handle.result is None

    @precondition(lambda self: self.running)
    @rule(
        name=st.sampled_from((*NAMES, *(f"{k}:g{g}{t}" for g in GROUPS for k, t in (
            ("preflight", ""), ("worker", ":a"), ("worker", ":b"))))),
        outcomes=st.lists(st.sampled_from(OUTCOMES), max_size=3),
    )  # fmt: skip
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
        targets = [n for n in self.names if n.startswith("worker:") and _matches(pattern, n)]
        if command == "restart":  # a restart starts a stopped child again
            self._start(pattern, lambda: self.handle.control(command, pattern), strict=False)
            return
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
                    # current tick finishes. One, never more.
                    script.allowed[name] = 1

    @precondition(lambda self: self.running)
    @rule(
        pattern=st.sampled_from(PATTERNS),
        commands=st.lists(st.sampled_from(("pause", "resume", "run_now")), min_size=2, max_size=4),
    )
    def control_in_a_row(self, pattern: str, commands: list[str]) -> None:
        """Control messages sent without waiting for each answer, while the children
        hibernate or tick: each is answered, and they apply in the order sent (the last
        pause or resume decides whether the children tick; run-nows after a pause tick
        a paused child once each)."""
        script = self.script
        targets = [n for n in self.names if n.startswith("worker:") and _matches(pattern, n)]
        with script.lock:  # while they land, a child may tick whatever it was
            was_paused = {name for name in targets if name in script.paused}
            script.paused.difference_update(targets)
        applied: list[str] = []
        try:
            proxy = self.handle.proxy
            futures = [getattr(proxy, command)(pattern) for command in commands]
            answers = [future.get(timeout=10.0) for future in futures]  # each one answered
            if all(answer["ok"] for answer in answers):
                applied = answers[-1]["names"]
        except pykka.ActorDeadError:
            pass  # the run ended meanwhile (its preflight failed for good)
        with script.lock:
            script.paused.update(was_paused - set(applied))
            for name in applied:
                self._after_in_a_row(name, commands, was_paused=name in was_paused)

    def _after_in_a_row(self, name: str, commands: list[str], *, was_paused: bool) -> None:
        """Whether ``name`` is paused after ``commands`` applied in order, and the ticks
        it may still make while paused (called with the script's lock held)."""
        script = self.script
        steers = [index for index, command in enumerate(commands) if command != "run_now"]
        after = commands[steers[-1] + 1 :] if steers else commands
        if steers and commands[steers[-1]] == "pause":
            script.allowed[name] = 1  # the tick the pause may have caught on its way in
        elif steers or not was_paused:
            script.allowed[name] = 0
            return  # resumed, or never paused
        script.paused.add(name)
        script.allowed[name] += after.count("run_now")  # each may tick a paused child once

    @precondition(lambda self: self.running)
    @rule(group=st.sampled_from(GROUPS))
    def add_group(self, group: int) -> None:
        names = [f"preflight:g{group}", f"worker:g{group}:a", f"worker:g{group}:b"]
        incarnation = next(self.incarnations)
        work = functools.partial(self.script.work, incarnation)
        try:
            number = self.handle.add(
                [Unit(names[0], work, deadline=NEVER)],
                [Unit(name, work, 10.0, deadline=NEVER) for name in names[1:]],
            )
        except ControlError as error:
            if str(error).startswith("the runtime is"):
                return  # the run ended meanwhile (its preflight failed for good)
            assert set(names) & set(self.names), f"refused without a reason: {error}"
            return
        assert number > 0 and not set(names) & set(self.names)
        self.names.extend(names)
        self.incarnation_of.update(dict.fromkeys(names, incarnation))

    @precondition(lambda self: self.running)
    @rule(pattern=st.sampled_from(REMOVALS))
    def remove(self, pattern: str) -> None:
        expected = [n for n in self.names if _matches(pattern, n)]
        script = self.script
        with script.lock:  # before the call: it may start the workers of a preflight removed
            for name in expected:
                script.removed[self.incarnation_of[name], name] = 0
                if name.startswith("preflight:"):
                    script.released.add(self.incarnation_of[name])
        try:
            removed = self.handle.remove(pattern)
        except ControlError as error:
            if str(error).startswith("the runtime is"):
                return  # the run ended meanwhile
            assert not expected, f"{pattern} matched {expected} yet was refused: {error}"
            return
        assert sorted(removed) == sorted(expected)
        self.names = [n for n in self.names if n not in removed]
        self.stopped.difference_update(removed)
        with script.lock:
            script.paused.difference_update(removed)  # a name added again starts unpaused

    @precondition(lambda self: self.running)
    @rule(pattern=st.sampled_from(PATTERNS))
    def stop_children(self, pattern: str) -> None:
        candidates = [n for n in self.names if _matches(pattern, n) and n not in self.stopped]
        script = self.script
        with script.lock:  # before the call: a tick after it counts
            for name in candidates:
                script.halted[self.incarnation_of[name], name] = 0
        try:
            names = self.handle.stop_children(pattern)
        except ControlError as error:
            names = []
            self._check_refusal(str(error), pattern, candidates)
        assert set(names) <= set(candidates), f"stopped {names}, not among {candidates}"
        self._check_left_out(candidates, names)
        self.stopped.update(names)
        with script.lock:
            for name in set(candidates) - set(names):
                del script.halted[self.incarnation_of[name], name]

    @precondition(lambda self: self.running)
    @rule(pattern=st.sampled_from(PATTERNS))
    def start_children(self, pattern: str) -> None:
        self._start(pattern, lambda: self.handle.start_children(pattern), strict=True)

    def _start(self, pattern: str, call: Any, *, strict: bool) -> None:
        """``call`` starts the stopped children matching ``pattern`` (``start``, ``restart``).

        ``strict``: a refusal must have a reason (a restart may be refused for
        children that are not stopped).
        """
        candidates = [n for n in self.stopped if _matches(pattern, n)]
        script = self.script
        with script.lock:  # before the call: the fresh actor may tick at once
            counts = {n: script.halted.pop((self.incarnation_of[n], n)) for n in candidates}
        try:
            names = call()
        except ControlError as error:
            names = []
            if strict:
                self._check_refusal(str(error), pattern, candidates)
        started = set(names) & set(candidates)
        self.stopped -= started
        with script.lock:
            for name in set(candidates) - started:
                script.halted[self.incarnation_of[name], name] = counts[name]

    def _check_refusal(self, error: str, pattern: str, candidates: list[str]) -> None:
        """A stop or start refused: the run ended, nothing matched, or no candidate qualified."""
        if error.startswith("the runtime is"):
            return
        if error.startswith("no child matches"):
            assert not any(_matches(pattern, n) for n in self.names), error
            return
        self._check_left_out(candidates, [])

    def _check_left_out(self, candidates: list[str], applied: list[str]) -> None:
        """Candidates left out are in a group whose preflight failed for good (or the run
        ended)."""
        left_out = set(candidates) - set(applied)
        if not left_out or self.handle.result is not None:
            return
        failed = {
            c["name"] for c in self.handle.status()["children"] if c["group_phase"] == "failed"
        }
        assert left_out <= failed, f"{sorted(left_out - failed)} left out without a reason"

    @precondition(lambda self: self.running)
    @rule()
    def stop(self) -> None:
        result = self.handle.stop(timeout=SHUTDOWN_TIMEOUT + 20.0)
        assert result is not None, "the stop did not finish within its bound"
        self.stopped = True

    @precondition(lambda self: self.running)
    @rule()
    def open_gate(self) -> None:
        """Ticks waiting for the gate finish, while other children hibernate and wake."""
        self.script.open_gate()

    @rule()
    def look(self) -> None:
        """A status call: it answers at any moment, also after the run ended."""
        status = self.handle.status()
        assert [c["name"] for c in status["children"]] == self.names

    @invariant()
    def no_overlap_and_no_paused_tick(self) -> None:
        assert self.script.violations == []

    @invariant()
    def idle_children_hold_no_runner(self) -> None:
        runners, script = self.handle.runners, self.script
        self.harness.wait_for(
            lambda: runners.busy() <= script.in_work(),
            what=f"runners to park ({runners.busy()} busy, {script.in_work()} ticks in work)",
        )

    @invariant()
    def restarts_are_never_doubled(self) -> None:
        for name in self.incarnation_of:
            check_restarts(list(self.harness.events), name, quiescent=False)

    @invariant()
    def only_the_initial_preflight_fails_the_run(self) -> None:
        result = self.handle.result
        if result is not None and not result.ok:
            assert PREFLIGHT in (result.reason or ""), result.reason

    def teardown(self) -> None:
        harness, handle = self.harness, self.handle
        try:
            if self.running:
                self._let_every_restart_happen()
                self._see_the_stopped_show_as_such()
            result = handle.stop(timeout=SHUTDOWN_TIMEOUT + 20.0)
            assert result is not None, "the run did not end"
            final = handle.status()
            assert final["phase"] in ("stopped", "failed")
            assert result.ok == (final["phase"] == "stopped")
            for child in final["children"]:
                assert child["state"] in ("pending", "succeeded", "stopped", "failed", "abandoned")
        finally:
            self.script.release.set()
            self.script.open_gate()
        harness.wait_for(
            lambda: not runtime_loops_alive(harness), timeout=20.0, what="runtime loops to end"
        )
        assert self.script.violations == []

    def _see_the_stopped_show_as_such(self) -> None:
        def shown() -> bool:
            if self.handle.result is not None:
                return True  # the run ended meanwhile: its own stop settles them
            children = {c["name"]: c for c in self.handle.status()["children"]}
            return all(
                children[name]["state"] in ("stopped", "abandoned")
                or children[name]["group_phase"] == "failed"  # its units all show failed
                for name in self.stopped
            )

        self.harness.wait_for(shown, timeout=20.0, what="the stopped children shown stopped")

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
                for name in self.incarnation_of:
                    check_restarts(events, name, quiescent=True)
            except AssertionError:
                return False
            return True

        self.harness.wait_for(nothing_owed, timeout=20.0, what="every owed restart")
        for child in self.handle.status()["children"]:
            if child["state"] == "backoff":
                assert child["next_run_at"] is not None, f"{child['name']}: backoff forever"


def _matches(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


PROPERTY_SETTINGS = settings(
    max_examples=80,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestSupervisorOnThreads = SupervisorMachine.on("threading").TestCase
TestSupervisorOnThreads.settings = PROPERTY_SETTINGS
TestSupervisorOnGreenlets = SupervisorMachine.on("gevent").TestCase
TestSupervisorOnGreenlets.settings = PROPERTY_SETTINGS
