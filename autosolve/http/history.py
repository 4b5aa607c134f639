"""The last hour of the daemon's figures, kept in memory for the dashboard's charts.

Prometheus keeps history for those who run one; an operator who opens the
dashboard wants the last hour at a glance without it. Every
:data:`INTERVAL` seconds a :class:`History` reads the cumulative counters
(analyses per outcome, GitHub responses per status, the request budget's
points and waits, the tick-lateness histogram: a :class:`Reading`) and keeps
what changed since the previous reading (a :class:`Sample`), :data:`SPAN`
seconds of them at most: 360 samples of a dozen numbers. A reading copies a
few counters under their locks; nothing runs on a tick's path.

:meth:`History.document` answers ``GET /api/history``: one list per series
(columns, not rows: a tenth of the bytes), the last entry being the
interval in progress, so a chart moves before the first sample is due.
:class:`HistorySampler` takes the readings on the runtime's backend (a
thread, or a greenlet on the runtime's hub).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from autosolve.infra.timestamps import format_epoch

if TYPE_CHECKING:
    from autosolve.http.metrics import Histogram, Totals
    from autosolve.infra.budget import BudgetLimits, BudgetStats
    from autosolve.runtime import ExecutionBackend

__all__ = ["INTERVAL", "SPAN", "History", "HistorySampler", "HistorySources", "Reading", "Sample"]

logger = logging.getLogger("autosolve.http")

INTERVAL = 10.0
"""Seconds between two samples."""
SPAN = 3600.0
"""Seconds of samples kept: the charts show the last hour."""
QUANTILE = 0.99
"""The tick lateness charted beside the mean: the 99th percentile's bucket."""


@dataclass(frozen=True)
class HistorySources:
    """Where a reading comes from; each is called once per reading."""

    totals: Callable[[], Totals]
    """The metrics' counters (analyses, GitHub responses, rate limit left)."""
    budget: Callable[[], BudgetStats] | None = None
    """The GitHub request budget's figures."""
    budget_limits: BudgetLimits | None = None
    """What the budget allows: a sample's points are charted as a share of it."""
    tick_lateness: Callable[[], Histogram] | None = None
    """The runtime's tick-lateness histogram."""


@dataclass(frozen=True)
class Reading:
    """The cumulative figures at one moment."""

    at: float
    """Epoch seconds."""
    totals: Totals
    budget: BudgetStats | None
    lateness: Histogram | None


@dataclass(frozen=True)
class Sample:
    """What happened between two readings."""

    at: float
    """Epoch seconds at the interval's end."""
    seconds: float
    """The interval's length."""
    analyses: Mapping[str, int]
    """Analysis jobs per outcome."""
    github_ok: int
    """GitHub responses below 400 (304 included: a listing that had not changed)."""
    github_errors: int
    """GitHub responses of 400 and above."""
    points: int | None
    """Request-budget points granted (None: no budget to ask)."""
    waits: int | None
    """Requests that had to wait for the budget."""
    ticks: int
    """Ticks started."""
    lateness_mean: float | None
    """Seconds, over the ticks started (None: none started)."""
    lateness_p99: float | None
    """Upper bound of the bucket holding the 99th percentile (the last finite one past it)."""


