"""Settings of the request budget and adaptive polling (SPEC §5.1)."""

from __future__ import annotations

import pytest

from autosolve.settings import SettingsError, settings_from_mapping
from autosolve.settings.sections import BudgetSettings


def problems(data: dict) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(data)
    return caught.value.problems


def test_the_budget_defaults_follow_the_spec() -> None:
    settings = settings_from_mapping({})
    assert settings.github.budget == BudgetSettings(
        points_per_minute=900, concurrency=20, writes_per_minute=60, writes_per_hour=450,
        window=60.0,
    )  # fmt: skip
    assert (settings.intervals.issue_poller, settings.intervals.issue_poller_max) == (10.0, 300.0)


def test_budget_values_are_read() -> None:
    budget = {"points_per_minute": 60, "concurrency": 4, "writes_per_minute": 3,
              "writes_per_hour": 10, "window": 10.0}  # fmt: skip
    assert settings_from_mapping({"github": {"budget": budget}}).github.budget == BudgetSettings(
        60, 4, 3, 10, 10.0
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("points_per_minute", 4, "must be at least 5 (a comment costs 5 points)"),
        ("points_per_minute", 900.5, "not a valid integer"),
        ("concurrency", 0, "must be between 1 and 100"),
        ("concurrency", 101, "must be between 1 and 100"),
        ("writes_per_minute", 0, "must be 1 or greater"),
        ("writes_per_hour", -5, "must be 1 or greater"),
        ("window", 0, "must be greater than 0"),
        ("windw", 10, "unknown key; did you mean github.budget.window?"),
    ],
)
def test_bad_budget_values_are_named_by_their_dotted_path(key, value, message) -> None:
    assert problems({"github": {"budget": {key: value}}}) == {f"github.budget.{key}": message}


def test_every_bad_budget_value_is_reported_at_once() -> None:
    found = problems({"github": {"budget": {"concurrency": 0, "writes_per_hour": 0}}})
    assert set(found) == {"github.budget.concurrency", "github.budget.writes_per_hour"}


def test_the_slowest_poll_may_not_be_faster_than_the_fastest() -> None:
    found = problems({"intervals": {"issue_poller": 60.0, "issue_poller_max": 30.0}})
    assert found == {"intervals.issue_poller_max": "must not be less than intervals.issue_poller"}
    assert problems({"intervals": {"issue_poller_max": 5.0}}) == {
        "intervals.issue_poller_max": "must not be less than intervals.issue_poller"
    }


def test_an_unrelated_error_does_not_hide_the_slowest_below_the_fastest() -> None:
    found = problems({"intervals": {"issue_poller_max": 1.0, "outbox_relay": 0}})
    assert found == {
        "intervals.issue_poller_max": "must not be less than intervals.issue_poller",
        "intervals.outbox_relay": "must be greater than 0",
    }


def test_equal_fastest_and_slowest_mean_a_fixed_interval() -> None:
    settings = settings_from_mapping({"intervals": {"issue_poller": 30, "issue_poller_max": 30}})
    assert (settings.intervals.issue_poller, settings.intervals.issue_poller_max) == (30.0, 30.0)


def test_a_slow_fastest_without_a_slowest_raises_the_slowest_with_it() -> None:
    """A settings file written before adaptive polling stays valid."""
    settings = settings_from_mapping({"intervals": {"issue_poller": 600.0}})
    assert settings.intervals.issue_poller_max == 600.0
    assert (
        settings_from_mapping({"intervals": {"issue_poller": 60.0}}).intervals.issue_poller_max
        == 300.0
    )
