"""The running daemon from outside: status, ctl, HTTP, notify, GitHub, Ollama, the store."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.conftest import Observed
from tests.control.daemon import SUPERVISOR, TOKEN
from tests.fakes.ollama import DEFAULT_MODEL

pytestmark = pytest.mark.slow

MARKER = "<!-- autosolve -->"
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
PHASES = {"preflight", "workers", "stopping", "stopped", "failed"}
STATES = {
    "pending", "running", "idle", "backoff", "paused", "succeeded", "failed", "stopped",
    "abandoned",
}  # fmt: skip
NAMES = {
    "preflight:repository-validator:octo/hello",
    "preflight:repository-validator:octo/world",
    "worker:issue-poller:octo/hello",
    "worker:issue-poller:octo/world",
    "worker:comment-poller:octo/hello",
    "worker:comment-poller:octo/world",
    "worker:outbox-relay:octo/hello",
    "worker:outbox-relay:octo/world",
    "worker:issue-explainer",
}
POLLER = "worker:issue-poller:octo/hello"


def analysed(observed: Observed) -> list[str]:
    """Wait for autosolve's comment on ``octo/hello#1``; its bodies."""
    return observed.daemon.wait_until(
        lambda: observed.github.marker_comments("octo", "hello", observed.issue.number, MARKER),
        20.0,
        "the analysis of octo/hello#1",
    )


