"""Tick lateness, kept as a fixed-bucket histogram on the tick's hot path.

A tick is *late* by the seconds between its due time and the moment its work
started. Metrics want the distribution, and a tick must not pay for it more
than a bisect and an increment: so the runtime keeps counts per bucket and
leaves exposition (Prometheus, logs) to whoever reads :meth:`snapshot`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

__all__ = ["LATENESS_BUCKETS", "LatenessHistogram", "LatenessSnapshot"]

LATENESS_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, math.inf,
)  # fmt: skip
"""Upper bounds (seconds, inclusive) of the buckets; the last one is ``inf``."""

LatenessSnapshot = tuple[tuple[float, ...], tuple[int, ...], float, int]
"""``(bucket_upper_bounds, cumulative_counts, sum_seconds, count)``."""


class LatenessHistogram:
    """Counts of tick lateness per bucket, plus their sum and number.

    Args:
        lock: guards the counters where ticks run in parallel (OS threads);
            any context manager, a no-op one where they cannot (greenlets).
    """

    __slots__ = ("_bounds", "_counts", "_lock", "_sum")

    def __init__(self, lock: AbstractContextManager[object]) -> None:
        self._bounds = LATENESS_BUCKETS
        self._counts = [0] * len(LATENESS_BUCKETS)
        self._sum = 0.0
        self._lock = lock

    def observe(self, seconds: float) -> None:
        """Count one tick that started ``seconds`` after it was due."""
        if seconds < 0.0:
            seconds = 0.0  # a run-now or a first tick is due the moment it runs
        index = bisect_left(self._bounds, seconds)
        with self._lock:
            self._counts[index] += 1
            self._sum += seconds

    def snapshot(self) -> LatenessSnapshot:
        """The histogram as Prometheus exposes one: cumulative counts per bound.

        Returns:
            ``(bounds, cumulative, sum, count)``: ``cumulative[i]`` ticks were
            late by at most ``bounds[i]`` seconds; the last bound is ``inf``,
            so ``cumulative[-1] == count``.
        """
        with self._lock:
            counts = list(self._counts)
            total = self._sum
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return self._bounds, tuple(cumulative), total, running
