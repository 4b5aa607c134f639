"""The endpoint's routes over real runtimes, served on both backends."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from autosolve.http.app import make_app
from autosolve.infra.timestamps import format_epoch
from autosolve.runtime import Unit
from tests.http.conftest import (
    TOKEN,
    WORKERS,
    Endpoint,
    HandleDaemon,
    MeteredHarness,
    socket_answer,
)

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


def readiness(endpoint: Endpoint) -> tuple[int, dict[str, object]]:
    response = endpoint.get("/readyz", headers={"Authorization": None})  # no token needed
    return response.status_code, response.json()


def failing_past_the_grace(
    serve: Serve, harness: MeteredHarness, work: Callable[[object], None]
) -> Endpoint:
    """An endpoint whose ``worker:broken`` (doing ``work``) has failed since just past the grace."""
    endpoint = serve(workers=(*WORKERS, Unit("worker:broken", work, 10.0)))
    harness.wait_event("backoff", "worker:broken")
    harness.advance(harness.readiness.grace + 1)
    harness.wait_for(lambda: len(harness.named("failed", "worker:broken")) >= 2)
    return endpoint


def test_readyz_is_ready_once_the_workers_run(serve: Serve) -> None:
    assert readiness(serve()) == (
        200,
        {"status": "ready", "phase": "workers", "failing": [], "reasons": []},
    )


def test_readyz_is_starting_while_validators_run_and_names_them(
    serve: Serve, harness: MeteredHarness
) -> None:
    release = harness.backend.make_event()
    preflight = Unit("preflight:slow", lambda ctx: release.wait(10), None)
    endpoint = serve(preflights=(preflight,))
    try:
        assert readiness(endpoint) == (
            503,
            {
                "status": "starting",
                "phase": "preflight",
                "failing": [],
                "reasons": ["starting: 1 validators have not finished (preflight:slow)"],
            },
        )
    finally:
        release.set()


def test_readyz_stays_ready_while_a_worker_fails_for_less_than_the_grace(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve(workers=(*WORKERS, Unit("worker:broken", refuse_connection, 10.0)))
    harness.wait_event("backoff", "worker:broken")
    harness.advance(harness.readiness.grace - 1)
    harness.wait_event("backoff", "worker:broken", count=2)  # failed again meanwhile
    assert readiness(endpoint)[0] == 200


def test_readyz_fails_once_a_worker_has_been_failing_longer_than_the_grace(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = failing_past_the_grace(serve, harness, refuse_connection)
    code, document = readiness(endpoint)
    assert (code, document["status"], document["failing"]) == (
        503,
        "not ready",
        ["worker:broken"],
    )
    [reason] = document["reasons"]
    assert reason.startswith("worker:broken has been failing for 121 s")
    assert "http.ready_grace = 120 s" in reason


def test_readyz_is_ready_again_once_the_failing_worker_succeeds(
    serve: Serve, harness: MeteredHarness
) -> None:
    healthy = threading.Event()

    def flaky(ctx: object) -> None:
        if not healthy.is_set():
            refuse_connection(ctx)

    endpoint = failing_past_the_grace(serve, harness, flaky)
    assert readiness(endpoint)[0] == 503
    healthy.set()
    harness.advance(harness.readiness.grace * 2)  # past the backoff: the restart succeeds
    harness.wait_for(lambda: harness.child("worker:broken")["runs"] >= 1, what="a success")
    assert readiness(endpoint)[0] == 200


def banner(endpoint: Endpoint) -> dict[str, Any]:
    """The dashboard's health banner, as ``/api/readiness`` answers it."""
    response = endpoint.get("/api/readiness")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_the_dashboards_readiness_is_readyz_judgement_answered_with_200(
    serve: Serve, harness: MeteredHarness
) -> None:
    failing_since = harness.clock.time()
    endpoint = failing_past_the_grace(serve, harness, refuse_connection)
    document = banner(endpoint)
    code, readyz = readiness(endpoint)
    assert code == 503
    assert {key: document[key] for key in readyz} == readyz
    assert document["health"] == "failing"
    assert document["troubles"] == [
        {
            "name": "worker:broken",
            "state": "backoff",
            "since": format_epoch(failing_since),
            "failures": harness.child("worker:broken")["attempts"]["node"],
            "error": "ConnectionRefusedError: connection refused to 127.0.0.1:9",
        }
    ]
    assert endpoint.get("/api/readiness", headers={"Authorization": None}).status_code == 401


def test_the_health_is_ok_while_no_child_fails(serve: Serve) -> None:
    document = banner(serve())
    assert (document["status"], document["health"], document["troubles"]) == ("ready", "ok", [])


def test_a_worker_failing_within_the_grace_makes_the_health_degraded_not_unready(
    serve: Serve, harness: MeteredHarness
) -> None:
    failing_since = harness.clock.time()
    endpoint = serve(workers=(*WORKERS, Unit("worker:broken", refuse_connection, 10.0)))
    harness.wait_event("backoff", "worker:broken")
    harness.advance(harness.readiness.grace / 2)
    document = banner(endpoint)
    assert (document["status"], document["health"]) == ("ready", "degraded")
    assert [(t["name"], t["since"]) for t in document["troubles"]] == [
        ("worker:broken", format_epoch(failing_since))
    ]
    assert readiness(endpoint)[0] == 200


