"""``POST /webhooks/github`` on a running daemon (in-process, its HTTP endpoint on a free
port): real example payloads from ``@octokit/webhooks-examples``, and the simulated GitHub's
own deliveries, signed and unsigned and replayed."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from autosolve.http.endpoint import HttpEndpoint
from autosolve.http.webhooks import MAX_DELIVERY, WEBHOOK_PATH, signature
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import query, wait_until

SECRET = "webhook-s3cret"
FIXTURES = Path(__file__).resolve().parent.parent / "http" / "fixtures" / "octokit"
MARKER = "<!-- autosolve -->"


def issue_listings(github: FakeGitHub) -> list[Any]:
    return [r for r in github.requests_for("/repos/octo/a/issues", "GET")
            if r.path == "/repos/octo/a/issues"]  # fmt: skip


def example(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Served:
    """A running daemon with its endpoint; posts deliveries to it."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self.endpoint = HttpEndpoint(daemon.app.settings)
        self.endpoint.bind()
        self.endpoint.serve(daemon.app)
        self.url = self.endpoint.url().split("/?")[0] + WEBHOOK_PATH

    def post(
        self,
        event: str,
        payload: Any,
        *,
        delivery: str | None = None,
        secret: str | None = SECRET,
        body: bytes | None = None,
    ) -> requests.Response:
        body = json.dumps(payload).encode() if body is None else body
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
                   "Content-Type": "application/json"}  # fmt: skip
        if secret is not None:
            headers["X-Hub-Signature-256"] = signature(secret, body)
        return requests.post(self.url, data=body, headers=headers, timeout=10)

    def deliveries(self, db: Path) -> int:
        return query(db, "SELECT count(*) FROM webhook_deliveries")[0][0]


@pytest.fixture
def served(running) -> Iterator[Any]:
    started: list[Served] = []

    def start(data: dict[str, Any]) -> Served:
        started.append(Served(running(data)))
        return started[-1]

    yield start
    for one in started:
        one.endpoint.close()


@pytest.fixture
def hello_world(github: FakeGitHub, make_settings, served) -> Served:
    """A daemon watching the examples' repository, Codertocat/Hello-World."""
    github.add_repo("Codertocat", "Hello-World")
    one = served(make_settings(["Codertocat/Hello-World"], github={"webhooks": {"secret": SECRET}}))
    one.daemon.wait_state("worker:issue-poller:Codertocat/Hello-World", "idle")
    return one


def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_changes_nothing(
    hello_world: Served, db: Path
) -> None:
    unsigned = hello_world.post("issues", example("issues.opened"), secret=None)
    wrong = hello_world.post("issues", example("issues.opened"), secret="guess")
    not_json = hello_world.post("issues", None, secret="guess", body=b"{not json")
    assert [r.status_code for r in (unsigned, wrong, not_json)] == [401, 401, 401]
    assert "Bearer" not in unsigned.headers.get("WWW-Authenticate", "")
    assert hello_world.deliveries(db) == 0
    assert query(db, "SELECT count(*) FROM issues") == [(0,)]
    text = requests.get(hello_world.endpoint.url().split("/?")[0] + "/metrics", timeout=10).text
    assert 'autosolve_webhook_deliveries_total{event="",result="bad_signature"} 3.0' in text


def test_a_ping_is_answered_and_an_unknown_event_gets_204(hello_world: Served) -> None:
    assert hello_world.post("ping", example("ping")).status_code == 200
    assert hello_world.post("star", {"action": "created"}).status_code == 204


def test_an_opened_issue_is_mirrored_from_the_payload_and_a_redelivery_is_ignored(
    hello_world: Served, db: Path
) -> None:
    payload = example("issues.opened")
    first = hello_world.post("issues", payload, delivery="d-1")
    assert (first.status_code, first.json()["outcome"]) == (202, "accepted")
    again = hello_world.post("issues", payload, delivery="d-1")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert query(db, "SELECT number, title, author_login FROM issues") == [
        (payload["issue"]["number"], payload["issue"]["title"], "Codertocat")
    ]
    assert query(db, "SELECT count(*) FROM outbox_events") == [(1,)]
    assert hello_world.deliveries(db) == 1


