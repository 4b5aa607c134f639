"""The metrics: what each hook counts, what a scrape reads, and the text it gives."""

from __future__ import annotations

import math
import platform
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from autosolve import __version__
from autosolve.domain.analysis import Result
from autosolve.http.metrics import Metrics, ScrapeSources
from autosolve.infra.github import GitHubClient
from autosolve.infra.github.errors import RateLimitError
from autosolve.infra.github.routes import ROUTE_KINDS, route_kind
from autosolve.runtime import Category, EventKind, Failure, RuntimeEvent
from tests.fakes.github import FakeGitHub

SPEC_FAMILIES = {
    "autosolve_child_runs": "counter",
    "autosolve_child_failures": "counter",
    "autosolve_child_restarts": "counter",
    "autosolve_children": "gauge",
    "autosolve_tick_lateness_seconds": "histogram",
    "autosolve_github_requests": "counter",
    "autosolve_github_rate_limit_remaining": "gauge",
    "autosolve_issues": "gauge",
    "autosolve_jobs": "gauge",
    "autosolve_analyses": "counter",
    "autosolve_model_request_seconds": "histogram",
}


def child(name: str, state: str = "idle", runs: int = 0, restarts: int = 0) -> dict[str, Any]:
    return {"name": name, "state": state, "runs": runs, "restarts": restarts}


def scrape(metrics: Metrics) -> dict[str, Any]:
    """``{family name: {labels tuple or sample name: value}}`` from a rendered page."""
    families: dict[str, Any] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        found = families.setdefault(family.name, {"type": family.type})
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items())) if sample.labels else sample.name
            if sample.name.endswith(("_bucket", "_sum", "_count")):
                key = (sample.name, tuple(sorted(sample.labels.items())))
            found[key] = sample.value
    return families


def test_every_family_of_the_spec_is_exposed_before_anything_happened() -> None:
    families = scrape(Metrics())
    lateness = families["autosolve_tick_lateness_seconds"]
    assert lateness["autosolve_tick_lateness_seconds_bucket", (("le", "+Inf"),)] == 0
    for name, kind in SPEC_FAMILIES.items():
        assert families[name]["type"] == kind, name
    assert "process_resident_memory_bytes" in families
    assert families["autosolve_jobs"][(("state", "dead"),)] == 0
    for result in ("posted", "skipped", "failed", "dry_run"):
        assert families["autosolve_analyses"][(("result", result),)] == 0
    for state in ("pending", "running", "idle", "backoff", "paused", "failed", "abandoned"):
        assert families["autosolve_children"][(("state", state),)] == 0


def test_failures_are_counted_per_child_and_category_from_runtime_events() -> None:
    metrics = Metrics()
    for category in (Category.NODE, Category.NODE, Category.DEGRADED, Category.SERVICE):
        name = "worker:b" if category is Category.SERVICE else "worker:a"
        failure = Failure(category, "OSError: boom", permanent=False)
        metrics.observe(RuntimeEvent(EventKind.FAILED, name, failure))
    metrics.observe(RuntimeEvent(EventKind.SPAWNED, "worker:a", 2))
    failures = scrape(metrics)["autosolve_child_failures"]
    assert failures[("category", "node"), ("child", "worker:a")] == 2
    assert failures[("category", "degraded"), ("child", "worker:a")] == 1
    assert failures[("category", "service"), ("child", "worker:b")] == 1


def test_a_removed_child_takes_its_failure_series_with_it() -> None:
    metrics = Metrics()
    for name in ("worker:a", "worker:b"):
        failure = Failure(Category.NODE, "OSError: boom", permanent=False)
        metrics.observe(RuntimeEvent(EventKind.FAILED, name, failure))
    metrics.observe(RuntimeEvent(EventKind.REMOVED, "worker:a"))
    failures = scrape(metrics)["autosolve_child_failures"]
    assert {k: v for k, v in failures.items() if k != "type"} == {
        (("category", "node"), ("child", "worker:b")): 1
    }


