"""What follows a child's failure: its category, a restart after a delay, or the end.

The planner books the failure, asks the classifier and the policies, counts
restarts against the restart intensity and schedules the restart; when the
failure is permanent it says so and why, and the supervisor ends the run (or
the group). Its own calls into application code (classifier, policies,
random delays) are guarded: one that raises makes the failure "unknown",
never a crash of the supervisor.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autosolve.runtime.classify import Classification, classify, explain
from autosolve.runtime.contained import GreenletExit
from autosolve.runtime.events import EventKind, Failure
from autosolve.runtime.kinds import UnitKind
from autosolve.runtime.messages import RestartDue
from autosolve.runtime.policy import Category, default_policies
from autosolve.runtime.status import ChildState, describe_error
from autosolve.runtime.supervisor.core import logger

if TYPE_CHECKING:
    from autosolve.runtime.slot import ChildSlot
    from autosolve.runtime.supervisor.core import SupervisorCore

__all__ = ["Permanent", "RestartPlanner"]


@dataclass(frozen=True)
class Permanent:
    """A failure no restart follows: why, and whether it ends the run or only its group."""

    reason: str
    ends_run: bool
    """False for a preflight of a group added later: that group fails, the run goes on."""


class RestartPlanner:
    """Turns each failure of a child into its restart, or into a :class:`Permanent` verdict."""

    def __init__(self, core: SupervisorCore) -> None:
        self._core = core
        self._restart_times: deque[float] = deque()
        """When the restarts of the intensity window were decided (run's clock)."""

    def on_failure(
        self, slot: ChildSlot, error: BaseException, forced: Category | None = None
    ) -> Permanent | None:
        """Book a failure of ``slot``'s current actor and schedule its restart.

        Returns:
            None when a restart follows (or an operator's restart or stop,
            pending already, takes its place); else the permanent verdict.
        """
        record = slot.record
        record.failures += 1
        record.last_error = describe_error(error)
        record.state = ChildState.FAILED
        record.next_run_at = None
        verdict = Classification(forced) if forced is not None else self._classify(slot, error)
        category = verdict.category
        if slot.restart_due or slot.stopped:  # a requested restart or stop is pending: it wins
            self._failed(slot, category, permanent=False)
            return None
        words = explain(error, self._core.options.explainer)
        delay, reason = self._decide(slot, verdict, words)
        if reason is None and self._intensity_exceeded():
            options = self._core.options
            self._failed(slot, category, permanent=True)
            return Permanent(
                f"restart intensity exceeded: more than {options.max_restarts} "
                f"restarts within {options.within_seconds:g} s "
                f"(last: {slot.unit.name}: {record.last_error})",
                ends_run=True,
            )
        self._failed(slot, category, permanent=delay is None)
        if delay is None:
            reason = reason or f"{slot.unit.name} failed permanently"
            preflight = slot.unit.kind is UnitKind.PREFLIGHT
            return Permanent(reason, ends_run=not preflight or slot.group.initial)
        self._schedule(slot, category, delay, words)
        return None

    def _failed(self, slot: ChildSlot, category: Category, *, permanent: bool) -> None:
        failure = Failure(category, slot.record.last_error or "", permanent)
        self._core.emit(EventKind.FAILED, slot.unit.name, failure)

    def _classify(self, slot: ChildSlot, error: BaseException) -> Classification:
        """The error's classification; a classifier that raises means "unknown"."""
        try:
            verdict = classify(error, self._core.options.classifier)
            category = Category(verdict.category)
            wait = verdict.wait
            if wait is not None and not (math.isfinite(wait) and wait >= 0):
                raise ValueError(f"wait hint {wait!r} is not a finite number of seconds")
        except GreenletExit:
            raise
        except BaseException:
            logger.exception(
                "classifying the failure of %s raised; handling it as unknown (degraded)",
                slot.unit.name, extra={"child": slot.unit.name},
            )  # fmt: skip
            return Classification(Category.DEGRADED)
        return Classification(category, wait, permanent=verdict.permanent is True)

    def _decide(
        self, slot: ChildSlot, verdict: Classification, words: str
    ) -> tuple[float | None, str | None]:
        """``(delay, None)`` to restart, or ``(None, reason)`` when the failure is permanent.

        ``words`` is the failure as the application's explainer puts it (else
        the error's type and text): a permanent failure it explains is given
        in those words alone, since they say what to do.
        """
        name, error = slot.unit.name, slot.record.last_error
        category, wait = verdict.category, verdict.wait
        explained = f"{name}: {words}" if words != error else None
        if verdict.permanent:
            return None, explained or (
                f"{name} failed permanently ({category} error, no retry can help): {error}"
            )
        attempt = slot.record.attempts[category]
        try:
            policy = self._core.options.policies.lookup(slot.unit.kind, category)
        except Exception:
            logger.exception("restart policy lookup for %s failed; using the defaults", name)
            policy = default_policies().lookup(slot.unit.kind, category)
        if policy is None:
            return None, explained or (
                f"{name} failed permanently ({category} error, no retry policy): {error}"
            )
        if policy.exhausted(attempt):
            return None, (
                f"{name} failed permanently after {policy.retries} {category} retries: {words}"
            )
        if wait is not None and wait > 0:
            return wait, None
        try:
            return policy.delay(attempt, self._core.options.rng), None
        except Exception:
            logger.exception("restart delay for %s failed; using the policy's initial", name)
            return max(policy.initial, 0.0), None

    def _intensity_exceeded(self) -> bool:
        """Count one more restart; True once more than ``max_restarts`` fall in the window."""
        options = self._core.options
        if options.max_restarts <= 0:
            return False
        now = self._core.clock.monotonic()
        times = self._restart_times
        times.append(now)
        while times and times[0] <= now - options.within_seconds:
            times.popleft()
        return len(times) > options.max_restarts

    def _schedule(self, slot: ChildSlot, category: Category, delay: float, words: str) -> None:
        """The restart after ``delay``, and one line saying what failed and when it tries again."""
        record = slot.record
        attempt = record.count_attempt(category)
        record.state = ChildState.BACKOFF
        record.next_run_at = self._core.clock.monotonic() + delay
        slot.restart_due = False
        slot.restart_timer = self._core.later(delay, RestartDue(slot, slot.generation))
        level = logging.ERROR if category is Category.DEGRADED else logging.WARNING
        again = time.strftime("%H:%M:%S", time.localtime(self._core.clock.time() + delay))
        logger.log(
            level,
            "%s: %s; trying again in %.6g s, at %s (attempt %d, %s error)",
            slot.unit.name, words, delay, again, attempt + 1, category,
            extra={"child": slot.unit.name},
        )  # fmt: skip
        self._core.emit(EventKind.BACKOFF, slot.unit.name, delay)
