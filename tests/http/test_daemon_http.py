"""End to end: ``autosolve-supervisor start`` serves its endpoint on either backend."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import autosolve
from tests.control.daemon import Daemon, new_github, write_settings
from tests.fakes.github import iso_now
from tests.fakes.ollama import FakeOllama
from tests.http.conftest import BACKENDS
from tests.http.daemon import LISTEN, HttpDaemon, get, running_daemon

pytestmark = pytest.mark.slow

POLLER = "worker:issue-poller:octo/hello"


@pytest.fixture
def daemon(http_daemon: HttpDaemon) -> HttpDaemon:
    return http_daemon


def metric(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_health_readiness_and_status_are_served(daemon: HttpDaemon) -> None:
    url = daemon.http_url()
    assert get(url + "/healthz").json() == {"status": "ok"}
    ready = daemon.wait_until(lambda: get(url + "/readyz").status_code == 200, what="ready")
    assert ready
    status = daemon.get("/status.json").json()
    socket_status = daemon.client.status()
    assert [c["name"] for c in status["children"]] == [c["name"] for c in socket_status["children"]]


def test_metrics_show_github_requests_runs_and_mirrored_issues(daemon: HttpDaemon) -> None:
    url = daemon.http_url()
    daemon.wait_until(lambda: daemon.child(POLLER)["runs"] >= 1, what="a poll")
    text = get(url + "/metrics").text
    assert (metric(text, "autosolve_github_requests_total", status="200") or 0) >= 3
    assert metric(text, "autosolve_child_runs_total", child=POLLER, result="ok") >= 1
    assert metric(text, "autosolve_issues", repository="octo/hello") is not None
    assert metric(text, "autosolve_jobs", state="dead") == 0
    assert metric(text, "process_resident_memory_bytes") > 0


def test_metrics_show_the_build_each_childs_last_success_and_github_request_times(
    daemon: HttpDaemon,
) -> None:
    daemon.wait_until(lambda: daemon.child(POLLER)["runs"] >= 1, what="a poll")
    text = get(daemon.http_url() + "/metrics").text
    [build] = [s for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "autosolve_build_info"]  # fmt: skip
    assert build.value == 1
    assert f'backend = "{build.labels["backend"]}"' in daemon.settings.read_text()
    last_success = metric(text, "autosolve_child_last_success_timestamp_seconds", child=POLLER)
    assert last_success is not None and last_success > 1.7e9
    assert metric(text, "autosolve_child_runs_total", child=POLLER, result="failed") == 0
    timed = "autosolve_github_request_duration_seconds_count"
    assert metric(text, timed, route="repository") >= 2  # each repository validated
    assert metric(text, timed, route="issues") >= 1


def test_a_pause_over_http_shows_on_the_socket_and_back(daemon: HttpDaemon) -> None:
    response = daemon.control({"command": "pause", "name": POLLER})
    assert response.json() == {"ok": True, "names": [POLLER]}
    try:
        daemon.wait_until(lambda: daemon.child(POLLER)["state"] == "paused", what="paused")
        children = json.loads(daemon.ctl("status", "--json").stdout)["children"]
        assert next(c["state"] for c in children if c["name"] == POLLER) == "paused"
    finally:
        daemon.client.resume(POLLER)

    def http_state() -> str:
        children = daemon.get("/status.json").json()["children"]
        return next(c["state"] for c in children if c["name"] == POLLER)

    daemon.wait_until(lambda: http_state() != "paused", what="resumed over the socket")


def test_the_endpoint_closes_with_a_graceful_stop(tmp_path: Path, short_dir: Path) -> None:
    with running_daemon(tmp_path, short_dir / "stop.sock", "threading") as daemon:
        url = daemon.http_url()
        assert get(url + "/healthz").status_code == 200
        daemon.signal(signal.SIGTERM)
        assert daemon.exit_code() == 0
        with pytest.raises(requests.ConnectionError):
            get(url + "/healthz", timeout=5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_address_in_use_stops_start_before_any_task_runs(
    tmp_path: Path, short_dir: Path, backend: str
) -> None:
    with socket.socket() as taken, new_github() as github, FakeOllama() as ollama:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sock = short_dir / f"taken-{backend}.sock"
        settings = write_settings(tmp_path, sock, github, ollama, backend=backend)
        settings.write_text(settings.read_text().replace(LISTEN, f'listen = "127.0.0.1:{port}"'))
        daemon = Daemon(settings, sock, tmp_path / "daemon.log")
        try:
            assert daemon.exit_code() == 1
        finally:
            daemon.close()
        log = daemon.log_path.read_text()
        assert f"cannot start: http.listen 127.0.0.1:{port}: Address already in use" in log
        assert github.requests == []  # not a single task ran
        assert not (tmp_path / "autosolve.db").exists()
        assert not sock.exists()


def test_an_analysis_shows_in_metrics_and_the_overview(daemon: HttpDaemon) -> None:
    url = daemon.http_url()
    issue = daemon.github.add_issue("octo", "world", title="Crash on start", created_at=iso_now())

    def posted() -> float | None:
        return metric(get(url + "/metrics").text, "autosolve_analyses_total", result="posted")

    daemon.wait_until(lambda: (posted() or 0) >= 1, timeout=30, what="an analysis posted")
    text = get(url + "/metrics").text
    assert metric(text, "autosolve_model_request_seconds_count") >= 1
    assert metric(text, "autosolve_issues", repository="octo/world") >= 1
    assert (metric(text, "autosolve_github_requests_total", status="201") or 0) >= 1
    overview = daemon.get("/api/overview").json()
    analysis = next(a for a in overview["analyses"] if a["repository"] == "octo/world")
    assert analysis["number"] == issue.number
    assert analysis["title"] == "Crash on start"
    assert analysis["url"] == f"{daemon.github.url}/octo/world/issues/{issue.number}"
    assert analysis["comment_url"].startswith(analysis["url"] + "#issuecomment-")
    assert analysis["posted_at"] is not None
    assert "explain" in overview["commands"]
    assert set(overview["jobs"]) == {"ready", "in_flight", "dead", "recent_dead"}
    world = next(r for r in overview["repositories"] if r["name"] == "octo/world")
    assert world["issues"] >= 1


def test_an_analysis_reads_in_full_and_counts_in_its_repository_and_the_last_hour(
    daemon: HttpDaemon,
) -> None:
    issue = daemon.github.add_issue("octo", "hello", title="Slow start", created_at=iso_now())

    def analysed() -> dict[str, Any] | None:
        analyses = daemon.get("/api/overview").json()["analyses"]
        # Listed once posted: an analysis is listed as it is stored, before its comment is.
        return next((a for a in analyses if a["title"] == "Slow start" and a["posted_at"]), None)

    listed = daemon.wait_until(analysed, timeout=30, what="the analysis listed as posted")
    full = daemon.get(f"/api/analysis?id={listed['id']}").json()
    [comment] = daemon.github.comments("octo", "hello", issue.number)
    assert full["body"] == comment.body
    assert {key: full[key] for key in listed} == listed
    assert (full["summary"], full["related"], full["questions"]) == (None, [], [])
    view = daemon.get("/api/repository?name=octo/hello").json()
    assert listed["id"] in [a["id"] for a in view["analyses"]]
    latest = next(i for i in view["latest_issues"] if i["number"] == issue.number)
    assert latest["analysis_id"] == listed["id"]
    history = daemon.get("/api/history").json()
    assert sum(history["series"]["analyses"]["posted"]) >= 1
    assert sum(history["series"]["github"]["ok"]) >= 1
    overview = daemon.get("/api/overview").json()
    assert overview["daemon"]["version"] == autosolve.__version__
