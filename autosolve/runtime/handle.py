"""Starting a runtime and steering it from ordinary code."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import pykka

from autosolve.runtime.backends import Backend, get_backend
from autosolve.runtime.clock import Clock, SystemClock
from autosolve.runtime.lateness import LatenessSnapshot
from autosolve.runtime.shared import RunShared
from autosolve.runtime.supervisor import (
    Outcome,
    RunResult,
    SupervisorOptions,
    supervisor_actor_class,
)
from autosolve.runtime.timers import TimerService
from autosolve.runtime.units import Unit

__all__ = ["ControlError", "RuntimeHandle", "start_runtime"]


class ControlError(Exception):
    """A control request the supervisor refused (unknown name, wrong phase...)."""


class RuntimeHandle:
    """A running supervisor: ask it things, steer it, wait for it to end.

    Every method returns without waiting for workers; only :meth:`wait` and
    :meth:`stop` block, and both take a timeout.
    """

    def __init__(
        self,
        ref: pykka.ActorRef[Any],
        outcome: Outcome,
        backend: Backend,
        shared: RunShared,
    ) -> None:
        self.ref = ref
        """The supervisor's actor ref."""
        self._proxy: Any = None
        with contextlib.suppress(pykka.ActorDeadError):
            self._proxy = ref.proxy()
        self.backend = backend
        self.timers = shared.timers
        """The runtime's timer service (tests use it as a barrier on a manual clock)."""
        self.clock = shared.clock
        self._shared = shared
        self._outcome = outcome

    @property
    def proxy(self) -> Any:
        """The supervisor's pykka proxy, for anything the helpers don't cover.

        Raises:
            pykka.ActorDeadError: the run ended before anyone asked for it (a
                preflight can fail permanently before ``start_runtime``
                returns, and pykka builds no proxy for a dead actor).
        """
        if self._proxy is None:
            self._proxy = self.ref.proxy()
        return self._proxy

    def status(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """The phase and one record per child (SPEC §5.3), also after the run ended."""
        if self._outcome.result is None:
            try:
                status: dict[str, Any] = self.proxy.status().get(timeout=timeout)
                return status
            except pykka.ActorDeadError:
                self._outcome.wait(timeout)  # it ended between the check and the ask
        final = self._outcome.final_status
        if final is None:
            raise ControlError("the runtime ended and left no status")
        return final

    def control(self, command: str, name: str = "", timeout: float | None = 10.0) -> list[str]:
        """Send ``pause``/``resume``/``run_now``/``restart`` for a name or glob.

        Returns the names it applied to; raises :class:`ControlError` when the
        supervisor refused (e.g. nothing matches).
        """
        if command not in ("pause", "resume", "run_now", "restart"):
            raise ControlError(f"unknown control command {command!r}")
        try:
            if self._outcome.result is not None:
                raise pykka.ActorDeadError("ended")
            reply = getattr(self.proxy, command)(name).get(timeout=timeout)
        except pykka.ActorDeadError:
            self._outcome.wait(timeout)
            result = self._outcome.result
            raise ControlError(
                f"the runtime is {'stopped' if result is not None and result.ok else 'failed'}"
            ) from None
        if not reply["ok"]:
            raise ControlError(reply["error"])
        names: list[str] = reply["names"]
        return names

    def pause(self, name: str) -> list[str]:
        return self.control("pause", name)

    def resume(self, name: str) -> list[str]:
        return self.control("resume", name)

    def run_now(self, name: str) -> list[str]:
        return self.control("run_now", name)

    def restart(self, name: str) -> list[str]:
        return self.control("restart", name)

    def stop(self, timeout: float | None = None) -> RunResult | None:
        """Ask for a graceful stop and wait up to ``timeout`` for it to finish.

        Every child is cancelled at once; the stop itself is bounded by
        ``shutdown_timeout`` (children still running then are abandoned), so
        a ``timeout`` a few seconds above it sees the result.
        """
        if self._outcome.result is None:
            with contextlib.suppress(pykka.ActorDeadError):  # it ended meanwhile
                self.proxy.stop().get(timeout=timeout)
        return self.wait(timeout)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """Wait for the run to end; None if ``timeout`` passed first.

        A supervisor that crashed ends the run too: the result is then not
        ``ok`` and its reason names the crash.
        """
        return self._outcome.wait(timeout)

    def tick_lateness(self) -> LatenessSnapshot:
        """How late ticks started, as a histogram: ``(bounds, cumulative, sum, count)``.

        ``bounds`` are the buckets' upper bounds in seconds (inclusive, the
        last is ``inf``); ``cumulative[i]`` is the number of ticks that started
        at most ``bounds[i]`` seconds after they were due (so the last equals
        ``count``); ``sum`` is their total lateness in seconds. The shape of a
        Prometheus histogram; read without asking the supervisor, so a scrape
        never waits behind it. Counts cover the whole run, every child.
        """
        return self._shared.lateness.snapshot()

    @property
    def result(self) -> RunResult | None:
        return self._outcome.result


def start_runtime(
    preflights: Sequence[Unit],
    workers: Sequence[Unit],
    *,
    backend: str | Backend = "threading",
    clock: Clock | None = None,
    options: SupervisorOptions | None = None,
) -> RuntimeHandle:
    """Start a supervisor for ``preflights`` then ``workers`` and return at once.

    Raises:
        ValueError: two units share a name.
    """
    backend = get_backend(backend) if isinstance(backend, str) else backend
    clock = clock or SystemClock()
    outcome = Outcome(backend.make_event())
    timers = TimerService(clock, backend)
    shared = RunShared(backend, timers)
    supervisor_class = supervisor_actor_class(backend.actor_class)
    try:
        ref = supervisor_class.start(
            preflights,
            workers,
            shared=shared,
            options=options or SupervisorOptions(),
            outcome=outcome,
        )
    except Exception:
        timers.stop()
        raise
    return RuntimeHandle(ref, outcome, backend, shared)
