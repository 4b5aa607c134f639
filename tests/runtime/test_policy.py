from __future__ import annotations

import random

import pytest

from autosolve.runtime import Category, RestartPolicy
from autosolve.runtime.policy import default_policies


def test_delay_grows_exponentially_up_to_the_cap() -> None:
    policy = RestartPolicy(initial=2.0, max=120.0, multiplier=2.0)
    assert [policy.delay(k) for k in range(8)] == [2, 4, 8, 16, 32, 64, 120, 120]


def test_retry_budget_counts_attempts_and_zero_means_unlimited() -> None:
    assert not RestartPolicy(1, 1, retries=0).exhausted(10_000)
    budget = RestartPolicy(1, 1, retries=3)
    assert [budget.exhausted(k) for k in range(5)] == [False, False, False, True, True]


def test_jitter_spreads_the_delay_within_its_fraction() -> None:
    policy = RestartPolicy(initial=10.0, max=100.0, jitter=0.2)
    rng = random.Random(7)
    delays = [policy.delay(0, rng) for _ in range(200)]
    assert all(8.0 <= d <= 12.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100


@pytest.mark.parametrize(
    ("phase", "category", "initial", "cap"),
    [
        ("preflight", Category.NODE, 2.0, 120.0),
        ("preflight", Category.SERVICE, 5.0, 300.0),
        ("worker", Category.NODE, 2.0, 120.0),
        ("worker", Category.SERVICE, 5.0, 300.0),
        ("worker", Category.DEGRADED, 30.0, 300.0),
    ],
)
def test_default_policy_table(phase: str, category: Category, initial: float, cap: float) -> None:
    policy = getattr(default_policies(), phase).for_category(category)
    assert (policy.initial, policy.max, policy.multiplier, policy.retries, policy.jitter) == (
        initial, cap, 2.0, 0, 0.0,
    )  # fmt: skip


def test_preflights_have_no_degraded_policy_by_default() -> None:
    assert default_policies().preflight.for_category(Category.DEGRADED) is None


def test_jitter_never_takes_a_delay_past_the_cap() -> None:
    policy = RestartPolicy(initial=2.0, max=10.0, jitter=0.5)
    rng = random.Random(3)
    delays = [policy.delay(attempt, rng) for attempt in range(10) for _ in range(50)]
    assert max(delays) <= 10.0
    assert min(delays) >= 1.0
    capped = [policy.delay(8, rng) for _ in range(200)]
    assert all(5.0 <= d <= 10.0 for d in capped) and len(set(capped)) > 50