def test_a_scrape_reads_runs_restarts_and_states_from_the_status() -> None:
    metrics = Metrics()
    metrics.sources = ScrapeSources(
        status=lambda: {
            "phase": "workers",
            "children": [
                child("worker:a", "idle", runs=7, restarts=2),
                child("worker:b", "paused", runs=1),
                child("worker:c", "backoff"),
            ],
        }
    )
    families = scrape(metrics)
    assert families["autosolve_child_runs"][("child", "worker:a"), ("result", "ok")] == 7
    assert families["autosolve_child_runs"][("child", "worker:b"), ("result", "ok")] == 1
    assert families["autosolve_child_restarts"][(("child", "worker:a"),)] == 2
    states = families["autosolve_children"]
    assert (states[("state", "idle"),], states[("state", "paused"),]) == (1, 1)
    assert states[("state", "backoff"),] == 1


def test_child_names_that_need_escaping_still_make_valid_text() -> None:
    metrics = Metrics()
    odd = 'worker:x\\y"z\nw'
    metrics.sources = ScrapeSources(status=lambda: {"children": [child(odd, runs=3)]})
    assert scrape(metrics)["autosolve_child_runs"][("child", odd), ("result", "ok")] == 3


def test_issues_and_jobs_come_from_their_sources() -> None:
    metrics = Metrics()
    metrics.sources = ScrapeSources(
        status=lambda: {"children": []},
        issues=lambda: {"octo/hello": 12, "octo/world": 0},
        jobs=lambda: {"ready": 3, "in_flight": 1, "dead": 2},
    )
    families = scrape(metrics)
    assert families["autosolve_issues"][(("repository", "octo/hello"),)] == 12
    assert families["autosolve_issues"][(("repository", "octo/world"),)] == 0
    jobs = families["autosolve_jobs"]
    assert [jobs[("state", s),] for s in ("ready", "in_flight", "dead")] == [3, 1, 2]


def test_a_failing_source_costs_its_samples_not_the_scrape(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> dict[str, int]:
        raise OSError("disk I/O error")

    metrics = Metrics()
    metrics.sources = ScrapeSources(
        status=lambda: {"children": [child("worker:a", runs=1)]}, issues=broken
    )
    families = scrape(metrics)
    assert families["autosolve_child_runs"][("child", "worker:a"), ("result", "ok")] == 1
    assert list(families["autosolve_issues"]) == ["type"]  # the family, no samples
    assert "cannot read issues: OSError: disk I/O error" in caplog.text


def test_tick_lateness_is_the_runtimes_histogram() -> None:
    metrics = Metrics()
    metrics.sources = ScrapeSources(
        status=lambda: {"children": []},
        tick_lateness=lambda: ((0.001, 0.01, 0.1, math.inf), [5, 8, 9, 10], 0.75, 10),
    )
    histogram = scrape(metrics)["autosolve_tick_lateness_seconds"]
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in ((k, v) for k, v in histogram.items() if k != "type")
        if name.endswith("_bucket")
    }
    assert buckets == {"0.001": 5, "0.01": 8, "0.1": 9, "+Inf": 10}
    assert histogram["autosolve_tick_lateness_seconds_count", ()] == 10
    assert histogram["autosolve_tick_lateness_seconds_sum", ()] == 0.75


def test_model_requests_and_analyses_are_counted_by_their_hooks() -> None:
    metrics = Metrics()
    for seconds in (0.2, 3.0, 400.0):
        metrics.on_model_request(seconds)
    for result in (Result.POSTED, Result.POSTED, Result.SKIPPED, Result.DRY_RUN):
        metrics.on_analysis(result)
    families = scrape(metrics)
    histogram = families["autosolve_model_request_seconds"]
    assert histogram["autosolve_model_request_seconds_bucket", (("le", "0.5"),)] == 1
    assert histogram["autosolve_model_request_seconds_bucket", (("le", "5.0"),)] == 2
    assert histogram["autosolve_model_request_seconds_bucket", (("le", "+Inf"),)] == 3
    assert histogram["autosolve_model_request_seconds_sum", ()] == pytest.approx(403.2)
    analyses = families["autosolve_analyses"]
    assert analyses[("result", "posted"),] == 2
    assert analyses[("result", "failed"),] == 0


