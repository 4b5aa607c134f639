"""/metrics shows the GitHub request budget's waiting and each repository's poll interval."""

from __future__ import annotations

import pytest

from autosolve.http.metrics import Metrics, ScrapeSources
from autosolve.infra.budget import BudgetStats
from tests.http.daemon import HttpDaemon, get
from tests.http.test_daemon_http import metric
from tests.http.test_metrics import child, scrape

BUDGET_FAMILIES = {
    "autosolve_github_budget_waiting": "gauge",
    "autosolve_github_budget_in_flight": "gauge",
    "autosolve_github_budget_waits": "counter",
    "autosolve_github_budget_wait_seconds": "counter",
    "autosolve_poll_interval_seconds": "gauge",
}


def test_the_budget_families_are_exposed_before_there_is_a_budget() -> None:
    families = scrape(Metrics())
    for name, kind in BUDGET_FAMILIES.items():
        assert families[name]["type"] == kind, name


def test_the_budget_figures_come_from_its_stats() -> None:
    stats = BudgetStats(waiting=3, in_flight=7, requests_total=90, waits_total=12,
                        wait_seconds_total=41.5)  # fmt: skip
    metrics = Metrics()
    metrics.sources = ScrapeSources(status=lambda: {"children": []}, budget=lambda: stats)
    families = scrape(metrics)
    assert families["autosolve_github_budget_waiting"]["autosolve_github_budget_waiting"] == 3
    assert families["autosolve_github_budget_in_flight"]["autosolve_github_budget_in_flight"] == 7
    waits = families["autosolve_github_budget_waits"]
    assert waits["autosolve_github_budget_waits_total"] == 12
    seconds = families["autosolve_github_budget_wait_seconds"]
    assert seconds["autosolve_github_budget_wait_seconds_total"] == 41.5


def test_each_pollers_interval_is_a_gauge_per_repository() -> None:
    children = [
        {**child("worker:issue-poller:octo/hello"), "interval": 10.0},
        {**child("worker:issue-poller:octo/world"), "interval": 245.5},
        {**child("worker:outbox-relay:octo/hello"), "interval": 5.0},
        {**child("preflight:repository-validator:octo/hello"), "interval": None},
    ]
    metrics = Metrics()
    metrics.sources = ScrapeSources(status=lambda: {"children": children})
    intervals = scrape(metrics)["autosolve_poll_interval_seconds"]
    assert {k: v for k, v in intervals.items() if k != "type"} == {
        (("repository", "octo/hello"),): 10.0,
        (("repository", "octo/world"),): 245.5,
    }


@pytest.mark.slow
def test_a_running_daemon_shows_its_budget_and_poll_intervals(http_daemon: HttpDaemon) -> None:
    url = http_daemon.http_url()
    poller = "worker:issue-poller:octo/hello"
    http_daemon.wait_until(lambda: http_daemon.child(poller)["runs"] >= 1, what="a poll")
    before = http_daemon.child(poller)["interval"]
    text = get(url + "/metrics").text
    after = http_daemon.child(poller)["interval"]  # a poll may move it meanwhile
    assert metric(text, "autosolve_poll_interval_seconds", repository="octo/hello") in (
        before,
        after,
    )
    assert metric(text, "autosolve_github_budget_waiting") == 0
    assert metric(text, "autosolve_github_budget_wait_seconds_total") is not None
