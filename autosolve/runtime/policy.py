"""Restart policies: how long to wait before a failed child runs again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from autosolve.runtime.kinds import UnitKind

__all__ = ["Category", "PhasePolicies", "Policies", "RestartPolicy", "default_policies"]


class Category(StrEnum):
    """Why a child failed, as far as restarting is concerned."""

    NODE = "node"
    """The network or host is in trouble (refused, reset, DNS, TLS, timeouts)."""
    SERVICE = "service"
    """The remote service pushed back (rate limit, overload, 5xx)."""
    DEGRADED = "degraded"
    """Nobody recognised the error; retried only if the phase has a degraded policy."""


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff with a cap, a retry budget and optional jitter.

    Attributes mirror ``[policies.<phase>.<category>]`` in ``settings.toml``.
    """

    initial: float
    max: float
    multiplier: float = 2.0
    retries: int = 0
    """At most this many consecutive retries of the category; 0 = unlimited."""
    jitter: float = 0.0
    """Spread each delay by ±this fraction, so a fleet does not retry in step."""

    def exhausted(self, attempt: int) -> bool:
        """True when ``attempt`` (0-based) would exceed the retry budget."""
        return self.retries > 0 and attempt >= self.retries

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before retry number ``attempt`` (0-based).

        ``min(initial × multiplier^attempt, max)``, spread by ±``jitter`` of
        itself but never past ``max``: the cap is a promise to operators.
        """
        try:
            base = min(self.initial * self.multiplier**attempt, self.max)
        except OverflowError:  # multiplier^attempt after thousands of attempts
            base = self.max
        if self.jitter:
            base = min(base * (1.0 + self.jitter * (rng or random).uniform(-1.0, 1.0)), self.max)
        return max(base, 0.0)


@dataclass(frozen=True)
class PhasePolicies:
    """The policies of one phase; ``degraded=None`` makes unknown errors permanent."""

    node: RestartPolicy
    service: RestartPolicy
    degraded: RestartPolicy | None = None

    def for_category(self, category: Category) -> RestartPolicy | None:
        """The policy for ``category``; None means such failures are permanent."""
        match category:
            case Category.NODE:
                return self.node
            case Category.SERVICE:
                return self.service
            case Category.DEGRADED:
                return self.degraded
        raise ValueError(f"unknown category {category!r}")


@dataclass(frozen=True)
class Policies:
    """The policies of both phases: the one mapping kind → category → policy."""

    preflight: PhasePolicies = field(
        default_factory=lambda: PhasePolicies(
            node=RestartPolicy(2.0, 120.0), service=RestartPolicy(5.0, 300.0)
        )
    )
    worker: PhasePolicies = field(
        default_factory=lambda: PhasePolicies(
            node=RestartPolicy(2.0, 120.0),
            service=RestartPolicy(5.0, 300.0),
            degraded=RestartPolicy(30.0, 300.0),
        )
    )

    def for_kind(self, kind: UnitKind) -> PhasePolicies:
        """The policies of the phase units of ``kind`` run in."""
        match kind:
            case UnitKind.PREFLIGHT:
                return self.preflight
            case UnitKind.WORKER:
                return self.worker
        raise ValueError(f"unknown unit kind {kind!r}")

    def lookup(self, kind: UnitKind, category: Category) -> RestartPolicy | None:
        """The policy for a failure of ``category`` in a unit of ``kind``; None = permanent."""
        return self.for_kind(kind).for_category(category)


def default_policies() -> Policies:
    """The defaults of :class:`Policies` (the seed's), used when the configured lookup raises."""
    return Policies()
