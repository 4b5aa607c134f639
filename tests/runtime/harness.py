"""A test harness for the runtime: a manual clock, an event log, and waits.

Tests never sleep for a result: they wait on the harness, which is woken by
every runtime event and by work functions that call :meth:`Harness.poke`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from autosolve.runtime import (
    ManualClock,
    RuntimeEvent,
    RuntimeHandle,
    SupervisorOptions,
    Unit,
    start_runtime,
)
from autosolve.runtime.backends import get_backend
from autosolve.runtime.clock import real_monotonic
from autosolve.schedule.classifier import infra_classifier


class Harness:
    def __init__(self, backend_name: str) -> None:
        self.backend = get_backend(backend_name)
        self.clock = ManualClock()
        self.events: list[RuntimeEvent] = []
        self._wake = self.backend.make_wakeup()
        self.handle: RuntimeHandle | None = None

    # -- running ---------------------------------------------------------------

    def start(
        self,
        preflights: Sequence[Unit] = (),
        workers: Sequence[Unit] = (),
        **options: Any,
    ) -> RuntimeHandle:
        options.setdefault("shutdown_timeout", 5.0)
        options.setdefault("classifier", infra_classifier)
        self.handle = start_runtime(
            preflights,
            workers,
            backend=self.backend,
            clock=self.clock,
            options=SupervisorOptions(observer=self._observe, **options),
        )
        return self.handle

    def _observe(self, event: RuntimeEvent) -> None:
        self.events.append(event)
        self.poke()

    def poke(self) -> None:
        """Wake whoever waits (work functions call this after recording something)."""
        self._wake.notify()

    # -- waiting ---------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:
        deadline = real_monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - real_monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what or predicate}")
            with self._wake.lock:
                # The short cap covers state that changes without an event.
                self._wake.wait(min(remaining, 0.02))

    def wait_event(self, kind: str, name: str | None = None, count: int = 1) -> RuntimeEvent:
        def found() -> RuntimeEvent | None:
            hits = self.named(kind, name)
            return hits[count - 1] if len(hits) >= count else None

        return self.wait_for(found, what=f"{count}× {kind} {name or ''}")

    def named(self, kind: str, name: str | None = None) -> list[RuntimeEvent]:
        return [e for e in self.events if e.kind == kind and (name is None or e.name == name)]

    def settle(self) -> None:
        """Let every timer due by now fire and the supervisor handle what it was told."""
        assert self.handle is not None
        handle = self.handle
        fired = self.backend.make_event()
        handle.timers.call_at(self.clock.monotonic(), fired.set)
        if not fired.wait(1.0):
            # A run that ended meanwhile stopped its timer service: nothing to settle.
            self.wait_for(
                lambda: fired.is_set() or handle.result is not None,
                what="the timer service to fire",
            )
        if handle.result is None:
            handle.status()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.settle()

    # -- inspecting ------------------------------------------------------------

    def child(self, name: str) -> dict[str, Any]:
        assert self.handle is not None
        for record in self.handle.status()["children"]:
            if record["name"] == name:
                return record
        raise KeyError(name)

    def backoff_delays(self, name: str) -> list[float]:
        return [e.detail for e in self.named("backoff", name)]

    def stop(self) -> None:
        if self.handle is not None and self.handle.result is None:
            self.handle.stop(timeout=10.0)
