"""Property-based tests of hibernating actors: random interleavings of what wakes them.

The supervisor's stateful suite (``test_supervisor_properties.py``) drives
whole runs; this one drives the actors under them directly, on each
backend's pool of runners, so hypothesis can interleave what a run only
does by chance: messages told and asked to actors that hibernate, are
woken, block a runner, fail, are stopped by message or in place while they
hibernate. The invariants:

- one message at a time per actor, in the order it was sent, each once;
- an actor that is not blocked inside a message catches up with what it was
  sent (a blocked runner holds up no other actor);
- an actor that has nothing to do holds no runner (it hibernates);
- an ask is answered: with its reply, or ``ActorDeadError`` when it came
  after the actor's end (its failure or its stop);
- a failure of a told message is supervised: ``on_failure`` once, and the
  actor ends there; a stop runs ``on_stop`` once and returns within its bound;
  a stop in place succeeds only for an actor with nothing left to handle;
- nothing keeps a runner once the pool is closed.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pykka
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from tests.runtime.conftest import BACKENDS
from tests.runtime.machines import BackendMachine
from tests.runtime.test_hibernation import Pool

pytestmark = pytest.mark.timeout(180)

ACTORS = range(3)
KINDS = ("note", "ask", "block")
STOP_BOUND = 10.0
"""Real seconds a stop may take once nothing blocks the actor."""


@dataclass
class Sent:
    """One message sent to an actor, in the order sent."""

    kind: str
    seq: int
    answer: pykka.Future[Any] | None = None
    """The reply of an ask (or a stop)."""


@dataclass
class Track:
    """What one actor was sent, what it handled, and how it ended."""

    sent: list[Sent] = field(default_factory=list)
    handled: list[int] = field(default_factory=list)
    ended_at: int | None = None
    """How many of :attr:`sent` came before its end (a failure, a stop); None: alive."""
    inside: int = 0
    """Handlers of it running right now."""
    blocked: bool = False
    """A handler of it waits for the gate."""
    failures: int = 0
    stops: int = 0

    def expected(self) -> list[int]:
        """What it must handle, in order: everything sent before its end (a failing
        message included)."""
        end = len(self.sent) if self.ended_at is None else self.ended_at
        return [sent.seq for sent in self.sent[:end] if sent.kind != "stop"]


class HibernationMachine(BackendMachine):
    def __init__(self) -> None:
        super().__init__()
        self.pool = Pool(self.backend_name)
        self.lock = threading.Lock()
        self.gate = self.pool.backend.make_event()
        self.tracks: dict[int, Track] = defaultdict(Track)
        self.violations: list[str] = []
        self.seq = 0
        self.closing = False
        """Set by the teardown: a message that blocks no longer waits."""
        self.refs = [self._actor(index).start() for index in ACTORS]

    def _actor(self, index: int) -> type[Any]:
        machine, track = self, self.tracks[index]

        def on_receive(actor: Any, message: tuple[str, int]) -> int:
            kind, seq = message
            with machine.lock:
                track.inside += 1
                if track.inside > 1:
                    machine.violations.append(f"actor {index}: two messages at once")
                track.handled.append(seq)
                gate = machine.gate
                track.blocked = kind == "block" and not machine.closing
            try:
                if track.blocked:
                    gate.wait(60.0)
                if kind == "fail":
                    raise ValueError(f"message {seq} fails")
                return seq
            finally:
                with machine.lock:
                    track.inside -= 1
                    track.blocked = False
                machine.harness.poke()

        def on_failure(actor: Any, *exc_info: Any) -> None:
            track.failures += 1

        def on_stop(actor: Any) -> None:
            track.stops += 1

        return self.pool.actor(on_receive=on_receive, on_failure=on_failure, on_stop=on_stop)

    def _send(self, index: int, kind: str) -> None:
        self.seq += 1
        sent = Sent(kind, self.seq)
        ref, track = self.refs[index], self.tracks[index]
        with self.lock:
            track.sent.append(sent)
        try:
            if kind == "ask":
                sent.answer = ref.ask((kind, sent.seq), block=False)
            else:
                ref.tell((kind, sent.seq))
        except pykka.ActorDeadError:
            assert track.ended_at is not None, f"actor {index} refused a message while alive"
        if kind == "fail" and track.ended_at is None:
            track.ended_at = len(track.sent)

    # -- rules -------------------------------------------------------------------

    @rule(index=st.sampled_from(ACTORS), kind=st.sampled_from(KINDS))
    def send(self, index: int, kind: str) -> None:
        self._send(index, kind)

    @rule(index=st.sampled_from(ACTORS))
    def fail(self, index: int) -> None:
        self._send(index, "fail")

    @rule()
    def open_gate(self) -> None:
        with self.lock:
            gate, self.gate = self.gate, self.pool.backend.make_event()
        gate.set()

    @rule(index=st.sampled_from(ACTORS))
    def stop(self, index: int) -> None:
        track = self.tracks[index]
        sent = Sent("stop", 0, self.refs[index].stop(block=False))
        with self.lock:
            track.sent.append(sent)
        if track.ended_at is None:
            track.ended_at = len(track.sent) - 1

    @rule(index=st.sampled_from(ACTORS))
    def stop_in_place(self, index: int) -> None:
        track, actor = self.tracks[index], self.refs[index].actor_inbox.actor
        if actor is None or track.ended_at is not None:
            return
        if actor.stop_if_hibernating():
            with self.lock:
                assert track.handled == track.expected(), f"actor {index} stopped with work left"
                track.ended_at = len(track.sent)

    # -- invariants --------------------------------------------------------------

    @invariant()
    def one_at_a_time_in_order_each_once(self) -> None:
        with self.lock:
            assert self.violations == []
            for index, track in self.tracks.items():
                expected = track.expected()
                assert track.handled == expected[: len(track.handled)], f"actor {index} order"

    @invariant()
    def an_actor_not_blocked_catches_up(self) -> None:
        def caught_up() -> bool:
            with self.lock:
                return all(
                    track.blocked or track.handled == track.expected()
                    for track in self.tracks.values()
                )

        self.harness.wait_for(caught_up, what="every actor not blocked to catch up")

    @invariant()
    def idle_actors_hold_no_runner(self) -> None:
        def parked() -> bool:
            with self.lock:
                blocked = sum(track.blocked for track in self.tracks.values())
            return self.pool.runners.busy() <= blocked

        self.harness.wait_for(parked, what="runners of idle actors to park")

    # -- the end -----------------------------------------------------------------

    def teardown(self) -> None:
        self.closing = True
        self.open_gate()
        try:
            for index, ref in enumerate(self.refs):
                self._check_answers(index)
                stopped = ref.stop(block=False)
                stopped.get(timeout=STOP_BOUND)  # bounded: nothing blocks it any more
            for index, track in self.tracks.items():
                assert track.handled == track.expected(), f"actor {index} lost a message"
                assert track.failures <= 1 and track.stops <= 1, f"actor {index} ended twice"
                assert track.failures + track.stops == 1, f"actor {index} did not end once"
        finally:
            self.open_gate()
            self.pool.runners.close()
        self.harness.wait_for(lambda: self.pool.runners.busy() == 0, what="the runners to end")

    def _check_answers(self, index: int) -> None:
        track = self.tracks[index]
        end = len(track.sent) if track.ended_at is None else track.ended_at
        for position, sent in enumerate(track.sent):
            if sent.answer is None:
                continue
            if sent.kind == "stop":
                sent.answer.get(timeout=STOP_BOUND)  # True or False, but answered in time
            elif position < end:
                assert sent.answer.get(timeout=STOP_BOUND) == sent.seq
            else:
                with pytest.raises(pykka.ActorDeadError):
                    sent.answer.get(timeout=STOP_BOUND)


PROPERTY_SETTINGS = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

TestHibernationOnThreads = HibernationMachine.on(BACKENDS[0]).TestCase
TestHibernationOnThreads.settings = PROPERTY_SETTINGS
TestHibernationOnGreenlets = HibernationMachine.on(BACKENDS[1]).TestCase
TestHibernationOnGreenlets.settings = PROPERTY_SETTINGS
