"""Nothing escapes a child: every exception from work is that child's failure."""

from __future__ import annotations

import gevent
import gevent.event
import greenlet
import pykka
import pytest

from autosolve.runtime import Unit
from tests.runtime.harness import Harness

NAME = "worker:explosive"

BASE_EXCEPTIONS = {
    "SystemExit": lambda: SystemExit(3),
    "KeyboardInterrupt": KeyboardInterrupt,
    "GreenletExit": greenlet.GreenletExit,
    "gevent.Timeout": gevent.Timeout,
}


class Bystander:
    """A pykka actor of the embedding application, on the harness's backend."""

    def __init__(self, harness: Harness) -> None:
        actor_class = type("Bystander", (harness.backend.actor_class,), {"on_receive": _echo})
        self.ref = actor_class.start()

    def alive_and_answering(self) -> bool:
        return self.ref.is_alive() and self.ref.ask("ping", timeout=5.0) == "ping"

    def stop(self) -> None:
        if self.ref.is_alive():
            self.ref.stop(timeout=5.0)


def _echo(self, message):
    return message


@pytest.fixture
def bystander(harness: Harness):
    actor = Bystander(harness)
    yield actor
    actor.stop()


@pytest.mark.parametrize("make_error", BASE_EXCEPTIONS.values(), ids=BASE_EXCEPTIONS.keys())
def test_a_base_exception_from_work_is_a_degraded_failure_of_that_child(
    harness: Harness, bystander: Bystander, make_error
) -> None:
    def work(ctx):
        raise make_error()

    handle = harness.start(workers=[Unit(NAME, work, 10.0)])
    harness.wait_event("backoff", NAME)
    assert harness.named("failed", NAME)[0].detail.category == "degraded"
    assert harness.backoff_delays(NAME) == [30.0]  # the worker's degraded policy
    assert handle.status()["phase"] == "workers"
    assert bystander.alive_and_answering()
    harness.advance(30.0)
    harness.wait_event("spawned", NAME, count=2)
    result = handle.stop(timeout=10.0)
    assert result is not None and result.ok
    assert bystander.alive_and_answering()


@pytest.mark.parametrize("make_error", BASE_EXCEPTIONS.values(), ids=BASE_EXCEPTIONS.keys())
def test_a_base_exception_in_a_preflight_is_permanent_without_a_degraded_policy(
    harness: Harness, bystander: Bystander, make_error
) -> None:
    def work(ctx):
        raise make_error()

    handle = harness.start(preflights=[Unit("preflight:p", work)])
    result = handle.wait(10.0)
    assert result is not None and not result.ok
    assert "preflight:p" in result.reason
    assert handle.status()["phase"] == "failed"
    assert bystander.alive_and_answering()


def test_an_uncaught_gevent_timeout_block_is_a_failure_not_a_massacre(
    bystander: Bystander, harness: Harness
) -> None:
    if harness.backend.name != "gevent":
        pytest.skip("the everyday gevent pattern needs greenlets")

    def work(ctx):
        with gevent.Timeout(0.01):
            gevent.event.Event().wait()

    harness.start(workers=[Unit(NAME, work, 10.0)])
    failed = harness.wait_event("failed", NAME)
    assert failed.detail.category == "degraded"
    assert "Timeout" in harness.child(NAME)["last_error"]
    assert bystander.alive_and_answering()


def test_the_runtime_leaves_other_pykka_actors_alone_when_it_stops(
    harness: Harness, bystander: Bystander
) -> None:
    handle = harness.start(workers=[Unit(NAME, lambda ctx: None, 10.0)])
    harness.wait_for(lambda: harness.child(NAME)["runs"] == 1, what="a run")
    assert handle.stop(timeout=10.0).ok
    assert bystander.alive_and_answering()
    assert bystander.ref in pykka.ActorRegistry.get_all()