def test_readyz_tells_no_error_to_those_without_the_token(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = failing_past_the_grace(serve, harness, refuse_connection)
    assert "connection refused" not in endpoint.get("/readyz", headers={"Authorization": None}).text


def test_readyz_names_the_children_that_failed_for_good(
    serve: Serve, harness: MeteredHarness
) -> None:
    def invalid(ctx: object) -> None:
        raise ValueError("no such repository")  # unknown error: permanent in a preflight

    endpoint = serve(preflights=(Unit("preflight:broken", invalid),))
    harness.wait_for(lambda: endpoint.handle.result is not None, what="the run to fail")
    assert readiness(endpoint) == (
        503,
        {
            "status": "not ready",
            "phase": "failed",
            "failing": ["preflight:broken"],
            "reasons": ["the run is failed", "preflight:broken has failed for good"],
        },
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


def test_status_json_with_paging_parameters_answers_a_page_with_the_counts(
    serve: Serve,
) -> None:
    endpoint = serve()
    names = [u.name for u in WORKERS]
    response = endpoint.get("/status.json?pattern=worker:*&offset=1&limit=1")
    assert response.status_code == 200
    page = response.json()
    assert [c["name"] for c in page["children"]] == names[1:2]
    assert (page["offset"], page["limit"], page["more"]) == (1, 1, len(names) > 2)
    assert sum(page["counts"].values()) == len(names)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("state=asleep", "state: must be one of"),
        ("limit=-1", "limit: must be an integer of at least 0"),
        ("offset=two", "offset: not a valid integer"),
        ("pattern=", "pattern:"),
    ],
)
def test_status_json_refuses_a_paging_parameter_that_breaks_its_rule_naming_it(
    serve: Serve, query: str, named: str
) -> None:
    response = serve().get(f"/status.json?{query}")
    assert response.status_code == 400
    assert response.json()["ok"] is False and named in response.json()["error"]


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
        assert found["autosolve_child_runs_total", (("child", unit.name), ("result", "ok"))] == 1
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

GUARDED = [
    "/status.json", "/api/overview", "/api/history", "/api/repository?name=octo/hello",
    "/api/analysis?id=1", "/static/dashboard.js", "/nope",
]  # fmt: skip
WITHOUT_TOKEN = {"Authorization": None}


