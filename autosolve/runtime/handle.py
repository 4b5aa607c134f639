"""Starting a runtime and steering it from ordinary code."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, cast

import pykka

from autosolve.runtime.backends import Backend, ExecutionBackend, get_backend
from autosolve.runtime.clock import Clock, SystemClock
from autosolve.runtime.lateness import LatenessSnapshot
from autosolve.runtime.shared import RunShared
from autosolve.runtime.status import ChildState
from autosolve.runtime.supervisor import (
    Outcome,
    RunResult,
    SupervisorOptions,
    supervisor_actor_class,
)
from autosolve.runtime.supervisor.collector import freeze_alive
from autosolve.runtime.timers import TimerService
from autosolve.runtime.units import Unit, UnitGroup, checked_groups

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
        backend: ExecutionBackend,
        shared: RunShared,
        *,
        freezes_collector: bool = False,
    ) -> None:
        self.ref = ref
        """The supervisor's actor ref."""
        self._proxy: Any = None
        with contextlib.suppress(pykka.ActorDeadError):
            self._proxy = ref.proxy()
        self.backend = backend
        self.timers = shared.timers
        """The runtime's timer service (tests use it as a barrier on a manual clock)."""
        self.runners = shared.runners
        """The pool that runs the children's activations (tests count its runners)."""
        self.clock = shared.clock
        self._shared = shared
        self._outcome = outcome
        self._freezes_collector = freezes_collector

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

    def status(
        self,
        timeout: float | None = 10.0,
        *,
        state: str | None = None,
        pattern: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The phase and one record per child, also after the run ended; or a page of it.

        Without paging arguments the document lists every child (O(children)).
        With any of them it is a *page*, which costs the children it shows or
        steps over: the children in ``state`` (a :class:`ChildState` value)
        and/or matching ``pattern`` (a name or shell-style pattern), ``offset``
        of them skipped, at most ``limit`` shown, with ``counts`` (children per
        state), ``total`` (children matching the filter; None for a pattern,
        which would mean matching every name), ``offset``, ``limit`` and
        ``more`` (whether more match after this page). Children are in the
        status's order, but a page of one state other than ``idle`` lists the
        longest in it first (for ``running``: the longest running tick).

        Raises:
            ControlError: a paging argument breaks its rule, or a page is asked
                for after the run ended.
        """
        paging = {
            key: value
            for key, value in (("state", state), ("pattern", pattern), ("offset", offset),
                               ("limit", limit))
            if value is not None
        }  # fmt: skip
        if paging:
            page = self._ask("status_page", paging, timeout=timeout)
            del page["ok"]
            return page
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

    def status_in(
        self, states: Iterable[ChildState | str], timeout: float | None = 10.0
    ) -> dict[str, Any]:
        """The status document of only the children in ``states``, in the status's order,
        read at one moment: it costs those children, but ``idle``'s walks every child.

        Raises:
            ValueError: a state is not a :class:`ChildState` value.
        """
        wanted = frozenset(ChildState(state) for state in states)
        with contextlib.suppress(pykka.ActorDeadError):  # ended: picked from the final document
            if self._outcome.result is None:
                return cast(dict[str, Any], self.proxy.status_in(wanted).get(timeout=timeout))
        final = self.status(timeout)
        return {**final, "children": [c for c in final["children"] if c["state"] in wanted]}

    def counts(self, timeout: float | None = 10.0) -> dict[str, Any]:
        """``{"phase", "counts": {state: children}, "total"}``, read without a status document.

        The supervisor keeps the counts as children change state, so this
        costs the same for ten children as for a million; after the run it
        counts the final document.
        """
        if self._outcome.result is None:
            with contextlib.suppress(pykka.ActorDeadError):
                counts: dict[str, Any] = self.proxy.status_counts().get(timeout=timeout)
                return counts
        final = self.status(timeout)
        children = final["children"]
        tally = Counter(child["state"] for child in children)
        return {
            "phase": final["phase"],
            "counts": {state.value: tally[state.value] for state in ChildState},
            "total": len(children),
        }

    def freeze_collector(self) -> bool:
        """Freeze what is alive now, as the run does once children started; True if done.

        For whoever made many long-lived objects while the run goes on (the
        daemon's reload): frozen, the new steady state is never traversed by
        a full collection; unfreezing instead would undo the run's freeze of
        every child. False (nothing done) when the run leaves the collector
        alone (``SupervisorOptions.freeze_collector`` off). The run's end
        thaws it all.
        """
        if self._freezes_collector:
            freeze_alive(self._shared)
        return self._freezes_collector

    def control(self, command: str, name: str = "", timeout: float | None = 10.0) -> list[str]:
        """Send ``pause``/``resume``/``run_now``/``restart`` for a name or glob.

        Returns the names it applied to; raises :class:`ControlError` when the
        supervisor refused (e.g. nothing matches).
        """
        if command not in ("pause", "resume", "run_now", "restart"):
            raise ControlError(f"unknown control command {command!r}")
        names: list[str] = self._ask(command, name, timeout=timeout)["names"]
        return names

    def _ask(self, method: str, *args: Any, timeout: float | None) -> dict[str, Any]:
        """Call ``method`` on the supervisor; its answer, or :class:`ControlError`."""
        try:
            if self._outcome.result is not None:
                raise pykka.ActorDeadError("ended")
            reply: dict[str, Any] = getattr(self.proxy, method)(*args).get(timeout=timeout)
        except pykka.ActorDeadError:
            self._outcome.wait(timeout)
            result = self._outcome.result
            raise ControlError(
                f"the runtime is {'stopped' if result is not None and result.ok else 'failed'}"
            ) from None
        if not reply["ok"]:
            raise ControlError(reply["error"])
        return reply

    # -- changing what runs --------------------------------------------------------

    def add(
        self,
        preflights: Sequence[Unit] = (),
        workers: Sequence[Unit] = (),
        *,
        timeout: float | None = 30.0,
    ) -> int:
        """Start ``preflights`` then ``workers`` as a new group, beside what runs.

        The group's preflights start now, a few at a time
        (``SupervisorOptions.add_concurrency``: what runs keeps its pace); its
        workers when all of them succeeded (and the run's own preflights did).
        A preflight of this group that fails permanently marks the group's
        units ``failed`` (a ``group`` event, a log line) and the run goes on.
        Nothing else is restarted, paused or delayed.

        Returns:
            The group's number, shown as ``group`` in the status records.

        Raises:
            ControlError: a name is already supervised or given twice, or the
                run ended; nothing was added.
        """
        return self.add_groups([(preflights, workers)], timeout=timeout)[0]

    def add_groups(self, groups: Sequence[UnitGroup], *, timeout: float | None = 30.0) -> list[int]:
        """:meth:`add` for many groups in one call (one each per ``(preflights, workers)``).

        All or nothing: one name taken refuses every group.
        """
        numbers: list[int] = self._ask("add", checked_groups(groups), timeout=timeout)["groups"]
        return numbers

    def remove(self, names: str | Sequence[str], *, timeout: float | None = 30.0) -> list[str]:
        """Stop the children matching ``names`` (names or shell-style patterns) and forget them.

        Their running ticks are cancelled; whatever still runs
        ``shutdown_timeout`` later is abandoned. Returns at once with the names
        removed: they are gone from the status already.

        Raises:
            ControlError: a name or pattern matches nothing, or the run ended;
                nothing was removed.
        """
        return self._names("remove", names, timeout)

    def replace(self, units: Sequence[Unit], *, timeout: float | None = 30.0) -> list[str]:
        """Swap each unit into the child of the same name, run by a fresh actor.

        For a changed interval or work function: only these children are
        replaced (a running tick is cancelled and finishes first), their
        counters stay, and no restart is counted.

        Raises:
            ControlError: a name is not supervised, or a unit changes kind.
        """
        names: list[str] = self._ask("replace", list(units), timeout=timeout)["names"]
        return names

    def update_options(self, *, timeout: float | None = 10.0, **changes: Any) -> None:
        """Change :class:`SupervisorOptions` fields of the running supervisor.

        E.g. ``update_options(policies=..., max_restarts=5)``: effective for
        the next failure, restart or sweep; no child restarts.

        Raises:
            ControlError: an unknown option, or the run ended.
        """
        self._ask("update_options", changes, timeout=timeout)

    def stop_children(
        self, names: str | Sequence[str], *, timeout: float | None = 10.0
    ) -> list[str]:
        """Stop the children matching ``names`` (names or shell-style patterns) and keep them
        stopped, like supervisorctl's ``stop NAME``.

        Each stops as in the run's stop: its running tick is cancelled, and
        an actor still running ``shutdown_timeout`` later is abandoned. It
        shows as ``stopped`` (``abandoned``) in the status and is not
        restarted until :meth:`start_children`. Children not started yet
        (workers waiting for their preflights) stay unstarted. Nothing else
        is stopped, and the stop counts as no restart.

        Returns:
            The names stopped (those stopped already are left out).

        Raises:
            ControlError: a name or pattern matches nothing, every child it
                matches is stopped already, or the run is stopping or over.
        """
        return self._names("stop_children", names, timeout)

    def start_children(
        self, names: str | Sequence[str], *, timeout: float | None = 10.0
    ) -> list[str]:
        """Start the stopped children matching ``names`` again, like supervisorctl's
        ``start NAME``.

        Each starts from a fresh actor: a worker ticks at once (unless it is
        paused), a preflight runs again. One whose old actor is still ending
        starts when it ended; a worker whose group's preflights have not all
        succeeded yet starts with its group. Retry counters start over, and
        the start counts as no restart (nor against the restart intensity).

        Returns:
            The names started.

        Raises:
            ControlError: a name or pattern matches nothing, no child it
                matches is stopped, or the run is stopping or over.
        """
        return self._names("start_children", names, timeout)

    def _names(self, method: str, names: str | Sequence[str], timeout: float | None) -> list[str]:
        patterns = [names] if isinstance(names, str) else list(names)
        applied: list[str] = self._ask(method, patterns, timeout=timeout)["names"]
        return applied

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
    backend: str | ExecutionBackend = Backend.THREADING,
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
    options = options or SupervisorOptions()
    try:
        ref = supervisor_class.start(
            preflights, workers, shared=shared, options=options, outcome=outcome
        )
    except Exception:
        timers.stop()
        shared.runners.close()
        raise
    return RuntimeHandle(ref, outcome, backend, shared, freezes_collector=options.freeze_collector)
