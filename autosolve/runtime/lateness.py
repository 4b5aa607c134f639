"""Tick lateness, kept as a fixed-bucket histogram on the tick's hot path.

A tick is *late* by the seconds between its due time and the moment its work
started. Metrics want the distribution, and a tick must not pay for it more
than a bisect and an increment: so the runtime keeps counts per bucket and
leaves exposition (Prometheus, logs) to whoever reads :meth:`snapshot`.
:class:`FixedHistogram` serves any such distribution (the daemon's model
request durations too).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autosolve.runtime.locks import Lock

__all__ = ["LATENESS_BUCKETS", "FixedHistogram", "LatenessHistogram", "LatenessSnapshot"]

LATENESS_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, math.inf,
)  # fmt: skip
"""Upper bounds (seconds, inclusive) of the buckets; the last one is ``inf``."""

LatenessSnapshot = tuple[tuple[float, ...], tuple[int, ...], float, int]
"""``(bucket_upper_bounds, cumulative_counts, sum_seconds, count)``."""


class FixedHistogram:
    """Counts of values per fixed bucket, plus their sum and number.

    Args:
        bounds: the buckets' upper bounds (inclusive), ascending; ``inf`` is
            added as the last one when missing.
        lock: guards the counters where values come in parallel (OS threads);
            None where they cannot (greenlets).
    """

    __slots__ = ("_bounds", "_counts", "_lock", "_sum")

    def __init__(self, bounds: Sequence[float], lock: Lock | None) -> None:
        self._bounds = tuple(bounds) if bounds and math.isinf(bounds[-1]) else (*bounds, math.inf)
        self._counts = [0] * len(self._bounds)
        self._sum = 0.0
        self._lock = lock

    def observe(self, seconds: float) -> None:
        """Count one value; a negative one counts as 0."""
        if seconds < 0.0:
            seconds = 0.0  # a run-now or a first tick is due the moment it runs
        index = bisect_left(self._bounds, seconds)
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            self._counts[index] += 1
            self._sum += seconds
        finally:
            if lock is not None:
                lock.release()

    def snapshot(self) -> LatenessSnapshot:
        """The histogram as Prometheus exposes one: cumulative counts per bound.

        Returns:
            ``(bounds, cumulative, sum, count)``: ``cumulative[i]`` values were
            at most ``bounds[i]``; the last bound is ``inf``, so
            ``cumulative[-1] == count``.
        """
        counts, total = self._read()
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return self._bounds, tuple(cumulative), total, running

    def _read(self) -> tuple[list[int], float]:
        lock = self._lock
        if lock is not None:
            lock.acquire()
        try:
            return list(self._counts), self._sum
        finally:
            if lock is not None:
                lock.release()


class LatenessHistogram(FixedHistogram):
    """Counts of tick lateness per :data:`LATENESS_BUCKETS` bucket, plus their sum and number."""

    __slots__ = ()

    def __init__(self, lock: Lock | None) -> None:
        super().__init__(LATENESS_BUCKETS, lock)