@threading_only
@pytest.mark.parametrize("path", GUARDED)
def test_every_route_but_health_refuses_a_request_without_the_token_on_loopback_too(
    serve: Serve, path: str
) -> None:
    endpoint = serve()
    for headers in (WITHOUT_TOKEN, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = endpoint.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in response.text
    assert endpoint.get(path).status_code in (200, 404)


@threading_only
def test_control_requires_the_token(serve: Serve, harness: MeteredHarness) -> None:
    endpoint = serve()
    document = {"command": "pause", "name": "worker:w0"}
    assert endpoint.control(document, headers=WITHOUT_TOKEN).status_code == 401
    assert harness.child("worker:w0")["state"] != "paused"
    assert endpoint.control(document).json() == {"ok": True, "names": ["worker:w0"]}


@threading_only
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_health_readiness_and_local_metrics_need_no_token(serve: Serve, path: str) -> None:
    assert serve().get(path, headers=WITHOUT_TOKEN).status_code == 200


@threading_only
@pytest.mark.parametrize(
    ("client", "host", "status"),
    [
        ("127.0.0.1", "127.0.0.1:9477", 200),
        ("127.0.0.1", "localhost", 200),
        ("192.0.2.7", "127.0.0.1:9477", 401),  # another machine
        ("127.0.0.1", "rebind.example:9477", 401),  # a page rebinding a DNS name to us
    ],
)
def test_metrics_without_the_token_are_for_this_machine_only(
    harness: MeteredHarness, client: str, host: str, status: int
) -> None:
    app = make_app(HandleDaemon(harness.start(), dict), harness.metrics, token=TOKEN)
    answered = call_app(app, "/metrics", REMOTE_ADDR=client, HTTP_HOST=host)
    assert answered[0] == status
    with_token = call_app(
        app, "/metrics", REMOTE_ADDR=client, HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert with_token[0] == 200


def call_app(app: Any, path: str, **environ: str) -> tuple[int, dict[str, str], bytes]:
    """One request through the WSGI application itself: any client address can be named."""
    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answered["status"], answered["headers"] = int(status.split()[0]), dict(headers)

    path_info, _, query = path.partition("?")
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": path_info, "QUERY_STRING": query}
    body = b"".join(app({**base, "SERVER_PORT": "9477", **environ}, start_response))
    return answered["status"], answered["headers"], body


def test_opening_the_page_with_the_token_sets_a_strict_httponly_cookie_and_drops_it_from_the_url(
    serve: Serve,
) -> None:
    endpoint = serve()
    port = endpoint.server.address.port
    response = endpoint.get(f"/?token={TOKEN}", headers=WITHOUT_TOKEN, allow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (303, "/")
    cookie = response.headers["Set-Cookie"]
    assert cookie == f"autosolve_token_{port}={TOKEN}; Path=/; HttpOnly; SameSite=Strict"
    by_cookie = {"Authorization": None, "Cookie": f"autosolve_token_{port}={TOKEN}"}
    assert endpoint.get("/", headers=by_cookie).status_code == 200
    assert endpoint.get("/status.json", headers=by_cookie).status_code == 200


@threading_only
def test_without_the_token_the_page_asks_for_it_and_a_wrong_one_is_refused(
    serve: Serve,
) -> None:
    endpoint = serve()
    asked = endpoint.get("/", headers=WITHOUT_TOKEN)
    assert asked.status_code == 401
    assert (
        'name="token"' in asked.text
        and "form-action 'self'" in asked.headers["Content-Security-Policy"]
    )
    refused = endpoint.get("/?token=wrong", headers=WITHOUT_TOKEN, allow_redirects=False)
    assert refused.status_code == 401 and "Set-Cookie" not in refused.headers
    assert "that token was refused" in refused.text


@threading_only
def test_a_post_shown_by_the_cookie_must_carry_its_origin(
    serve: Serve, harness: MeteredHarness
) -> None:
    endpoint = serve()
    cookie = f"autosolve_token_{endpoint.server.address.port}={TOKEN}"
    document = {"command": "pause", "name": "worker:w0"}
    headers = {"Authorization": None, "Cookie": cookie}
    refused = endpoint.request("POST", "/api/control", json=document, headers=headers)
    assert refused.status_code == 403
    assert harness.child("worker:w0")["state"] != "paused"
    assert endpoint.control(document, headers=headers).json()["ok"]


@threading_only
def test_any_host_name_is_answered_with_the_token(serve: Serve) -> None:
    endpoint = serve()
    response = endpoint.get("/status.json", headers={"Host": "autosolve.example"})
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
    assert '<script type="module" src="/static/dashboard.js"' in page.text
    scripts = served_modules(endpoint, "dashboard.js")
    assert any("/api/control" in text for text in scripts.values())
    assert endpoint.get("/static/dashboard.css").headers["Content-Type"].startswith("text/css")
    assert endpoint.get("/static/nope.js").status_code == 404


def served_modules(endpoint: Endpoint, entry: str) -> dict[str, str]:
    """``entry`` and every module it imports, transitively: each must be served as JavaScript."""
    found: dict[str, str] = {}
    waiting = [entry]
    while waiting:
        name = waiting.pop()
        response = endpoint.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"].startswith("text/javascript"), name
        found[name] = response.text
        imported = re.findall(r'^import .* from "\./([\w.-]+\.js)";$', response.text, re.M)
        waiting += [module for module in imported if module not in found]
    return found


# -- the dashboard's documents ------------------------------------------------------


def views(**documents: Any) -> dict[str, Callable[..., Any]]:
    """Views that know one repository (``octo/hello``) and one analysis (id 7)."""
    return {
        "repository": lambda name: documents["repository"] if name == "octo/hello" else None,
        "analysis": lambda analysis_id: documents["analysis"] if analysis_id == 7 else None,
        "history": lambda: documents["history"],
    }


DOCUMENTS = {"repository": {"name": "octo/hello"}, "analysis": {"id": 7}, "history": {"times": []}}


@threading_only
@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("/api/repository?name=octo/hello", DOCUMENTS["repository"]),
        ("/api/analysis?id=7", DOCUMENTS["analysis"]),
        ("/api/history", DOCUMENTS["history"]),
    ],
)
def test_the_dashboards_documents_are_answered(serve: Serve, path: str, document: Any) -> None:
    response = serve(views=views(**DOCUMENTS)).get(path)
    assert (response.status_code, response.json()) == (200, document)


@threading_only
@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/repository?name=octo/nowhere", 404, "no such repository: octo/nowhere"),
        ("/api/repository", 400, "this route needs ?name= (owner/name)"),
        ("/api/analysis?id=8", 404, "no analysis with id 8"),
        ("/api/analysis", 400, "this route needs ?id= (a number)"),
        ("/api/analysis?id=x", 400, "`id` must be a positive integer, got 'x'"),
        ("/api/analysis?id=-1", 400, "`id` must be a positive integer, got '-1'"),
    ],
)
def test_a_document_asked_for_wrongly_or_not_there_is_said_so(
    serve: Serve, path: str, status: int, error: str
) -> None:
    response = serve(views=views(**DOCUMENTS)).get(path)
    assert (response.status_code, response.json()) == (status, {"ok": False, "error": error})


@threading_only
def test_a_repository_name_that_is_not_owner_slash_name_is_a_400(serve: Serve) -> None:
    def refuse(name: str) -> None:
        raise ValueError(f"`repository` must be owner/name, got {name!r}")

    response = serve(views={"repository": refuse}).get("/api/repository?name=octo")
    assert response.status_code == 400
    assert response.json()["error"] == "`repository` must be owner/name, got 'octo'"


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
