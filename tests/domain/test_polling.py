"""The poll pacer: intervals that follow activity and together fit the budget."""

from __future__ import annotations

import pytest

from autosolve.domain.polling import PollPacer, polls_per_second


def quiet_poll(pacer: PollPacer, key: str, now: float) -> float:
    return pacer.next_interval(key, changed=False, now=now)


def test_a_repository_that_just_changed_is_polled_at_the_fastest():
    pacer = PollPacer(10.0, 300.0, budget=100.0)
    assert pacer.next_interval("a", changed=True, now=0.0) == 10.0
    assert quiet_poll(pacer, "a", 10.0) == 10.0  # quiet for 10 s: wants 5, held at fastest
    assert quiet_poll(pacer, "a", 20.0) == 10.0


def test_a_quiet_repository_slows_down_to_half_its_quiet_time_then_the_slowest():
    pacer = PollPacer(10.0, 300.0, budget=100.0)
    pacer.next_interval("a", changed=True, now=0.0)
    assert quiet_poll(pacer, "a", 60.0) == 30.0
    assert quiet_poll(pacer, "a", 200.0) == 100.0
    assert quiet_poll(pacer, "a", 2000.0) == 300.0
    assert pacer.next_interval("a", changed=True, now=2300.0) == 10.0  # woken up


def test_an_unknown_repository_starts_at_the_fastest():
    assert quiet_poll(PollPacer(10.0, 300.0, budget=1.0), "new", now=5.0) == 10.0


def test_intervals_stretch_together_when_the_polls_would_exceed_the_budget():
    # 100 repositories at 10 s want 10 polls/s; the budget is 2: everyone x5.
    pacer = PollPacer(10.0, 300.0, budget=2.0, recompute_every=0.0)
    for n in range(100):
        pacer.next_interval(n, changed=True, now=0.0)
    assert pacer.stretch == pytest.approx(5.0)
    assert pacer.next_interval(0, changed=True, now=1.0) == pytest.approx(50.0)


def test_the_busiest_stay_fastest_when_stretched():
    # One busy repository wants 10 s, 20 quiet ones 100 s: 0.3 polls/s for a budget of 0.15.
    pacer = PollPacer(10.0, 300.0, budget=0.15, recompute_every=0.0)
    pacer.next_interval("busy", changed=True, now=0.0)
    for n in range(20):
        pacer.next_interval(n, changed=True, now=-200.0)
        quiet_poll(pacer, n, 0.0)
    busy = pacer.next_interval("busy", changed=True, now=0.0)
    quiet = quiet_poll(pacer, 0, 0.0)
    assert (busy, quiet) == (pytest.approx(20.0), pytest.approx(200.0))
    assert 1 / busy + 20 / quiet == pytest.approx(0.15)


def test_capped_intervals_make_the_others_stretch_more():
    # 10 quiet repositories already at the slowest (300 s) use 1/30 poll/s;
    # 10 busy ones share the rest of 0.1 poll/s: 10 / 0.0667 = 150 s each.
    pacer = PollPacer(10.0, 300.0, budget=0.1, recompute_every=0.0)
    for n in range(10):
        pacer.next_interval(("quiet", n), changed=True, now=-10_000.0)
        quiet_poll(pacer, ("quiet", n), 0.0)
    for n in range(10):
        pacer.next_interval(("busy", n), changed=True, now=0.0)
    busy = pacer.next_interval(("busy", 0), changed=True, now=0.0)
    assert busy == pytest.approx(150.0)
    assert quiet_poll(pacer, ("quiet", 0), 0.0) == 300.0
    assert 10 / busy + 10 / 300.0 == pytest.approx(0.1)


def test_when_even_the_slowest_is_too_fast_everyone_gets_the_interval_that_fits(caplog):
    pacer = PollPacer(10.0, 300.0, budget=1.0, recompute_every=10.0)
    for n in range(600):  # 600 / 300 s = 2 polls/s > 1
        pacer.next_interval(n, changed=True, now=0.0)
    assert pacer.next_interval(0, changed=True, now=10.0) == 600.0
    assert pacer.overflow == 600.0
    assert pacer.next_interval(1, changed=False, now=500.0) == 600.0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "600 repositories polled every intervals.issue_poller_max (300 s) would exceed the "
        "request budget (1 polls/s): every repository is polled every 600 s"
    ]


