"""The dashboard's last hour: samples of what changed, bounded, sampled on the backend."""

from __future__ import annotations

import math
import threading
from dataclasses import replace
from typing import Any

import pytest

from autosolve.http.history import QUANTILE, History, HistorySampler, HistorySources
from autosolve.http.metrics import Metrics
from autosolve.infra.budget import BudgetLimits, BudgetStats
from autosolve.infra.timestamps import format_epoch
from autosolve.runtime import LATENESS_BUCKETS, FixedHistogram
from tests.http.conftest import MeteredHarness

START = 1_767_225_600.0
LIMITS = BudgetLimits(points_per_minute=100, writes_per_minute=10, writes_per_hour=50, window=60.0)


class Figures:
    """Counters a test moves by hand, read as the daemon's sources."""

    def __init__(self) -> None:
        self.now = START
        self.metrics = Metrics()
        self.budget = BudgetStats(0, 0, 0, 0, 0.0, points_total=0)
        self.lateness = FixedHistogram(LATENESS_BUCKETS, threading.Lock())

    def sources(self, limits: BudgetLimits | None = LIMITS) -> HistorySources:
        return HistorySources(
            totals=self.metrics.totals,
            budget=lambda: self.budget,
            budget_limits=limits,
            tick_lateness=self.lateness.snapshot,
        )

    def history(self, **options: Any) -> History:
        return History(self.sources(), now=lambda: self.now, **options)

    def spend(self, points: int, waits: int = 0) -> None:
        self.budget = replace(
            self.budget,
            points_total=self.budget.points_total + points,
            waits_total=self.budget.waits_total + waits,
        )


def test_a_sample_is_what_changed_between_two_readings() -> None:
    figures = Figures()
    history = figures.history()
    history.sample()
    figures.metrics.on_github_response(200, {})
    figures.metrics.on_github_response(304, {})
    figures.metrics.on_github_response(502, {})
    figures.spend(points=7, waits=1)
    for seconds in (0.001, 0.002):
        figures.lateness.observe(seconds)
    figures.now += 10
    history.sample()
    [sample] = history.samples()
    assert (sample.at, sample.seconds) == (figures.now, 10)
    assert (sample.github_ok, sample.github_errors) == (2, 1)
    assert (sample.points, sample.waits) == (7, 1)
    assert sample.ticks == 2
    assert sample.lateness_mean == pytest.approx((0.001 + 0.002) / 2)
    assert sample.lateness_p99 == 0.0025  # the bucket the slower tick fell in


def test_analyses_are_counted_per_outcome() -> None:
    from autosolve.domain.analysis import Result

    figures = Figures()
    history = figures.history()
    history.sample()
    for result in (Result.POSTED, Result.POSTED, Result.FAILED):
        figures.metrics.on_analysis(result)
    figures.now += 10
    series = history.document()["series"]["analyses"]
    assert series["posted"] == [2] and series["failed"] == [1] and series["skipped"] == [0]


def test_the_interval_in_progress_is_the_last_entry_of_the_document() -> None:
    figures = Figures()
    history = figures.history()
    history.sample()
    figures.now += 10
    history.sample()
    figures.metrics.on_github_response(200, {})
    figures.now += 3
    document = history.document()
    assert document["times"] == [format_epoch(START + 10), format_epoch(START + 13)]
    assert document["seconds"] == [10, 3]
    assert document["series"]["github"]["ok"] == [0, 1]


def test_no_sample_before_the_first_reading() -> None:
    document = Figures().history().document()
    assert (document["times"], document["series"]["github"]["ok"]) == ([], [])


