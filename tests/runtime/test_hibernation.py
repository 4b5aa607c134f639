"""Hibernating actors: no thread or greenlet while idle, a pykka actor from the outside.

Each test runs on both backends (their runners and hibernating actor classes),
on a pool made for the test and closed after it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from autosolve.runtime import Unit
from autosolve.runtime.backends import ExecutionBackend, get_backend
from autosolve.runtime.backends.hibernation import HibernatingActor, Runners
from autosolve.runtime.context import Event
from tests.runtime.conftest import BACKENDS
from tests.runtime.harness import Harness

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


class Pool:
    """A backend, its runners, and the hibernating actor class started on them."""

    def __init__(self, name: str) -> None:
        self.backend: ExecutionBackend = get_backend(name)
        self.runners: Runners = self.backend.make_runners()
        self.actor_class = self.backend.child_actor_class(self.runners)

    def actor(self, **attributes: Any) -> type[HibernatingActor]:
        return type("Tested", (self.actor_class,), attributes)


@pytest.fixture(params=BACKENDS)
def pool(request: pytest.FixtureRequest) -> Iterator[Pool]:
    made = Pool(request.param)
    yield made
    made.runners.close()


def echo(self: Any, message: Any) -> Any:
    return message


def test_an_idle_actor_holds_no_runner_and_a_message_brings_it_back(pool: Pool) -> None:
    refs = [pool.actor(on_receive=echo).start() for _ in range(50)]
    assert [ref.ask(index, timeout=5) for index, ref in enumerate(refs)] == list(range(50))
    assert pool.runners.queued() == 0
    assert all(ref.actor_inbox.runner is None for ref in refs)  # all hibernating
    assert refs[7].ask("again", timeout=5) == "again"
    for ref in refs:
        ref.stop(timeout=5)


def test_it_is_a_pykka_actor_from_the_outside_proxies_asks_tells_and_stop(pool: Pool) -> None:
    events: list[str] = []

    def on_start(self: Any) -> None:
        events.append("started")

    def on_stop(self: Any) -> None:
        events.append("stopped")

    def add(self: Any, a: int, b: int) -> int:
        return a + b

    ref = pool.actor(on_start=on_start, on_stop=on_stop, add=add, on_receive=echo).start()
    ref.tell("told")
    assert ref.proxy().add(2, 3).get(timeout=5) == 5
    assert ref.ask("asked", timeout=5) == "asked"
    assert ref.stop(timeout=5) is True
    assert events == ["started", "stopped"] and not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("late", timeout=5)


def test_messages_are_handled_one_at_a_time_in_the_order_they_were_sent(pool: Pool) -> None:
    seen: list[int] = []

    def record(self: Any, message: int) -> None:
        seen.append(message)

    ref = pool.actor(on_receive=record).start()
    for number in range(200):
        ref.tell(number)
    ref.ask(-1, timeout=5)
    assert seen == [*range(200), -1]
    ref.stop(timeout=5)


def test_an_error_answering_an_ask_reaches_the_caller_and_the_actor_lives_on(pool: Pool) -> None:
    def fail(self: Any, message: Any) -> Any:
        if message == "fail":
            raise ValueError("asked to")
        return message

    ref = pool.actor(on_receive=fail).start()
    with pytest.raises(ValueError, match="asked to"):
        ref.ask("fail", timeout=5)
    assert ref.ask("still here", timeout=5) == "still here"
    ref.stop(timeout=5)


def gated(pool: Pool) -> tuple[Event, type[HibernatingActor]]:
    """A gate, and an actor that echoes every message but waits for the gate on ``block``."""
    gate = pool.backend.make_event()

    def wait(self: Any, message: Any) -> Any:
        if message == "block":
            gate.wait(5.0)
        return message

    return gate, pool.actor(on_receive=wait)


def test_what_an_actor_sent_before_it_ended_is_answered_as_dead(pool: Pool) -> None:
    gate, actor = gated(pool)
    ref = actor.start()
    ref.tell("block")
    ref.tell(pykka.messages._ActorStop())  # after the block, before the ask
    pending = ref.ask("too late", block=False)
    gate.set()
    with pytest.raises(pykka.ActorDeadError):
        pending.get(timeout=5)


def test_a_blocked_activation_does_not_hold_up_the_others(pool: Pool) -> None:
    gate, actor = gated(pool)
    blocked, other = actor.start(), actor.start()
    pending = blocked.ask("block", block=False)
    assert other.ask("through", timeout=5) == "through"  # another runner took it
    gate.set()
    assert pending.get(timeout=5) == "block"
    for ref in (blocked, other):
        ref.stop(timeout=5)


def test_context_variables_an_actor_sets_stay_its_own_whichever_runner_runs_it(
    pool: Pool,
) -> None:
    def on_start(self: Any) -> None:
        MARK.set(self.mark)

    def read(self: Any, message: Any) -> str:
        return MARK.get()

    refs = [pool.actor(on_start=on_start, on_receive=read, mark=f"m{i}").start() for i in range(8)]
    for _ in range(3):
        assert [ref.ask("?", timeout=5) for ref in refs] == [f"m{i}" for i in range(8)]
    assert MARK.get() == "unset"
    for ref in refs:
        ref.stop(timeout=5)


def test_an_idle_child_holds_no_runner_between_its_ticks(harness: Harness) -> None:
    count = 40
    ticked = []

    def work(ctx: Any) -> None:
        ticked.append(ctx.name)
        harness.poke()

    handle = harness.start(workers=[Unit(f"worker:{i}", work, 10.0) for i in range(count)])
    harness.wait_for(lambda: len(ticked) == count, what="every first tick")
    harness.wait_for(lambda: handle.runners.busy() == 0, what="every runner parked")
    harness.advance(10.0)
    harness.wait_for(lambda: len(ticked) == 2 * count, what="every second tick")
    harness.wait_for(lambda: handle.runners.busy() == 0, what="every runner parked again")


def test_a_hung_tick_abandoned_on_greenlets_leaves_its_runner_to_other_children() -> None:
    harness = Harness("gevent")
    hang = harness.backend.make_event()
    ticks: list[str] = []

    def work(ctx: Any) -> None:
        ticks.append(ctx.name)
        if ctx.name == "worker:hung":
            hang.wait(60.0)  # ignores its cancellation

    handle = harness.start(
        workers=[Unit(name, work, 10.0, deadline=1.0) for name in ("worker:hung", "worker:fine")],
        shutdown_timeout=0.5,
    )
    try:
        harness.wait_for(lambda: len(ticks) == 2, what="both first ticks")
        harness.advance(1.0)  # past the deadline: cancelled at the next sweep
        harness.wait_event("overdue", "worker:hung")
        harness.advance(1.0)  # past the shutdown_timeout after it: declared hung, abandoned
        harness.wait_event("hung", "worker:hung")
        harness.wait_for(lambda: handle.runners.busy() == 0, what="the hung runner freed")
        assert not hang.is_set()
    finally:
        hang.set()
        harness.stop()


def test_the_runners_of_a_closed_pool_end(pool: Pool) -> None:
    ref = pool.actor(on_receive=echo).start()
    assert ref.ask(1, timeout=5) == 1
    ref.stop(timeout=5)
    pool.runners.close()
    Harness(pool.backend.name).wait_for(lambda: pool.runners.busy() == 0, what="runners to end")


def test_a_hibernating_actor_is_stopped_in_place_and_a_busy_one_is_not(pool: Pool) -> None:
    stopped_in: list[str] = []
    gate = pool.backend.make_event()

    def on_start(self: Any) -> None:
        MARK.set("its own")

    def on_stop(self: Any) -> None:
        stopped_in.append(MARK.get())

    def wait(self: Any, message: Any) -> Any:
        if message == "block":
            gate.wait(5.0)
        return message

    idle = pool.actor(on_start=on_start, on_stop=on_stop, on_receive=wait).start()
    busy = pool.actor(on_receive=wait).start()
    assert idle.ask("warm", timeout=5) == "warm"
    pending = busy.ask("block", block=False)
    actor = idle.actor_inbox.actor  # its answer may come before it hibernates: wait for that
    Harness(pool.backend.name).wait_for(actor.stop_if_hibernating, what="stopped in place")
    assert not idle.is_alive() and stopped_in == ["its own"]
    with pytest.raises(pykka.ActorDeadError):
        idle.ask("late", timeout=5)
    assert not busy.actor_inbox.actor.stop_if_hibernating()  # its activation runs
    gate.set()
    assert pending.get(timeout=5) == "block"
    busy.stop(timeout=5)