class History:
    """The samples of the last :data:`SPAN` seconds, and the reading they continue from.

    Args:
        sources: what a reading reads.
        interval: seconds between samples (:meth:`sample` is called that often).
        span: seconds of samples kept.
        now: epoch seconds (tests pass a fixed clock).
    """

    def __init__(
        self,
        sources: HistorySources,
        *,
        interval: float = INTERVAL,
        span: float = SPAN,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not interval > 0 or not span >= interval:
            raise ValueError(
                f"`interval` must be greater than 0 and at most `span`, got {interval!r}, {span!r}"
            )
        self.sources = sources
        self.interval = interval
        self.span = span
        self._now = now
        self._lock = threading.Lock()
        self._samples: deque[Sample] = deque(maxlen=int(span // interval))
        self._last: Reading | None = None

    def sample(self) -> None:
        """Read the sources and keep what changed since the last reading."""
        reading = self.read()
        with self._lock:
            if self._last is not None:
                self._samples.append(difference(self._last, reading))
            self._last = reading

    def samples(self, reading: Reading | None = None) -> list[Sample]:
        """The kept samples, oldest first, and the interval in progress up to ``reading``
        (read now by default), if one began."""
        reading = reading or self.read()
        with self._lock:
            samples, last = list(self._samples), self._last
        if last is not None and reading.at > last.at:
            samples.append(difference(last, reading))
        return samples

    def read(self) -> Reading:
        sources = self.sources
        return Reading(
            self._now(),
            sources.totals(),
            sources.budget() if sources.budget else None,
            sources.tick_lateness() if sources.tick_lateness else None,
        )

    def document(self) -> dict[str, Any]:
        """``GET /api/history``: the series of the last hour and the figures now."""
        reading = self.read()
        samples = self.samples(reading)
        return {
            "interval": self.interval,
            "span": self.span,
            "times": [format_epoch(sample.at) for sample in samples],
            "seconds": [round(sample.seconds, 3) for sample in samples],
            "series": _series(samples, self.sources.budget_limits),
            "now": self._figures(reading),
        }

    def _figures(self, reading: Reading) -> dict[str, Any]:
        """The budget and rate limit as they stand (counters since the start)."""
        remaining = reading.totals.rate_limit_remaining
        budget = reading.budget
        limits = self.sources.budget_limits
        return {
            "rate_limit_remaining": None if math.isnan(remaining) else remaining,
            "budget": None if budget is None else asdict(budget),
            "limits": None if limits is None else _limits(limits),
        }


def difference(before: Reading, after: Reading) -> Sample:
    """What changed from ``before`` to ``after``."""
    ok, errors = _responses(before.totals.github_responses, after.totals.github_responses)
    ticks, mean, p99 = _lateness(before.lateness, after.lateness)
    return Sample(
        at=after.at,
        seconds=after.at - before.at,
        analyses=_grown(before.totals.analyses, after.totals.analyses),
        github_ok=ok,
        github_errors=errors,
        points=_budget_grown(before.budget, after.budget, "points_total"),
        waits=_budget_grown(before.budget, after.budget, "waits_total"),
        ticks=ticks,
        lateness_mean=mean,
        lateness_p99=p99,
    )


def _grown(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {key: max(count - before.get(key, 0), 0) for key, count in after.items()}


def _responses(before: Mapping[str, int], after: Mapping[str, int]) -> tuple[int, int]:
    """``(below 400, 400 and above)`` among the responses that came in between."""
    ok = errors = 0
    for status, count in _grown(before, after).items():
        if status.isdigit() and int(status) < 400:
            ok += count
        else:
            errors += count
    return ok, errors


def _budget_grown(before: BudgetStats | None, after: BudgetStats | None, name: str) -> int | None:
    if before is None or after is None:
        return None
    return max(int(getattr(after, name)) - int(getattr(before, name)), 0)


def _lateness(
    before: Histogram | None, after: Histogram | None
) -> tuple[int, float | None, float | None]:
    """``(ticks, mean, p99 bucket bound)`` of the ticks started in between."""
    if before is None or after is None:
        return 0, None, None
    bounds, cumulative, total, count = after
    ticks = count - before[3]
    if ticks <= 0:
        return 0, None, None
    grown = [now - then for now, then in zip(cumulative, before[1], strict=True)]
    return ticks, (total - before[2]) / ticks, _quantile_bound(bounds, grown, ticks)


def _quantile_bound(bounds: Sequence[float], cumulative: Sequence[int], count: int) -> float:
    """The upper bound of the bucket holding the :data:`QUANTILE`; the last finite past it."""
    wanted = math.ceil(QUANTILE * count)
    finite = [bound for bound in bounds if not math.isinf(bound)]
    for bound, reached in zip(bounds, cumulative, strict=True):
        if reached >= wanted:
            return bound if not math.isinf(bound) else finite[-1]
    return finite[-1]


def _series(samples: Sequence[Sample], limits: BudgetLimits | None) -> dict[str, Any]:
    """One list per charted figure, aligned with the samples."""
    outcomes = sorted({outcome for sample in samples for outcome in sample.analyses})
    return {
        "analyses": {o: [s.analyses.get(o, 0) for s in samples] for o in outcomes},
        "github": {
            "ok": [s.github_ok for s in samples],
            "errors": [s.github_errors for s in samples],
        },
        "budget": {
            "used": _budget_used(samples, limits),
            "waits": [s.waits for s in samples],
        },
        "lateness": {
            "mean": [_rounded(s.lateness_mean) for s in samples],
            "p99": [s.lateness_p99 for s in samples],
        },
    }


def _budget_used(samples: Sequence[Sample], limits: BudgetLimits | None) -> list[float | None]:
    """At each sample, percent of the points per window spent in the window ending there.

    The window is the one the budget enforces (``github.budget.window``, a
    minute), counted in whole samples: those that ended within it.
    """
    if limits is None:
        return [None] * len(samples)
    used: list[float | None] = []
    first = 0
    for index, sample in enumerate(samples):
        while sample.at - samples[first].at >= limits.window:
            first += 1
        within = [s.points for s in samples[first : index + 1]]
        spent = sum(points or 0 for points in within)
        share = round(100.0 * spent / limits.points_per_minute, 1)
        used.append(None if None in within else share)
    return used


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def _limits(limits: BudgetLimits) -> dict[str, Any]:
    return {
        "points_per_minute": limits.points_per_minute,
        "writes_per_minute": limits.writes_per_minute,
        "writes_per_hour": limits.writes_per_hour,
        "window": limits.window,
    }


class HistorySampler:
    """Calls :meth:`History.sample` every :attr:`History.interval` seconds on ``backend``.

    A failing reading costs its sample, logged; the loop goes on.
    """

    def __init__(self, history: History, backend: ExecutionBackend) -> None:
        self.history = history
        self._backend = backend
        self._stop = backend.make_event()

    def start(self) -> None:
        """The first reading now, the next ones every interval."""
        self._backend.spawn_loop(self._loop, "dashboard-history")

    def close(self) -> None:
        """Stop sampling (the loop ends at its next wake-up). Idempotent."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.history.sample()
            except Exception as error:
                logger.warning("history: cannot read: %s: %s", type(error).__name__, error)
            self._stop.wait(self.history.interval)