def test_github_poll_interval_header_is_honoured_even_beyond_the_slowest():
    pacer = PollPacer(10.0, 300.0, budget=100.0)
    assert pacer.next_interval("a", changed=True, now=0.0, at_least=60.0) == 60.0
    assert pacer.next_interval("a", changed=False, now=10_000.0, at_least=600.0) == 600.0


def test_a_daemon_with_a_share_of_the_pollers_plans_for_its_share_of_the_budget():
    # 40 repositories configured over the cluster, 10 polled here: a quarter of 2 polls/s.
    pacer = PollPacer(10.0, 300.0, budget=2.0, pollers=40, recompute_every=0.0)
    for n in range(10):
        pacer.next_interval(n, changed=True, now=0.0)
    assert pacer.stretch == pytest.approx(2.0)  # 10 x 1/10 s = 1 poll/s > 0.5


def test_pollers_that_stopped_polling_are_forgotten():
    pacer = PollPacer(10.0, 300.0, budget=1.0, recompute_every=0.0)
    for n in range(20):
        pacer.next_interval(n, changed=True, now=0.0)
    assert pacer.stretch == pytest.approx(2.0)
    pacer.next_interval(0, changed=True, now=601.0)  # the others last polled 601 s ago
    assert pacer.stretch == 1.0


def test_the_stretch_is_recomputed_at_most_once_per_period():
    pacer = PollPacer(10.0, 300.0, budget=1.0, recompute_every=5.0)
    pacer.next_interval(0, changed=True, now=0.0)
    for n in range(1, 20):
        pacer.next_interval(n, changed=True, now=1.0)
    assert pacer.stretch == 1.0
    pacer.next_interval(0, changed=True, now=5.0)
    assert pacer.stretch == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("fastest", "slowest", "budget", "message"),
    [
        (0.0, 10.0, 1.0, "need 0 < fastest <= slowest"),
        (20.0, 10.0, 1.0, "need 0 < fastest <= slowest"),
        (1.0, 10.0, 0.0, "`budget` must be greater than 0"),
    ],
)
def test_bad_arguments_are_named(fastest, slowest, budget, message):
    with pytest.raises(ValueError, match=message):
        PollPacer(fastest, slowest, budget)


def test_the_pollers_share_leaves_room_for_analyses_at_their_full_write_rate():
    assert polls_per_second(900, 60, 60.0) == pytest.approx((900 - 360) / 60)
    assert polls_per_second(900, 100, 60.0) == pytest.approx(450 / 60)  # at least half


def test_retuning_keeps_what_the_pacer_learnt_and_applies_the_new_bounds():
    pacer = PollPacer(10.0, 300.0, budget=100.0)
    pacer.next_interval("a", changed=True, now=0.0)
    assert quiet_poll(pacer, "a", 200.0) == 100.0
    pacer.retune(5.0, 60.0, 100.0, pollers=3)  # a reload: new fastest, slowest, count
    assert quiet_poll(pacer, "a", 300.0) == 60.0  # quiet for 300 s still, capped anew
    assert pacer.next_interval("a", changed=True, now=301.0) == 5.0
    assert (pacer.fastest, pacer.slowest, pacer.expected) == (5.0, 60.0, 3)
    with pytest.raises(ValueError, match="fastest <= slowest"):
        pacer.retune(60.0, 5.0, 100.0)
    assert pacer.slowest == 60.0  # refused whole


def test_while_webhook_deliveries_arrive_pollers_only_reconcile_then_go_back():
    pacer = PollPacer(10.0, 300.0, budget=100.0)
    assert pacer.next_interval("a", changed=True, now=0.0) == 10.0
    pacer.delivered(now=5.0, reconcile_interval=600.0)
    assert pacer.reconciling
    assert pacer.next_interval("a", changed=True, now=10.0) == 600.0
    pacer.delivered(now=1000.0, reconcile_interval=600.0)  # deliveries keep coming
    assert pacer.next_interval("a", changed=True, now=2100.0) == 600.0
    # No delivery for 2 × the reconcile interval (the webhook was removed): normal again.
    assert pacer.next_interval("a", changed=True, now=2200.0) == 10.0
    assert not pacer.reconciling
