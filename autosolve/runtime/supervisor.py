"""The supervisor: two phases, Erlang-style restarts, control messages."""

from __future__ import annotations

import fnmatch
import functools
import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pykka

from autosolve.runtime.child import child_actor_class, tell_quietly
from autosolve.runtime.classify import Classifier, classify
from autosolve.runtime.context import WorkContext
from autosolve.runtime.messages import (
    ChildExited,
    ChildFailed,
    ChildSucceeded,
    RestartDue,
    RunNow,
)
from autosolve.runtime.policy import Category, Policies
from autosolve.runtime.slot import ChildSlot
from autosolve.runtime.status import ChildState, Phase

if TYPE_CHECKING:
    from autosolve.runtime.backends import Backend, Event
    from autosolve.runtime.shared import RunShared
    from autosolve.runtime.units import Unit

__all__ = [
    "Outcome",
    "RunResult",
    "RuntimeEvent",
    "SupervisorBehaviour",
    "SupervisorOptions",
    "supervisor_actor_class",
]

logger = logging.getLogger("autosolve.runtime")


@dataclass(frozen=True)
class RunResult:
    """How a run ended: ``ok`` after a requested stop, else the reason it failed."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class RuntimeEvent:
    """A lifecycle fact for observers (logs, tests, metrics)."""

    kind: str
    """``phase``, ``spawned``, ``succeeded``, ``failed``, ``backoff``, ``exited``, ``stopped``."""
    name: str | None = None
    detail: Any = None


Observer = Callable[[RuntimeEvent], None]


@dataclass(frozen=True)
class SupervisorOptions:
    """Everything about supervision that is not the units themselves."""

    policies: Policies = field(default_factory=Policies)
    classifier: Classifier | None = None
    shutdown_timeout: float = 30.0
    max_restarts: int = 0
    """Give up after more than this many restarts within ``within_seconds``; 0 = never."""
    within_seconds: float = 60.0
    shutdown_hooks: Sequence[Callable[[], None]] = ()
    observer: Observer | None = None
    rng: random.Random | None = None


class Outcome:
    """Where the supervisor leaves its :class:`RunResult` for whoever waits."""

    def __init__(self, done: Event) -> None:
        self._done = done
        self.result: RunResult | None = None
        self.final_status: dict[str, Any] | None = None
        """The status document as the run ended, for callers who ask afterwards."""
        self.stopping_status: Callable[[], dict[str, Any]] | None = None
        """Reads the status without the supervisor while it is busy stopping children."""

    def set(self, result: RunResult) -> None:
        self.result = result
        self._done.set()

    def wait(self, timeout: float | None = None) -> RunResult | None:
        self._done.wait(timeout)
        return self.result


def _reply(names: list[str] | None = None, error: str | None = None) -> dict[str, Any]:
    if error is not None:
        return {"ok": False, "error": error}
    return {"ok": True, "names": names or []}


class SupervisorBehaviour:
    """Starts preflights, then workers; restarts failures; answers control calls.

    Control methods (``status``, ``pause``, ``resume``, ``run_now``,
    ``restart``, ``stop``) are meant to be called through a pykka proxy. They
    answer ``{"ok": True, "names": [...]}`` or ``{"ok": False, "error": ...}``
    rather than raising: a wrong name from an operator is an answer, not a
    failure worth a traceback in the log.
    """

    def __init__(
        self,
        preflights: Sequence[Unit],
        workers: Sequence[Unit],
        *,
        backend: Backend,
        shared: RunShared,
        options: SupervisorOptions,
        outcome: Outcome,
    ) -> None:
        super().__init__()
        counts = Counter(u.name for u in (*preflights, *workers))
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate unit names: {', '.join(duplicates)}")
        self._preflights = [ChildSlot(u) for u in preflights]
        self._workers = [ChildSlot(u) for u in workers]
        self._slots = {s.unit.name: s for s in (*self._preflights, *self._workers)}
        self._started: list[ChildSlot] = []
        self._backend = backend
        self._shared = shared
        self._timers = shared.timers
        self._clock = shared.clock
        self._options = options
        self._outcome = outcome
        self._child_class = child_actor_class(backend.actor_class)
        self._restart_times: deque[float] = deque()
        self._phase = Phase.PREFLIGHT

    # -- lifecycle -----------------------------------------------------------

    def on_start(self) -> None:
        self._emit("phase", detail=Phase.PREFLIGHT)
        if not self._preflights:
            self._start_workers()
            return
        for slot in self._preflights:
            self._spawn(slot)
            self._backend.cooperate()

    def on_receive(self, message: Any) -> Any:
        if self._phase not in (Phase.PREFLIGHT, Phase.WORKERS):
            return None
        kind = type(message)
        if kind is ChildFailed:
            self._on_failed(message)
        elif kind is ChildSucceeded:
            self._on_succeeded(message)
        elif kind is RestartDue:
            slot = self._slots[message.name]
            if slot.generation == message.generation and not slot.alive:
                slot.restart_timer = None
                self._spawn(slot)
        elif kind is ChildExited:
            slot = self._slots[message.name]
            self._emit("exited", message.name, message.generation)
            if slot.replace_on_exit and slot.generation == message.generation:
                slot.replace_on_exit = False
                self._spawn(slot)
        elif kind is _Stop:
            self._shutdown(None)
        return None

    def _start_workers(self) -> None:
        self._set_phase(Phase.WORKERS)
        for slot in self._workers:
            self._spawn(slot)
            # On greenlets, let the child start (and run its first tick) now:
            # the hub stays responsive while thousands spawn, and first ticks
            # spread over the spawn instead of all falling due in one burst.
            self._backend.cooperate()

    def _spawn(self, slot: ChildSlot) -> None:
        if slot.generation:
            slot.record.restarts += 1
        else:
            self._started.append(slot)
        slot.generation += 1
        slot.context = WorkContext(
            slot.unit.name, self._backend.make_event(), self._clock, slot.record
        )
        slot.record.state = ChildState.PENDING
        slot.record.next_run_at = None
        slot.ref = self._child_class.start(slot, self.actor_ref, self._shared)
        self._emit("spawned", slot.unit.name, slot.generation)

    def _on_succeeded(self, message: ChildSucceeded) -> None:
        self._emit("succeeded", message.name)
        if self._phase == Phase.PREFLIGHT and all(
            s.record.state == ChildState.SUCCEEDED for s in self._preflights
        ):
            self._start_workers()

    def _on_failed(self, message: ChildFailed) -> None:
        slot = self._slots[message.name]
        if slot.generation != message.generation:
            return
        error = message.error
        verdict = classify(error, self._options.classifier)
        phase_policies = getattr(self._options.policies, slot.unit.kind)
        policy = phase_policies.for_category(verdict.category)
        attempt = slot.record.attempts[verdict.category.value]
        self._emit("failed", slot.unit.name, verdict)
        if policy is None:
            return self._fail_run(
                f"{slot.unit.name} failed permanently ({verdict.category.value} error, "
                f"no retry policy): {slot.record.last_error}"
            )
        if policy.exhausted(attempt):
            return self._fail_run(
                f"{slot.unit.name} failed permanently after {policy.retries} "
                f"{verdict.category.value} retries: {slot.record.last_error}"
            )
        if self._restart_intensity_exceeded():
            return self._fail_run(
                f"restart intensity exceeded: more than {self._options.max_restarts} "
                f"restarts within {self._options.within_seconds:g} s "
                f"(last: {slot.unit.name}: {slot.record.last_error})"
            )
        delay = verdict.wait if verdict.wait and verdict.wait > 0 else None
        if delay is None:
            delay = policy.delay(attempt, self._options.rng)
        slot.record.attempts[verdict.category.value] = attempt + 1
        slot.record.state = ChildState.BACKOFF
        slot.record.next_run_at = self._clock.monotonic() + delay
        slot.restart_timer = self._timers.call_later(
            delay,
            functools.partial(
                tell_quietly, self.actor_ref, RestartDue(slot.unit.name, slot.generation)
            ),
        )
        level = logging.ERROR if verdict.category is Category.DEGRADED else logging.WARNING
        logger.log(
            level,
            "%s failed (%s, attempt %d), restarting in %.6g s: %s",
            slot.unit.name, verdict.category.value, attempt + 1, delay, slot.record.last_error,
            extra={"child": slot.unit.name},
        )  # fmt: skip
        self._emit("backoff", slot.unit.name, delay)
        return None

    def _restart_intensity_exceeded(self) -> bool:
        limit = self._options.max_restarts
        if limit <= 0:
            return False
        now = self._clock.monotonic()
        times = self._restart_times
        times.append(now)
        while times and times[0] <= now - self._options.within_seconds:
            times.popleft()
        return len(times) > limit

    def _fail_run(self, reason: str) -> None:
        logger.error("run failed: %s", reason)
        self._shutdown(reason)

    def _shutdown(self, failure: str | None) -> None:
        """Stop every child in reverse start order, then run the shutdown hooks."""
        # The supervisor's inbox waits until this method returns; status reads
        # of the (no longer changing) slot table need not.
        self._outcome.stopping_status = self.status
        self._set_phase(Phase.STOPPING)
        deadline = time.monotonic() + self._options.shutdown_timeout
        for slot in reversed(self._started):
            self._stop_child(slot, deadline)
        for hook in self._options.shutdown_hooks:
            try:
                hook()
            except Exception:
                logger.exception("shutdown hook %r failed", hook)
        self._timers.stop()
        self._set_phase(Phase.FAILED if failure else Phase.STOPPED)
        self._outcome.final_status = self.status()
        self._outcome.set(RunResult(ok=failure is None, reason=failure))
        self.actor_ref.stop(block=False)

    def _stop_child(self, slot: ChildSlot, deadline: float) -> None:
        if slot.restart_timer is not None:
            slot.restart_timer.cancel()
        if slot.context is not None:
            slot.context.cancel()
        ref = slot.ref
        if ref is not None and ref.is_alive():
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise pykka.Timeout("shutdown_timeout already spent")
                ref.stop(block=True, timeout=remaining)
            except pykka.Timeout:
                ref.stop(block=False)
                logger.warning(
                    "%s did not finish within runtime.shutdown_timeout; abandoned",
                    slot.unit.name, extra={"child": slot.unit.name},
                )  # fmt: skip
        if slot.record.state != ChildState.SUCCEEDED:
            slot.record.state = ChildState.STOPPED
        slot.record.next_run_at = None
        self._emit("stopped", slot.unit.name)

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        logger.info("phase: %s", phase)
        self._emit("phase", detail=phase)

    def _emit(self, kind: str, name: str | None = None, detail: Any = None) -> None:
        observer = self._options.observer
        if observer is not None:
            try:
                observer(RuntimeEvent(kind, name, detail))
            except Exception:
                logger.exception("runtime observer failed")

    # -- control -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The phase and one record per child (SPEC §5.3)."""
        clock = self._clock
        offset = clock.time() - clock.monotonic()
        children = []
        for count, slot in enumerate(self._slots.values(), 1):
            children.append(slot.record.to_dict(clock, offset))
            if not count % _COOPERATE_EVERY:
                self._backend.cooperate()
        return {"phase": self._phase, "children": children}

    def pause(self, pattern: str) -> dict[str, Any]:
        """Let matching workers finish their current tick, then stop ticking."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return _reply(error=error)
        for slot in slots:
            slot.paused = True
            if slot.record.state == ChildState.IDLE:
                slot.record.state = ChildState.PAUSED
                slot.record.next_run_at = None
        return _reply([s.unit.name for s in slots])

    def resume(self, pattern: str) -> dict[str, Any]:
        """Resume matching workers; their next tick runs at once."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return _reply(error=error)
        for slot in slots:
            if slot.paused:
                slot.paused = False
                self._run_now(slot)
        return _reply([s.unit.name for s in slots])

    def run_now(self, pattern: str) -> dict[str, Any]:
        """Tick matching workers at once; requests made during a tick coalesce."""
        slots, error = self._match(pattern, workers_only=True)
        if error:
            return _reply(error=error)
        for slot in slots:
            self._run_now(slot)
        return _reply([s.unit.name for s in slots])

    def restart(self, pattern: str) -> dict[str, Any]:
        """Replace matching children by fresh actors, with their retry counters reset."""
        slots, error = self._match(pattern, workers_only=False)
        if error:
            return _reply(error=error)
        for slot in slots:
            slot.record.reset_attempts()
            if slot.alive:
                assert slot.ref is not None and slot.context is not None
                slot.replace_on_exit = True
                slot.context.cancel()
                slot.ref.stop(block=False)
            else:
                if slot.restart_timer is not None:
                    slot.restart_timer.cancel()
                    slot.restart_timer = None
                self._spawn(slot)
        return _reply([s.unit.name for s in slots])

    def stop(self) -> dict[str, Any]:
        """Begin a graceful stop; returns at once (wait on the handle for the end)."""
        if self._phase in (Phase.PREFLIGHT, Phase.WORKERS):
            self.actor_ref.tell(_Stop())
        return _reply([])

    def _run_now(self, slot: ChildSlot) -> None:
        if slot.alive:
            if not slot.run_now_pending:
                slot.run_now_pending = True
                assert slot.ref is not None
                tell_quietly(slot.ref, RunNow())
        elif slot.record.state == ChildState.BACKOFF and slot.restart_timer is not None:
            slot.restart_timer.cancel()
            slot.restart_timer = None
            self._spawn(slot)

    def _match(self, pattern: str, *, workers_only: bool) -> tuple[list[ChildSlot], str | None]:
        if self._phase not in (Phase.PREFLIGHT, Phase.WORKERS):
            return [], f"the runtime is {self._phase}"
        if not isinstance(pattern, str) or not pattern:
            return [], "a child name or pattern is required"
        matched = _glob(self._slots, pattern)
        if not matched:
            return [], f"no child matches {pattern!r}"
        usable = [
            s
            for s in matched
            if s.generation > 0
            and s.record.state != ChildState.SUCCEEDED
            and not (workers_only and s.unit.interval is None)
        ]
        if not usable:
            what = "worker" if workers_only else "running child"
            return [], f"{pattern!r} matches no {what} ({', '.join(s.unit.name for s in matched)})"
        return usable, None


def _glob(slots: dict[str, ChildSlot], pattern: str) -> list[ChildSlot]:
    """The slots whose names match the shell-style ``pattern``, in declaration order.

    A plain name is one dict lookup and a pattern one compiled regex: with
    tens of thousands of children a control call must not cost a
    ``fnmatchcase`` call per child.
    """
    if not _GLOB_CHARS.intersection(pattern):
        slot = slots.get(pattern)
        return [] if slot is None else [slot]
    match = re.compile(fnmatch.translate(pattern)).match
    return [slot for name, slot in slots.items() if match(name)]


_GLOB_CHARS = frozenset("*?[")


_COOPERATE_EVERY = 500
"""Records rendered between two yields of a status call (about a millisecond)."""


class _Stop:
    __slots__ = ()


@functools.cache
def supervisor_actor_class(actor_class: type[pykka.Actor]) -> type[pykka.Actor]:
    """The supervisor actor for a backend."""
    return type(f"Supervisor{actor_class.__name__}", (SupervisorBehaviour, actor_class), {})
