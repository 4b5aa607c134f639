"""The ledger's sliding windows, driven by explicit times (a 10 s window, as in the tests).

A contract suite: every test that takes ``ledger`` runs against the in-memory
ledger and against the PostgreSQL one that daemons sharing a database share.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from autosolve.daemon.dependencies import AppDependencies
from autosolve.infra.budget import BudgetLimits, MemoryLedger, Reservation
from autosolve.settings import settings_from_mapping

SMALL = {"points_per_minute": 10, "writes_per_minute": 2, "writes_per_hour": 3, "window": 10.0}


@pytest.fixture(params=["memory", "postgres"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``ledger(**limits)`` makes a ledger of the parametrised kind (one database per test)."""
    defaults = {**SMALL, "margin": 0.0}
    if request.param == "memory":
        yield lambda **limits: MemoryLedger(BudgetLimits(**{**defaults, **limits}))
        return
    from autosolve.infra.postgres import PostgresDatabase
    from autosolve.infra.postgres.budget import PostgresLedger
    from autosolve.infra.postgres.migrations import apply_migrations

    database = PostgresDatabase(request.getfixturevalue("postgres_url"))
    database.open()
    apply_migrations(database)
    yield lambda **limits: PostgresLedger(
        database, BudgetLimits(**{**defaults, **limits}), server_clock=False
    )
    database.close()


def test_reads_fit_until_the_points_of_one_window_are_spent(ledger):
    book = ledger()
    assert all(book.reserve(1, False, at=0.0).granted for _ in range(10))
    assert book.reserve(1, False, at=0.0) == Reservation(points_wait=10.0, writes_wait=0.0)
    assert book.reserve(1, False, at=9.999).points_wait == pytest.approx(0.001)
    assert book.reserve(1, False, at=10.0).granted


def test_any_window_counts_not_calendar_minutes(ledger):
    book = ledger()
    for _ in range(5):
        book.reserve(1, False, at=0.0)
    for _ in range(5):
        book.reserve(1, False, at=6.0)
    # A calendar window starting at 10 would allow 10 more; the window (1, 11] holds 5.
    assert book.reserve(1, False, at=9.0).points_wait == 1.0
    assert all(book.reserve(1, False, at=10.0).granted for _ in range(5))
    assert book.reserve(1, False, at=10.0).points_wait == 6.0


def test_the_wait_names_the_entry_whose_expiry_makes_room(ledger):
    book = ledger()
    book.reserve(3, False, at=0.0)
    book.reserve(3, False, at=2.0)
    book.reserve(4, False, at=4.0)
    assert book.reserve(5, True, at=5.0).points_wait == 7.0  # 3 + 3 must go: t = 12


def test_a_write_costs_its_points_and_a_place_in_both_write_windows(ledger):
    book = ledger(points_per_minute=100)
    assert book.reserve(5, True, at=0.0).granted
    assert book.reserve(5, True, at=1.0).granted
    assert book.reserve(5, True, at=2.0) == Reservation(points_wait=0.0, writes_wait=8.0)
    assert book.reserve(5, True, at=10.0).granted
    # Three writes within the long window (60 windows = 600 s): the next waits for the first.
    assert book.reserve(5, True, at=20.0) == Reservation(0.0, 580.0)
    assert book.reserve(5, True, at=600.0).granted


def test_a_refused_request_records_nothing(ledger):
    book = ledger(points_per_minute=10, writes_per_minute=1)
    book.reserve(5, True, at=0.0)
    assert not book.reserve(5, True, at=1.0).granted  # no room for a second write
    assert all(book.reserve(1, False, at=1.0).granted for _ in range(5))
    assert not book.reserve(1, False, at=1.0).granted


def test_reads_never_touch_the_write_windows(ledger):
    book = ledger(points_per_minute=100, writes_per_minute=1, writes_per_hour=1)
    assert all(book.reserve(1, False, at=0.0).granted for _ in range(50))
    assert book.reserve(5, True, at=0.0).granted


def test_entries_count_for_the_margin_beyond_their_window(ledger):
    book = ledger(points_per_minute=1, margin=1.5)
    book.reserve(1, False, at=0.0)
    assert book.reserve(1, False, at=10.0).points_wait == 1.5
    assert book.reserve(1, False, at=11.5).granted


def test_a_wall_clock_stepping_back_never_expires_an_entry_early(ledger):
    book = ledger(points_per_minute=2)
    book.reserve(1, False, at=100.0)
    book.reserve(1, False, at=95.0)  # the clock stepped back 5 s
    assert book.reserve(1, False, at=105.0).points_wait == 5.0
    assert book.reserve(1, False, at=110.0).granted
    assert book.reserve(1, False, at=110.0).granted


def test_a_request_dearer_than_the_whole_budget_is_refused_clearly(ledger):
    with pytest.raises(ValueError, match="5 points can never fit a budget of 3 points"):
        ledger(points_per_minute=3).reserve(5, True, at=0.0)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"points_per_minute": 0}, "`points_per_minute` must be an integer of at least 1"),
        ({"writes_per_minute": 1.5}, "`writes_per_minute` must be an integer of at least 1"),
        ({"writes_per_hour": True}, "`writes_per_hour` must be an integer of at least 1"),
        ({"window": 0.0}, "`window` must be greater than 0"),
        ({"margin": -1.0}, "`margin` must be 0 or greater"),
    ],
)
def test_limits_name_the_bad_value(limits, message):
    with pytest.raises(ValueError, match=message):
        BudgetLimits(**{**SMALL, **limits})


def test_production_limits_are_the_settings_minute_and_hour_with_a_second_of_margin():
    budget = settings_from_mapping({}).github.budget
    limits = AppDependencies(settings_from_mapping({})).budget_limits
    assert (limits.points_per_minute, limits.writes_per_minute, limits.writes_per_hour) == (
        budget.points_per_minute, budget.writes_per_minute, budget.writes_per_hour,
    )  # fmt: skip
    assert (limits.span, limits.long_span) == (budget.window + 1.0, 60 * budget.window + 1.0)


def test_a_settled_request_counts_from_its_answer_on(ledger):
    """GitHub counts a request from its arrival, which may be as late as its answer."""
    book = ledger(points_per_minute=2, writes_per_minute=1, writes_per_hour=2)
    slow = book.reserve(1, False, at=0.0)
    book.reserve(1, False, at=1.0)
    book.settle(slow.entry, at=8.0)  # the answer came 8 s later
    assert book.reserve(1, False, at=10.0).points_wait == 1.0  # the other one expires at 11
    assert book.reserve(1, False, at=11.0).granted
    assert book.reserve(1, False, at=11.0).points_wait == 7.0  # the slow one counts until 18
    assert book.reserve(1, False, at=18.0).granted


def test_a_settled_write_moves_in_both_write_windows(ledger):
    book = ledger(points_per_minute=100, writes_per_minute=1, writes_per_hour=2)
    post = book.reserve(5, True, at=0.0)
    book.settle(post.entry, at=5.0)
    assert book.reserve(5, True, at=10.0).writes_wait == 5.0
    assert book.reserve(5, True, at=15.0).granted
    assert book.reserve(5, True, at=20.0).writes_wait == 585.0  # the long window: 605 - 20


def test_settling_an_entry_that_already_expired_records_it_again(ledger):
    book = ledger(points_per_minute=1)
    slow = book.reserve(1, False, at=0.0)
    assert book.reserve(1, False, at=10.0).granted  # the first expired while in flight
    book.settle(slow.entry, at=12.0)
    assert book.reserve(1, False, at=20.0).points_wait == 2.0
