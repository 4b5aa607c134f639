"""The gevent backend's own pieces: futures, inbox, and embedding in a gevent program.

The runtime's behaviour on this backend is covered by the whole suite (see
``conftest.BACKENDS``); these tests pin what only gevent has.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import traceback

import gevent
import gevent.event
import pykka
import pytest

from autosolve.runtime import SystemClock, Unit, start_runtime
from autosolve.runtime.backends.gevent_actor import GeventFuture, GeventInbox


def test_a_future_get_that_times_out_raises_pykka_timeout() -> None:
    with pytest.raises(pykka.Timeout):
        GeventFuture().get(timeout=0.01)


def test_a_future_is_set_once() -> None:
    future: GeventFuture[int] = GeventFuture()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception((ValueError, ValueError("late"), None))
    assert future.get(timeout=0) == 1


def test_a_future_reraises_the_exception_with_its_original_traceback() -> None:
    def fail() -> None:
        raise ValueError("from the actor")

    future: GeventFuture[None] = GeventFuture()
    try:
        fail()
    except ValueError:
        future.set_exception()
    with pytest.raises(ValueError, match="from the actor") as caught:
        future.get(timeout=1)
    assert "fail" in [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]


def test_a_get_hook_answers_get_even_for_a_greenlet_already_waiting() -> None:
    future: GeventFuture[int] = GeventFuture()
    waiter = gevent.spawn(future.get, timeout=5)
    gevent.sleep(0)  # the waiter is now parked in get()
    future.set_get_hook(lambda timeout: 42)
    assert waiter.get(timeout=5) == 42
    assert future.get() == 42
    with pytest.raises(queue.Full):
        future.set(1)


def test_the_inbox_is_fifo_and_parks_its_reader_until_a_put() -> None:
    inbox = GeventInbox()
    received: list[int] = []
    reader = gevent.spawn(lambda: [received.append(inbox.get()) for _ in range(3)])
    gevent.sleep(0)
    assert received == [] and inbox.empty()
    inbox.put(1)
    inbox.put(2)
    inbox.put(3)
    reader.join(timeout=5)
    assert received == [1, 2, 3]


def test_a_pykka_ask_and_stop_work_on_gevent_actors() -> None:
    from autosolve.runtime.backends.gevent_actor import GeventActor

    class Echo(GeventActor):
        def on_receive(self, message):
            return message * 2

    ref = Echo.start()
    assert ref.ask(21, timeout=5) == 42
    assert ref.stop(timeout=5) is True
    assert not ref.is_alive()


def test_starting_a_runtime_inside_a_greenlet_returns_without_yielding_to_the_hub() -> None:
    others_ran: list[bool] = []
    gevent.spawn(others_ran.append, True)
    ticked = gevent.event.Event()
    handle = start_runtime([], [Unit("worker:w", lambda ctx: ticked.set(), 60.0)], backend="gevent")
    # Had start_runtime waited on anything, the hub would have run the other greenlet.
    assert others_ran == []
    assert ticked.wait(5)
    assert handle.stop(timeout=5).ok


def test_spawning_many_workers_lets_other_greenlets_run_in_between() -> None:
    count = 300
    ticked: list[str] = []
    seen_by_neighbour: list[int] = []
    done = gevent.event.Event()

    def neighbour() -> None:  # e.g. a WSGI server's greenlet
        while not done.is_set():
            seen_by_neighbour.append(len(ticked))
            gevent.sleep(0)

    gevent.spawn(neighbour)
    workers = [Unit(f"worker:{i}", lambda ctx: ticked.append(ctx.name), 60.0) for i in range(count)]
    handle = start_runtime([], workers, backend="gevent", clock=SystemClock())
    with gevent.Timeout(10):
        while len(ticked) < count:
            gevent.sleep(0)
    done.set()
    assert handle.stop(timeout=10).ok
    assert any(0 < seen < count for seen in seen_by_neighbour)


def test_the_runtime_runs_in_a_monkey_patched_process() -> None:
    script = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import threading
        from autosolve.runtime import Unit, start_runtime

        ticks = threading.Event()  # a gevent event once patched
        runs = []

        def work(ctx):
            runs.append(ctx.scheduled_at)
            if len(runs) == 3:
                ticks.set()

        handle = start_runtime([], [Unit("worker:w", work, 0.01)], backend="gevent")
        assert ticks.wait(10), "three ticks"
        assert handle.status()["children"][0]["runs"] >= 3
        assert handle.stop(timeout=10).ok
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
