"""The endpoint's routes over real runtimes, served on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from autosolve.runtime import Unit
from tests.http.conftest import WORKERS, Endpoint, MeteredHarness, socket_answer

Serve = Callable[..., Endpoint]
threading_only = pytest.mark.parametrize("backend", ["threading"])


def refuse_connection(ctx: object) -> None:
    raise ConnectionRefusedError("connection refused to 127.0.0.1:9")


# -- health and readiness ---------------------------------------------------------


def test_healthz_answers_ok_while_the_run_goes_on(serve: Serve) -> None:
    endpoint = serve()
    response = endpoint.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_healthz_answers_503_once_the_run_ended(serve: Serve) -> None:
    endpoint = serve()
    endpoint.handle.stop(timeout=10)
    response = endpoint.get("/healthz")
    assert (response.status_code, response.json()) == (503, {"status": "stopped"})


def test_readyz_is_ready_once_the_workers_run(serve: Serve) -> None:
    response = serve().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"phase": "workers", "failing": []})


def test_readyz_is_not_ready_while_preflights_run(serve: Serve, harness: MeteredHarness) -> None:
    release = harness.backend.make_event()
    preflight = Unit("preflight:slow", lambda ctx: release.wait(10), None)
    endpoint = serve(preflights=(preflight,))
    try:
        response = endpoint.get("/readyz")
        assert (response.status_code, response.json()) == (
            503,
            {"phase": "preflight", "failing": []},
        )
    finally:
        release.set()


def test_readyz_stays_ready_while_a_worker_is_restarted(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve(workers=(*WORKERS, Unit("worker:broken", refuse_connection, 10.0)))
    harness.wait_event("backoff", "worker:broken")
    response = endpoint.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"phase": "workers", "failing": []})


def test_readyz_names_the_children_that_failed_for_good(
    serve: Serve, harness: MeteredHarness
) -> None:
    def invalid(ctx: object) -> None:
        raise ValueError("no such repository")  # unknown error: permanent in a preflight

    endpoint = serve(preflights=(Unit("preflight:broken", invalid),))
    harness.wait_for(lambda: endpoint.handle.result is not None, what="the run to fail")
    response = endpoint.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"phase": "failed", "failing": ["preflight:broken"]},
    )


# -- status and metrics -----------------------------------------------------------


def test_status_json_is_the_status_document(serve: Serve) -> None:
    endpoint = serve()
    response = endpoint.get("/status.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert document["phase"] == "workers"
    assert [c["name"] for c in document["children"]] == [u.name for u in WORKERS]
    assert set(document["children"][0]) >= {
        "name", "kind", "state", "interval", "runs", "failures", "restarts", "attempts",
        "last_error", "last_success_at", "next_run_at",
    }  # fmt: skip


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, parsed by prometheus_client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_runs_failures_and_children_per_state(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve(workers=(*WORKERS, Unit("worker:broken", refuse_connection, 10.0)))
    harness.wait_event("backoff", "worker:broken")
    harness.wait_for(lambda: all(harness.child(u.name)["runs"] == 1 for u in WORKERS))
    response = endpoint.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    for unit in WORKERS:
        assert found["autosolve_child_runs_total", (("child", unit.name),)] == 1
        assert found["autosolve_child_restarts_total", (("child", unit.name),)] == 0
    key = ("autosolve_child_failures_total", (("category", "node"), ("child", "worker:broken")))
    assert found[key] == 1
    assert found["autosolve_children", (("state", "idle"),)] == len(WORKERS)
    assert found["autosolve_children", (("state", "backoff"),)] == 1
    assert found["autosolve_children", (("state", "paused"),)] == 0
    assert found["autosolve_tick_lateness_seconds_count", ()] >= 3  # the runtime's histogram
    assert found["autosolve_tick_lateness_seconds_bucket", (("le", "+Inf"),)] >= 3


def test_metrics_count_restarts(serve: Serve, harness: MeteredHarness) -> None:
    endpoint = serve()
    assert endpoint.control({"command": "restart", "name": "worker:w0"}).json()["ok"]
    harness.wait_event("spawned", "worker:w0", count=2)
    found = samples(endpoint.get("/metrics").text)
    assert found["autosolve_child_restarts_total", (("child", "worker:w0"),)] == 1


# -- control ----------------------------------------------------------------------


def test_a_pause_posted_to_api_control_pauses_the_worker(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve()
    response = endpoint.control({"command": "pause", "name": "worker:w1"})
    assert (response.status_code, response.json()) == (200, {"ok": True, "names": ["worker:w1"]})
    assert harness.child("worker:w1")["state"] == "paused"


@threading_only
def test_api_control_answers_exactly_as_the_socket_does(serve: Serve) -> None:
    endpoint = serve()
    for document in (
        {"command": "pause", "name": "worker:nope"},
        {"command": "status", "name": "x"},
        {"command": "launch"},
        {"command": "pause", "name": "worker:w*"},
    ):
        response = endpoint.control(document)
        assert response.status_code == 200
        assert response.json() == socket_answer(endpoint.handle)(document), document


@threading_only
@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "http://127.0.0.1:1",
        "null",
        "file://",
        "http://127.0.0.1.evil.example",
    ],
)
def test_api_control_refuses_a_cross_origin_request(
    serve: Serve, harness: MeteredHarness, origin: str
) -> None:
    endpoint = serve()
    response = endpoint.control(
        {"command": "pause", "name": "worker:w0"}, headers={"Origin": origin}
    )
    assert response.status_code == 403
    assert "cross-origin" in response.json()["error"]
    assert harness.child("worker:w0")["state"] != "paused"


@threading_only
def test_api_control_answers_a_program_that_sends_no_origin(
    serve: Serve, harness: MeteredHarness
) -> None:
    """curl or a script is no cross-site page: browsers always send Origin cross-origin."""
    endpoint = serve()
    response = endpoint.request(
        "POST", "/api/control", json={"command": "pause", "name": "worker:w0"}
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "names": ["worker:w0"]}
    assert harness.child("worker:w0")["state"] == "paused"


@threading_only
def test_api_control_requires_a_json_body(serve: Serve, harness: MeteredHarness) -> None:
    endpoint = serve()
    response = endpoint.request(
        "POST",
        "/api/control",
        data={"command": "pause", "name": "worker:w0"},  # what a cross-site <form> sends
        headers={"Origin": endpoint.url},
    )
    assert response.status_code == 415
    assert harness.child("worker:w0")["state"] != "paused"


@threading_only
@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"{", 400, "not JSON"),
        (b"[" * 50_000, 400, "nested too deeply"),
        (b'["status"]', 400, "JSON object"),
        (b'{"command": "status"}' + b" " * 70_000, 413, "at most 65536 bytes"),
        (b"\xff\xfe", 400, "not JSON"),
    ],
)
def test_api_control_refuses_a_bad_body_with_a_clear_error(
    serve: Serve, body: bytes, status: int, error: str
) -> None:
    endpoint = serve()
    response = endpoint.request(
        "POST",
        "/api/control",
        data=body,
        headers={"Origin": endpoint.url, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert error in response.json()["error"]
    assert endpoint.get("/healthz").status_code == 200


# -- the token ----------------------------------------------------------------------

TOKEN = "s3cret-token"
GUARDED = ["/readyz", "/status.json", "/metrics", "/api/overview"]


@threading_only
@pytest.mark.parametrize("path", GUARDED)
def test_with_a_token_data_routes_refuse_requests_without_it(serve: Serve, path: str) -> None:
    endpoint = serve(token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = endpoint.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    assert endpoint.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code in (
        200,
        503,
    )


@threading_only
def test_with_a_token_control_requires_it_too(serve: Serve, harness: MeteredHarness) -> None:
    endpoint = serve(token=TOKEN)
    document = {"command": "pause", "name": "worker:w0"}
    assert endpoint.control(document).status_code == 401
    assert harness.child("worker:w0")["state"] != "paused"
    response = endpoint.control(document, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.json() == {"ok": True, "names": ["worker:w0"]}


@threading_only
@pytest.mark.parametrize("path", ["/healthz", "/", "/static/dashboard.js"])
def test_with_a_token_health_and_the_empty_page_need_none(serve: Serve, path: str) -> None:
    assert serve(token=TOKEN).get(path).status_code == 200


@threading_only
def test_without_a_token_only_loopback_host_names_are_answered(serve: Serve) -> None:
    endpoint = serve()
    port = endpoint.server.address.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        assert endpoint.get("/status.json", headers={"Host": host}).status_code == 200, host
    # A page on rebind.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    response = endpoint.get("/status.json", headers={"Host": f"rebind.example:{port}"})
    assert response.status_code == 403
    assert "loopback" in response.json()["error"]


@threading_only
def test_with_a_token_any_host_name_is_answered(serve: Serve) -> None:
    endpoint = serve(token=TOKEN)
    response = endpoint.get(
        "/status.json", headers={"Host": "autosolve.example", "Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200


# -- the rest of HTTP ---------------------------------------------------------------


@threading_only
def test_an_unknown_route_is_404_and_a_wrong_method_405(serve: Serve) -> None:
    endpoint = serve()
    assert endpoint.get("/nope").status_code == 404
    response = endpoint.request("POST", "/status.json", headers={"Origin": endpoint.url})
    assert (response.status_code, response.headers["Allow"]) == (405, "GET, HEAD")
    response = endpoint.get("/api/control")
    assert (response.status_code, response.headers["Allow"]) == (405, "POST")


@threading_only
def test_head_answers_headers_without_a_body(serve: Serve) -> None:
    response = serve().request("HEAD", "/healthz")
    assert response.status_code == 200
    assert response.content == b""


def test_the_dashboard_page_and_its_files_are_served(serve: Serve) -> None:
    endpoint = serve()
    page = endpoint.get("/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<script src="/static/dashboard.js"' in page.text
    script = endpoint.get("/static/dashboard.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "/api/control" in script.text
    assert endpoint.get("/static/dashboard.css").headers["Content-Type"].startswith("text/css")
    assert endpoint.get("/static/nope.js").status_code == 404


@threading_only
def test_an_error_inside_a_route_is_a_500_answer_and_a_log_line(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("the store went away")

    endpoint = serve(overview=broken)
    response = endpoint.get("/api/overview")
    assert (response.status_code, response.json()) == (
        500,
        {"ok": False, "error": "internal error"},
    )
    assert "the store went away" in caplog.text
    assert endpoint.get("/healthz").status_code == 200


@threading_only
def test_more_clients_at_once_than_server_threads_are_all_answered(serve: Serve) -> None:
    endpoint = serve()
    results: list[int] = []
    lock = threading.Lock()

    def scrape() -> None:
        status = requests.get(endpoint.url + "/metrics", timeout=20).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=scrape) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert results == [200] * 20