@pytest.mark.parametrize("event", ["issues.edited", "issues.labeled", "issue_comment.created"])
def test_every_issue_change_takes_the_pollers_path(
    hello_world: Served, db: Path, event: str
) -> None:
    assert hello_world.post("issues", example("issues.opened")).status_code == 202
    payload = example(event)
    assert hello_world.post(event.split(".")[0], payload).status_code == 202
    assert query(db, "SELECT count(*) FROM issues") == [(1,)]
    changed = payload["issue"]["updated_at"] != example("issues.opened")["issue"]["updated_at"]
    assert query(db, "SELECT count(*) FROM outbox_events") == [(1 + changed,)]


def test_a_deleted_issue_and_an_unwatched_repository_are_recorded_only(
    hello_world: Served, db: Path
) -> None:
    assert hello_world.post("issues", example("issues.deleted")).status_code == 202
    other = example("issues.opened")
    other["repository"]["full_name"] = "someone/else"
    assert hello_world.post("issues", other).status_code == 202
    assert query(db, "SELECT count(*) FROM issues") == [(0,)]
    assert hello_world.deliveries(db) == 2


def test_a_body_over_githubs_cap_is_refused_unread(hello_world: Served) -> None:
    address = urlsplit(hello_world.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as client:
        client.sendall(
            f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Length: {MAX_DELIVERY + 1}\r\nX-GitHub-Event: issues\r\n\r\n".encode()
        )
        assert client.recv(4096).startswith(b"HTTP/1.1 413")


def test_without_a_secret_the_route_is_off(github: FakeGitHub, make_settings, served) -> None:
    github.add_repo("octo", "a")
    one = served(make_settings(["octo/a"]))
    assert one.post("ping", example("ping")).status_code == 404


def test_a_new_issue_delivered_by_github_is_analysed_without_a_poll(
    github: FakeGitHub, make_settings, served
) -> None:
    github.add_repo("octo", "a")
    webhooks = {"secret": SECRET, "reconcile_interval": 30.0}
    slow = {"issue_poller": 60.0, "issue_poller_max": 60.0, "outbox_relay": 30.0,
            "issue_explainer": 30.0}  # fmt: skip
    one = served(make_settings(["octo/a"], github={"webhooks": webhooks}, intervals=slow))
    one.daemon.wait_state("worker:issue-poller:octo/a", "idle")
    github.hooks.add(one.url, SECRET)
    listings = len(issue_listings(github))
    issue = github.add_issue("octo", "a", title="Crash on start")
    wait_until(lambda: github.marker_comments("octo", "a", issue.number, MARKER),
               timeout=10, what="the analysis posted")  # fmt: skip
    assert len(issue_listings(github)) == listings  # no poll in between
    [opened] = [d for d in github.hooks.deliveries if d.event == "issues"]
    assert opened.status == 202
    assert one.daemon.app.deps.pacer.reconciling
    redelivered = github.hooks.redeliver(opened.id)
    wait_until(lambda: len(redelivered.attempts) == 2, what="the redelivery answered")
    assert redelivered.attempts == [202, 200]
    assert len(github.marker_comments("octo", "a", issue.number, MARKER)) == 1


def test_a_repository_created_or_archived_is_discovered_at_once(
    github: FakeGitHub, make_settings, served
) -> None:
    github.add_repo("octo", "a")
    one = served(make_settings([], github={"organizations": ["octo"], "webhooks": {
        "secret": SECRET}}, intervals={"repository_discoverer": 3600.0}))  # fmt: skip
    wait_until(lambda: "octo/a" in one.daemon.app.plan.groups, what="octo/a discovered")
    github.hooks.add(one.url, SECRET, events=["repository"])
    github.add_repo("octo", "b")
    wait_until(lambda: "octo/b" in one.daemon.app.plan.groups, what="octo/b, long before 1 h")
    github.archive_repo("octo", "a")
    wait_until(lambda: "octo/a" not in one.daemon.app.plan.groups, what="octo/a gone")
    assert [d.status for d in github.hooks.deliveries] == [202, 202]
