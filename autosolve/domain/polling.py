"""Adaptive polling: how often each repository is polled, within one shared budget.

A repository that changed a moment ago is likely to change again soon; one
quiet for an hour is not. So each repository *wants* an interval that grows
with how long it has been quiet (half of it), between the fastest and the
slowest interval. The sum of all those polls must still fit the request
budget: when it would not, every wish is stretched by one common factor —
the busiest repositories stay the fastest, and nobody is starved — up to the
slowest interval. Only when even all-slowest would exceed the budget (too
many repositories for one token) does every repository get the same, longer
interval that fits. GitHub's ``X-Poll-Interval`` is always a floor.

The pacer never learns which repositories exist: pollers make themselves
known by polling, and one that stops polling (removed, or leased to another
daemon) is forgotten after a while.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["PollPacer", "polls_per_second"]


logger = logging.getLogger(__name__)

QUIET_FACTOR = 0.5
"""A repository quiet for ``q`` seconds wants to be polled every ``q / 2`` seconds."""


def polls_per_second(points: int, writes: int, span: float) -> float:
    """The share of a points budget the pollers may plan for, in polls per second.

    The rest is kept for analyses at their full write rate: each posts a
    comment (5 points) after listing the comments (1 point); but the pollers
    keep at least half, so a generous write budget never silences them.

    Args:
        points: points per window.
        writes: content-creating requests per window.
        span: the window's length in seconds (with the ledger's margin).
    """
    return max(points - 6 * writes, points / 2) / span


@dataclass
class _Poller:
    last_change: float
    last_poll: float
    wish: float
    interval: float


class PollPacer:
    """Chooses every poller's next interval; shared by all pollers of a daemon.

    Args:
        fastest: the shortest interval (``intervals.issue_poller``).
        slowest: the longest (``intervals.issue_poller_max``).
        budget: polls per second all pollers together may make.
        pollers: how many pollers share ``budget`` (the configured
            repositories). A daemon running only some of them (the others'
            leases are held by other daemons sharing the token) plans for its
            share of the budget. None: whoever polls shares all of it.
        recompute_every: seconds between recomputations of the stretch.
    """

    def __init__(
        self,
        fastest: float,
        slowest: float,
        budget: float,
        *,
        pollers: int | None = None,
        recompute_every: float = 1.0,
    ) -> None:
        _check(fastest, slowest, budget)
        self.fastest = fastest
        self.slowest = slowest
        self.budget = budget
        self.expected = pollers
        self._recompute_every = recompute_every
        self._lock = threading.Lock()
        self._pollers: dict[Hashable, _Poller] = {}
        self._stretch = 1.0
        self._overflow: float | None = None
        self._computed_at: float | None = None
        self._reconcile: tuple[float, float] | None = None

    def retune(
        self, fastest: float, slowest: float, budget: float, *, pollers: int | None = None
    ) -> None:
        """New bounds, budget or poller count (a reload), from the next interval chosen on.

        What the pacer learnt of each repository (how long it has been quiet)
        is kept, so a reload does not send every poller back to its fastest.
        """
        _check(fastest, slowest, budget)
        with self._lock:
            self.fastest, self.slowest, self.budget = fastest, slowest, budget
            self.expected = pollers
            self._computed_at = None  # recompute the stretch at the next poll

    def delivered(self, now: float, reconcile_interval: float) -> None:
        """A webhook delivery arrived at ``now``: until ``2 × reconcile_interval`` passes
        without another, every poller polls only every ``reconcile_interval`` (the
        deliveries say what changed; polls only catch what a delivery missed)."""
        with self._lock:
            self._reconcile = (now + 2 * reconcile_interval, reconcile_interval)

    @property
    def reconciling(self) -> bool:
        """Whether the pollers poll at the reconcile interval (deliveries arrive)."""
        return self._reconcile is not None

    @property
    def stretch(self) -> float:
        """The common factor every wish is multiplied by (1.0: the budget suffices)."""
        return self._stretch

    @property
    def overflow(self) -> float | None:
        """The interval every poller gets when even all-slowest exceeds the budget."""
        return self._overflow

    def next_interval(
        self, key: Hashable, *, changed: bool, now: float, at_least: float | None = None
    ) -> float:
        """The interval until ``key``'s next poll, after a poll at ``now``.

        Args:
            key: the poller (e.g. its repository).
            changed: whether this poll found anything new.
            now: monotonic seconds.
            at_least: GitHub's ``X-Poll-Interval``, if it sent one.
        """
        with self._lock:
            poller = self._pollers.get(key)
            if poller is None:
                poller = self._pollers[key] = _Poller(now, now, self.fastest, self.fastest)
            if changed:
                poller.last_change = now
            poller.last_poll = now
            poller.wish = self._wish(now - poller.last_change)
            if self._computed_at is None or now - self._computed_at >= self._recompute_every:
                self._recompute(now)
            if self._overflow is not None:
                interval = self._overflow
            else:
                interval = min(poller.wish * self._stretch, self.slowest)
            if at_least is not None:
                interval = max(interval, at_least)
            interval = self._reconciled(interval, now)
            poller.interval = interval
            return interval

    def _reconciled(self, interval: float, now: float) -> float:
        """``interval``, or the reconcile interval while webhook deliveries arrive."""
        if self._reconcile is None:
            return interval
        until, reconcile_interval = self._reconcile
        if now >= until:  # no delivery for two reconcile intervals: back to normal
            self._reconcile = None
            return interval
        return max(interval, reconcile_interval)

    def _wish(self, quiet_for: float) -> float:
        return min(max(quiet_for * QUIET_FACTOR, self.fastest), self.slowest)

    def _recompute(self, now: float) -> None:
        self._computed_at = now
        stale = [
            key
            for key, p in self._pollers.items()
            if now - p.last_poll > 2 * max(p.interval, self.slowest)
        ]
        for key in stale:
            del self._pollers[key]
        active = len(self._pollers)
        share = 1.0 if not self.expected else min(1.0, active / self.expected)
        budget = self.budget * share
        overflow = active / budget if active / self.slowest > budget else None
        if overflow is not None and self._overflow is None:
            logger.warning(
                "%d repositories polled every intervals.issue_poller_max (%g s) would exceed "
                "the request budget (%.3g polls/s): every repository is polled every %.0f s",
                active, self.slowest, budget, overflow,
            )  # fmt: skip
        self._overflow = overflow
        if overflow is None:
            self._stretch = _stretch([p.wish for p in self._pollers.values()], budget, self.slowest)


def _stretch(wishes: list[float], budget: float, slowest: float) -> float:
    """The least factor ``s >= 1`` with ``sum(1 / min(w * s, slowest)) <= budget``.

    Intervals that reach ``slowest`` stop stretching, so the others stretch
    more. The caller made sure that all-slowest fits (``len / slowest < budget``).
    """
    if sum(1 / w for w in wishes) <= budget:
        return 1.0
    # Longest wishes reach the cap first. With the k longest capped:
    # k / slowest + rest / s = budget  =>  s = rest / (budget - k / slowest).
    ordered = sorted(wishes, reverse=True)
    rest = sum(1 / w for w in ordered)
    for k, wish in enumerate(ordered):
        stretch = rest / (budget - k / slowest)
        if wish * stretch <= slowest:
            return max(stretch, 1.0)
        rest -= 1 / wish
    raise AssertionError("unreachable: all-slowest fits the budget")


def _check(fastest: float, slowest: float, budget: float) -> None:
    if not 0 < fastest <= slowest:
        raise ValueError(f"need 0 < fastest <= slowest, got {fastest!r} and {slowest!r}")
    if not budget > 0:
        raise ValueError(f"`budget` must be greater than 0, got {budget!r}")
