"""Restart policies: how long to wait before a failed child runs again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

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
        """The delay before retry number ``attempt`` (0-based)."""
        base = min(self.initial * self.multiplier**attempt, self.max)
        if self.jitter:
            base *= 1.0 + self.jitter * (rng or random).uniform(-1.0, 1.0)
        return max(base, 0.0)


@dataclass(frozen=True)
class PhasePolicies:
    """The policies of one phase; ``degraded=None`` makes unknown errors permanent."""

    node: RestartPolicy
    service: RestartPolicy
    degraded: RestartPolicy | None = None

    def for_category(self, category: Category) -> RestartPolicy | None:
        return getattr(self, category.value)


@dataclass(frozen=True)
class Policies:
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


def default_policies() -> Policies:
    """The seed's defaults (SPEC §2.3)."""
    return Policies()