def test_history_keeps_at_most_its_span_of_samples() -> None:
    figures = Figures()
    interval, span = 10.0, 30.0
    history = figures.history(interval=interval, span=span)
    for _ in range(6):
        history.sample()
        figures.now += interval
    kept = history.samples(history.read())[:-1]  # the interval in progress aside
    assert len(kept) == int(span // interval)
    assert kept[-1].at == figures.now - interval


def test_budget_used_is_the_share_of_the_points_spent_in_the_window_ending_at_each_sample() -> None:
    figures = Figures()
    interval = LIMITS.window / 3
    history = figures.history(interval=interval)
    history.sample()
    spent = [10, 20, 30, 40]
    for points in spent:
        figures.spend(points)
        figures.now += interval
        history.sample()
    used = history.document()["series"]["budget"]["used"]
    per_window = int(LIMITS.window // interval)  # samples that end within one window
    expected = [
        100 * sum(spent[max(0, i + 1 - per_window) : i + 1]) / LIMITS.points_per_minute
        for i in range(len(spent))
    ]
    assert used == expected


def test_without_a_budget_its_share_is_not_known() -> None:
    figures = Figures()
    history = History(figures.sources(limits=None), now=lambda: figures.now)
    history.sample()
    figures.now += 10
    assert history.document()["series"]["budget"]["used"] == [None]
    assert history.document()["now"]["limits"] is None


@pytest.mark.parametrize("slow", [0, 1, 2])
def test_lateness_p99_is_the_bound_of_the_bucket_holding_the_99th_percentile(slow: int) -> None:
    figures = Figures()
    history = figures.history()
    history.sample()
    ticks = 100
    for index in range(ticks):
        figures.lateness.observe(5.0 if index < slow else 0.001)
    figures.now += 10
    [sample] = history.samples()
    slow_share = slow / ticks
    assert sample.lateness_p99 == (5.0 if slow_share > 1 - QUANTILE else 0.001)


def test_lateness_past_the_last_finite_bucket_is_charted_at_that_bound() -> None:
    figures = Figures()
    history = figures.history()
    history.sample()
    figures.lateness.observe(10**6)
    figures.now += 10
    [sample] = history.samples()
    assert sample.lateness_p99 == max(b for b in LATENESS_BUCKETS if not math.isinf(b))


def test_the_figures_now_are_the_budget_its_limits_and_the_rate_limit_left() -> None:
    figures = Figures()
    figures.metrics.on_github_response(200, {"x-ratelimit-remaining": "4321"})
    figures.spend(points=3)
    now = figures.history().document()["now"]
    assert now["rate_limit_remaining"] == 4321
    assert now["budget"]["points_total"] == 3
    assert now["limits"]["points_per_minute"] == LIMITS.points_per_minute


def test_the_rate_limit_left_is_null_until_github_said_it() -> None:
    assert Figures().history().document()["now"]["rate_limit_remaining"] is None


def test_an_interval_longer_than_the_span_is_refused() -> None:
    with pytest.raises(ValueError, match="`interval` must be greater than 0 and at most `span`"):
        History(Figures().sources(), interval=60.0, span=30.0)


def test_the_sampler_samples_on_the_runtimes_backend_until_closed(
    harness: MeteredHarness,
) -> None:
    history = History(Figures().sources(), interval=0.01, span=1.0)
    sampler = HistorySampler(history, harness.backend)
    sampler.start()
    try:
        harness.wait_for(lambda: len(history.samples()) >= 3, what="three samples")
    finally:
        sampler.close()


def test_a_reading_that_fails_costs_its_sample_not_the_sampler(
    harness: MeteredHarness, caplog: pytest.LogCaptureFixture
) -> None:
    figures = Figures()
    readings: list[float] = []

    def budget() -> BudgetStats:
        readings.append(figures.now)
        if len(readings) == 1:
            raise RuntimeError("the budget is gone")
        return figures.budget

    history = History(replace(figures.sources(), budget=budget), interval=0.01, span=1.0)
    sampler = HistorySampler(history, harness.backend)
    sampler.start()
    try:
        harness.wait_for(lambda: len(readings) >= 3, what="readings after the failure")
    finally:
        sampler.close()
    assert "history: cannot read: RuntimeError: the budget is gone" in caplog.text
    assert history.samples()  # the readings after it were kept