def ctl(observed: Observed, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [SUPERVISOR, "ctl", *args], capture_output=True, text=True, timeout=30,
        cwd=observed.workdir,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def status_json(observed: Observed, *options: str) -> dict[str, Any]:
    code, out, err = ctl(observed, "status", "--json", *options)
    assert code == 0, err
    return json.loads(out)


def check_status_document(document: dict[str, Any]) -> None:
    """The status document: every field, its type, the phase and state names, ``Z`` times."""
    assert document["phase"] in PHASES
    assert isinstance(document["children"], list)
    for child in document["children"]:
        assert isinstance(child["name"], str)
        assert child["kind"] == (
            "preflight" if child["name"].startswith("preflight:") else "worker"
        )
        assert child["state"] in STATES
        assert child["interval"] is None or isinstance(child["interval"], float)
        for count in ("runs", "failures", "restarts"):
            assert type(child[count]) is int and child[count] >= 0
        assert set(child["attempts"]) == {"node", "service", "degraded"}
        assert all(type(n) is int for n in child["attempts"].values())
        assert child["last_error"] is None or isinstance(child["last_error"], str)
        for stamp in ("last_success_at", "next_run_at"):
            assert child[stamp] is None or ISO_Z.match(child[stamp]), (stamp, child[stamp])


# -- status, over the socket and over HTTP -------------------------------------


def test_status_json_over_ctl_is_the_status_document_with_every_field(observed: Observed) -> None:
    document = status_json(observed)
    check_status_document(document)
    assert document["phase"] == "workers"
    names = [c["name"] for c in document["children"]]
    assert set(names) == NAMES
    assert all(n.startswith("preflight:") for n in names[:2])  # preflights first
    by_name = {c["name"]: c for c in document["children"]}
    assert by_name["preflight:repository-validator:octo/hello"]["state"] == "succeeded"
    poller = by_name[POLLER]
    assert poller["interval"] == 1.0 and poller["runs"] >= 1
    assert ISO_Z.match(poller["last_success_at"]) and ISO_Z.match(poller["next_run_at"])


def test_status_json_over_http_is_the_same_document(observed: Observed) -> None:
    response = observed.get("/status.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    check_status_document(document)
    assert {c["name"] for c in document["children"]} == NAMES


def test_in_phase_preflight_readyz_is_503_naming_the_phase(observed: Observed) -> None:
    response = observed.readyz_in_preflight
    assert response.status_code == 503
    document = response.json()
    assert (document["phase"], document["failing"]) == ("preflight", [])
    assert document["reasons"] == [
        "starting: 1 validators have not finished (preflight:repository-validator:octo/world)"
    ]
    document = observed.status_in_preflight
    check_status_document(document)
    assert document["phase"] == "preflight"
    # Workers never start before every preflight succeeded.
    workers = [c for c in document["children"] if c["kind"] == "worker"]
    assert all(c["state"] == "pending" and c["runs"] == 0 for c in workers), workers


# -- HTTP routes -----------------------------------------------------------------


def test_healthz_and_readyz_in_phase_workers(observed: Observed) -> None:
    without_token = {"Authorization": None}
    health = observed.get("/healthz", headers=without_token)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = observed.get("/readyz", headers=without_token)
    assert ready.status_code == 200


@pytest.mark.parametrize("path", ["/", "/status.json", "/api/overview"])
def test_every_other_route_needs_the_token_on_loopback_too(observed: Observed, path: str) -> None:
    assert observed.get(path, headers={"Authorization": None}).status_code == 401
    assert observed.get("/metrics", headers={"Authorization": None}).status_code == 200


def test_the_dashboard_is_served_at_the_root(observed: Observed) -> None:
    response = observed.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")


LABELS = {
    "autosolve_child_runs_total": {"child", "result"},
    "autosolve_child_failures_total": {"child", "category"},
    "autosolve_child_restarts_total": {"child"},
    "autosolve_children": {"state"},
    "autosolve_github_requests_total": {"status"},
    "autosolve_github_rate_limit_remaining": set(),
    "autosolve_issues": {"repository"},
    "autosolve_jobs": {"state"},
    "autosolve_analyses_total": {"result"},
}
HISTOGRAMS = ("autosolve_tick_lateness_seconds", "autosolve_model_request_seconds")


def scrape(observed: Observed) -> dict[str, list[Any]]:
    response = observed.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def test_a_failure_shows_as_backoff_in_status_and_is_counted_in_metrics(
    observed: Observed,
) -> None:
    """A 500 is a service failure; the child waits in ``backoff``."""
    analysed(observed)
    world = "worker:issue-poller:octo/world"
    socket = str(observed.daemon.sock_path)
    # Paused first: a poll due meanwhile would take the fault, and its backoff
    # would be over before the status is read. Resumed, the next tick is at once.
    assert ctl(observed, "pause", world, "--socket", socket)[0] == 0
    observed.daemon.wait_until(lambda: observed.daemon.child(world)["state"] == "paused",
                               what="the poller paused")  # fmt: skip
    observed.github.fail_next(1, "server_error", "/repos/octo/world/issues")
    assert ctl(observed, "resume", world, "--socket", socket)[0] == 0

    def backing_off() -> dict[str, Any] | None:
        child = observed.daemon.child(world)
        return child if child["state"] == "backoff" else None

    child = observed.daemon.wait_until(backing_off, what="the poller in backoff")
    assert child["attempts"] == {"node": 0, "service": 1, "degraded": 0}
    assert child["failures"] >= 1 and "500" in child["last_error"]
    assert ISO_Z.match(child["next_run_at"])
    observed.daemon.wait_until(
        lambda: any(s.labels == {"child": world, "category": "service"}
                    for s in scrape(observed).get("autosolve_child_failures_total", ())),
        what="the poller's failure counted",
    )  # fmt: skip
    observed.daemon.wait_until(
        lambda: any(s.value >= 1 for s in scrape(observed).get("autosolve_analyses_total", ())
                    if s.labels == {"result": "posted"}),
        what="the posted analysis counted",
    )  # fmt: skip
    samples = scrape(observed)
    for name, labels in LABELS.items():
        assert samples.get(name), f"no sample of {name}"
        for sample in samples[name]:
            assert set(sample.labels) == labels, (name, sample.labels)
    for name in HISTOGRAMS:
        assert samples.get(f"{name}_bucket") and samples.get(f"{name}_count"), name
    assert {s.labels["state"] for s in samples["autosolve_jobs"]} >= {"ready", "in_flight", "dead"}
    assert {s.labels["result"] for s in samples["autosolve_analyses_total"]} >= {
        "posted", "skipped", "failed", "dry_run",
    }  # fmt: skip
    assert {s.labels["state"] for s in samples["autosolve_children"]} >= STATES
    assert {s.labels["child"] for s in samples["autosolve_child_runs_total"]} == NAMES
    assert {s.labels["repository"] for s in samples["autosolve_issues"]} >= {"octo/hello"}
    assert any(s.labels["status"] == "200" for s in samples["autosolve_github_requests_total"])
    assert samples["autosolve_model_request_seconds_count"][0].value >= 1


def test_post_api_control_speaks_the_socket_protocol(observed: Observed) -> None:
    origin = {"Origin": observed.url}
    paused = observed.post(
        "/api/control", json={"command": "pause", "name": POLLER}, headers=origin
    )
    try:
        assert paused.status_code == 200
        assert paused.json() == {"ok": True, "names": [POLLER]}
        observed.daemon.wait_until(
            lambda: observed.daemon.child(POLLER)["state"] == "paused", what="paused"
        )
    finally:
        resumed = observed.post(
            "/api/control", json={"command": "resume", "name": POLLER}, headers=origin
        )
    assert resumed.json()["ok"] is True
    refused = observed.post(
        "/api/control", json={"command": "pause", "name": "worker:nope"}, headers=origin
    )
    assert refused.status_code == 200 and refused.json()["ok"] is False


def test_post_api_control_from_a_client_that_sends_no_origin(observed: Observed) -> None:
    """A command-line client (curl, requests) is not a cross-site page: no Origin is no refusal."""
    response = observed.post("/api/control", json={"command": "status"})
    assert response.status_code == 200
    assert response.json()["ok"] is True
    check_status_document(response.json()["status"])


def test_post_api_control_refuses_another_origin(observed: Observed) -> None:
    response = observed.post(
        "/api/control",
        json={"command": "pause", "name": POLLER},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403
    assert observed.daemon.child(POLLER)["state"] != "paused"


# -- systemd -----------------------------------------------------------------


def test_the_service_manager_heard_ready_and_watchdog(observed: Observed) -> None:
    observed.daemon.wait_until(lambda: "WATCHDOG=1" in observed.notify.lines(), what="WATCHDOG=1")
    assert "READY=1" in observed.notify.lines()


# -- ctl: every action, options before or after it --------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("option", ["--settings", "--socket"])
def test_ctl_options_may_come_before_or_after_the_action(
    observed: Observed, where: str, option: str
) -> None:
    value = str(observed.daemon.settings if option == "--settings" else observed.daemon.sock_path)
    args = [option, value, "status", "--json"] if where == "before" else [
        "status", "--json", option, value,
    ]  # fmt: skip
    code, out, err = ctl(observed, *args)
    assert code == 0, err
    assert json.loads(out)["phase"] == "workers"


def test_ctl_status_without_json_is_a_table_naming_every_child(observed: Observed) -> None:
    code, out, err = ctl(observed, "status", "--socket", str(observed.daemon.sock_path))
    assert code == 0, err
    for name in NAMES:
        assert name in out
    with pytest.raises(ValueError):
        json.loads(out)


@pytest.mark.parametrize("action", ["pause", "resume", "run-now", "restart"])
def test_ctl_name_actions_take_a_pattern_and_refuse_an_unknown_name(
    observed: Observed, action: str
) -> None:
    sock = str(observed.daemon.sock_path)
    code, out, err = ctl(observed, action, "worker:outbox-relay:*", "--socket", sock)
    try:
        assert code == 0, err
        assert "worker:outbox-relay:octo/hello" in out and "worker:outbox-relay:octo/world" in out
    finally:
        ctl(observed, "resume", "worker:outbox-relay:*", "--socket", sock)
    code, _, err = ctl(observed, action, "worker:no-such-task", "--socket", sock)
    assert code == 1 and "worker:no-such-task" in err
    assert status_json(observed, "--socket", sock)["phase"] == "workers"


def test_ctl_pause_then_resume_shows_in_the_child_state(observed: Observed) -> None:
    sock = str(observed.daemon.sock_path)
    assert ctl(observed, "pause", POLLER, "--socket", sock)[0] == 0
    try:
        observed.daemon.wait_until(
            lambda: observed.daemon.child(POLLER)["state"] == "paused", what="paused"
        )
    finally:
        assert ctl(observed, "resume", POLLER, "--socket", sock)[0] == 0
    observed.daemon.wait_until(
        lambda: observed.daemon.child(POLLER)["state"] in ("idle", "running"), what="resumed"
    )


def test_ctl_jobs_json_and_retry_dead(observed: Observed) -> None:
    sock = str(observed.daemon.sock_path)
    code, out, err = ctl(observed, "jobs", "--json", "--socket", sock)
    assert code == 0, err
    jobs = json.loads(out)
    assert {"ready", "in_flight", "dead"} <= set(jobs)
    assert all(type(jobs[k]) is int for k in ("ready", "in_flight", "dead"))
    code, _, err = ctl(observed, "retry-dead", "all", "--socket", sock)
    assert code == 0, err
    code, _, err = ctl(observed, "--socket", sock, "retry-dead", "999999")
    assert code == 1 and err


def test_ctl_explain_edits_the_existing_comment_never_a_second(observed: Observed) -> None:
    analysed(observed)
    issue = f"octo/hello#{observed.issue.number}"
    code, out, err = ctl(observed, "explain", issue, "--socket", str(observed.daemon.sock_path))
    assert code == 0, err
    assert issue in out
    comments = observed.github.marker_comments("octo", "hello", observed.issue.number, MARKER)
    assert len(comments) == 1
    code, _, err = ctl(
        observed, "explain", "octo/hello", "--socket", str(observed.daemon.sock_path)
    )
    assert code in (1, 2) and err


def test_ctl_reload_answers_the_difference(observed: Observed) -> None:
    code, out, err = ctl(observed, "reload", "--json", "--socket", str(observed.daemon.sock_path))
    assert code == 0, err
    answer = json.loads(out)
    assert set(answer) == {"ok", "added", "removed", "replaced", "unchanged", "needs_restart"}
    assert answer["ok"] is True
    assert (answer["added"], answer["removed"], answer["replaced"]) == ([], [], [])
    assert answer["unchanged"] == len(NAMES) and answer["needs_restart"] == []


def test_repl_attached_has_the_helpers_and_sup(observed: Observed) -> None:
    script = (
        "names = dir()\n"
        "print(sorted(n for n in ('status', 'pause', 'resume', 'run_now', 'restart', 'stop', 'sup')"
        " if n in names))\n"
        "print('phase', status()['phase'])\n"
        f"print('paused', pause({POLLER!r}))\n"
        f"print('resumed', resume({POLLER!r}))\n"
    )
    done = subprocess.run(
        [SUPERVISOR, "repl", "--attach", "--settings", str(observed.daemon.settings)],
        input=script, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "['pause', 'restart', 'resume', 'run_now', 'status', 'stop', 'sup']" in done.stdout
    assert "phase workers" in done.stdout
    assert f"resumed ['{POLLER}']" in done.stdout


# -- the requests made -------------------------------------------------------------


def test_every_github_request_carries_the_api_headers(observed: Observed) -> None:
    analysed(observed)
    records = observed.github.requests
    assert records
    for record in records:
        assert record.headers["Accept"] == "application/vnd.github+json"
        assert record.headers["X-GitHub-Api-Version"] == "2022-11-28"
        assert record.headers["Authorization"] == f"Bearer {TOKEN}"
        assert record.headers.get("User-Agent")


def test_the_issue_list_is_asked_for_as_the_spec_says(observed: Observed) -> None:
    path = "/repos/octo/hello/issues"

    def polls() -> list[Any]:
        return [r for r in observed.github.requests if r.path == path and r.method == "GET"]

    # Steady state: the cursor as `since`, the last ETag sent, and a 304 back.
    observed.daemon.wait_until(
        lambda: any(p.status == 304 and p.headers.get("If-None-Match") for p in polls()),
        what="a 304 to a poll with If-None-Match",
    )
    for poll in polls():
        query = dict(poll.query)
        if "page" in query:
            continue  # a Link: rel="next" URL, followed as GitHub wrote it
        since = query.pop("since", None)
        assert query == {"state": "all", "sort": "updated", "direction": "asc", "per_page": "100"}
        if poll.headers.get("If-None-Match"):
            assert since is not None and ISO_Z.match(since), since


def test_the_repository_is_validated_with_get_repos(observed: Observed) -> None:
    assert observed.github.requests_for("/repos/octo/hello", "GET")[0].path == "/repos/octo/hello"


def test_the_comment_starts_with_the_marker_and_names_the_model(observed: Observed) -> None:
    [body] = analysed(observed)
    assert body.startswith(MARKER)
    assert DEFAULT_MODEL in body
    assert "Analysis of:" in body  # what the fake model answered
    posts = observed.github.requests_for(
        f"/repos/octo/hello/issues/{observed.issue.number}/comments", "POST"
    )
    assert set(posts[0].json()) == {"body"}
    # The pull request is mirrored, but not analysed (include_pull_requests = false).
    assert not observed.github.comments("octo", "hello", observed.pull_request.number)


def test_ollama_is_asked_with_model_prompt_and_no_streaming(observed: Observed) -> None:
    analysed(observed)
    [first, *_] = observed.ollama.requests_for("/api/generate", "POST")
    document = first.json()
    # With analysis.structured (the default) the answer's JSON schema goes as `format`.
    assert set(document) == {"model", "prompt", "stream", "format"}
    assert document["format"]["required"] == ["summary", "labels", "duplicates", "questions"]
    assert document["model"] == DEFAULT_MODEL
    assert document["stream"] is False
    assert "Crash on start" in document["prompt"]


# -- the store, as a user queries it -------------------------------------------------

SPEC_COLUMNS = {
    "repositories": {"id", "owner", "name", "watch_since"},
    "issues": {
        "id", "repository_id", "github_id", "number", "title", "body", "state",
        "is_pull_request", "github_updated_at", "created_at", "author_login", "author_type",
    },
    "analyses": {
        "id", "issue_id", "model", "prompt_sha256", "content_sha256", "body", "comment_id",
        "created_at", "posted_at",
    },
    "sync_cursors": set(),
    "outbox_events": set(),
    "jobs": set(),
    "dead_jobs": set(),
}  # fmt: skip


def test_the_sqlite_store_has_the_spec_tables_and_rows(observed: Observed) -> None:
    analysed(observed)
    db = observed.workdir / "autosolve.db"
    connection = sqlite3.connect(db, timeout=5)
    try:
        for table, columns in SPEC_COLUMNS.items():
            have = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
            assert have and columns <= have, (table, columns - have)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = connection.execute(
            "SELECT i.number, i.is_pull_request FROM issues i JOIN repositories r "
            "ON r.id = i.repository_id WHERE r.owner = 'octo' AND r.name = 'hello' ORDER BY 1"
        ).fetchall()
        assert rows == [(observed.issue.number, 0), (observed.pull_request.number, 1)]
        observed.daemon.wait_until(
            lambda: (
                connection.execute(
                    "SELECT count(*) FROM analyses "
                    "WHERE posted_at IS NOT NULL AND comment_id IS NOT NULL"
                ).fetchone()[0]
                >= 1
            ),
            what="a posted analysis row",
        )
    finally:
        connection.close()