def test_github_responses_are_counted_by_status_with_the_rate_limit_left() -> None:
    metrics = Metrics()
    with FakeGitHub(token="t") as github:
        github.add_repo("octo", "hello")
        client = GitHubClient(github.url, "t", timeout=5, on_response=metrics.on_github_response)
        client.get_repository("octo", "hello")
        remaining = scrape(metrics)["autosolve_github_rate_limit_remaining"]
        assert math.isnan(remaining["autosolve_github_rate_limit_remaining"])  # not said yet
        github.fail_next(1, "rate_limit")
        with pytest.raises(RateLimitError):
            client.get_repository("octo", "hello")
    families = scrape(metrics)
    assert families["autosolve_github_requests"][(("status", "200"),)] == 1
    assert families["autosolve_github_requests"][(("status", "403"),)] == 1
    remaining = families["autosolve_github_rate_limit_remaining"]
    assert remaining["autosolve_github_rate_limit_remaining"] == 0


def test_a_failing_response_hook_never_fails_the_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(status: int, headers: Any) -> None:
        raise RuntimeError("metrics broke")

    with FakeGitHub(token="t") as github:
        github.add_repo("octo", "hello")
        client = GitHubClient(github.url, "t", timeout=5, on_response=broken)
        assert client.get_repository("octo", "hello").name == "hello"
    assert "response hook failed" in caplog.text


def test_build_info_names_the_version_python_and_backend() -> None:
    [(labels, value)] = [
        (key, v) for key, v in scrape(Metrics(backend="gevent"))["autosolve_build_info"].items()
        if key != "type"
    ]  # fmt: skip
    assert dict(labels) == {
        "version": __version__,
        "python": platform.python_version(),
        "backend": "gevent",
    }
    assert value == 1


def test_runs_are_counted_by_result_and_the_last_success_is_a_unix_time() -> None:
    metrics = Metrics()
    succeeded = {
        **child("worker:a", runs=7),
        "failures": 2,
        "last_success_at": "2026-01-01T00:00:00Z",
    }
    never = {**child("worker:b"), "failures": 3, "last_success_at": None}
    metrics.sources = ScrapeSources(status=lambda: {"children": [succeeded, never]})
    families = scrape(metrics)
    results = families["autosolve_child_runs"]
    assert results[("child", "worker:a"), ("result", "ok")] == 7
    assert results[("child", "worker:a"), ("result", "failed")] == 2
    assert results[("child", "worker:b"), ("result", "failed")] == 3
    last = families["autosolve_child_last_success_timestamp_seconds"]
    assert {k: v for k, v in last.items() if k != "type"} == {
        (("child", "worker:a"),): 1767225600.0  # no sample for a child that never succeeded
    }


def test_github_request_durations_are_a_histogram_by_route_kind() -> None:
    metrics = Metrics()
    with FakeGitHub(token="t") as github:
        github.add_repo("octo", "hello")
        client = GitHubClient(github.url, "t", timeout=5, on_timing=metrics.on_github_timing)
        client.get_repository("octo", "hello")
        client.get_repository("octo", "hello")
    histogram = scrape(metrics)["autosolve_github_request_duration_seconds"]
    count = "autosolve_github_request_duration_seconds_count"
    assert histogram[count, (("route", "repository"),)] == 2
    series = {dict(key[1])["route"] for key in histogram if key != "type" and key[0] == count}
    assert series == set(ROUTE_KINDS)  # every kind from the start, and no other


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/repos/octo/hello", "repository"),
        ("/repos/octo/hello/issues", "issues"),
        ("/repos/octo/hello/issues/12", "issues"),
        ("/repos/octo/hello/issues/comments", "comments"),
        ("/repos/octo/hello/issues/12/comments", "comments"),
        ("/repos/octo/hello/issues/comments/99", "comments"),
        ("/repos/octo/hello/labels", "labels"),
        ("/repos/octo/hello/issues/12/labels", "labels"),
        ("/user", "user"),
        ("/orgs/octo/repos", "other"),
        ("/installation/repositories", "other"),
    ],
)
def test_a_request_path_is_one_of_a_few_route_kinds(path: str, kind: str) -> None:
    assert route_kind(path) == kind
