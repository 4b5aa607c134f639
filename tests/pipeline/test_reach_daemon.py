"""The daemon as a process: as a GitHub App whose token is revoked mid-run, discovering an
organisation's repositories live, and answering signed, unsigned and replayed deliveries."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from autosolve.http.webhooks import WEBHOOK_PATH, signature
from tests.fakes.app_keys import key_pair
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import DaemonProcess, cli, wait_until

BACKENDS = pytest.mark.parametrize("backend", ["threading", "gevent"])
pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

APP_ID = 31
SECRET = "hook-s3cret"
MARKER = "<!-- autosolve -->"


def children(settings: Path) -> dict[str, dict[str, Any]]:
    """The children by name; ``{}`` while the daemon does not answer yet."""
    code, out = cli("ctl", "status", "--json", settings=settings)
    return {c["name"]: c for c in json.loads(out)["children"]} if code == 0 else {}


def runs(settings: Path, name: str) -> int:
    return int(children(settings).get(name, {}).get("runs", 0))


def stop(daemon: DaemonProcess, settings: Path) -> None:
    code, out = cli("ctl", "stop", settings=settings)
    assert code == 0, out
    assert daemon.wait() == 0, daemon.log


@BACKENDS
def test_as_a_github_app_a_token_revoked_mid_run_costs_no_tick(
    github: FakeGitHub, make_settings, write_settings, tmp_path: Path, backend: str
) -> None:
    (tmp_path / "app.pem").write_text(key_pair().private)
    github.add_app(APP_ID, "autosolve-app", key_pair().public)
    github.add_repo("octo", "hello")
    installation = github.install_app(APP_ID, "octo")
    app = {"id": APP_ID, "private_key_file": "app.pem"}
    settings = write_settings(make_settings([], github={"token": "", "app": app},
                                            runtime={"backend": backend}))  # fmt: skip
    poller = "worker:issue-poller:octo/hello"
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: runs(settings, poller) > 2, what="octo/hello polled as the App")
        for _ in range(2):
            before = runs(settings, poller)
            assert github.revoke_installation_tokens(installation.id) == 1
            wait_until(lambda before=before: runs(settings, poller) > before + 2, what="polls")
        assert {n: c["failures"] for n, c in children(settings).items() if c["failures"]} == {}
        assert len(github.installations.issued) >= 3
        assert not any(token in daemon.log for token in ("ghs_", "eyJ", "PRIVATE KEY"))
        stop(daemon, settings)


@BACKENDS
def test_an_organisations_repositories_are_added_and_removed_live(
    github: FakeGitHub, make_settings, write_settings, backend: str
) -> None:
    github.add_repo("octo", "a")
    github.add_repo("octo", "b")
    settings = write_settings(make_settings([], github={"organizations": ["octo"]},
                                            intervals={"repository_discoverer": 0.3},
                                            runtime={"backend": backend}))  # fmt: skip
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: runs(settings, "worker:issue-poller:octo/b") > 0, what="octo/b polled")
        kept = children(settings)["worker:issue-poller:octo/a"]
        github.add_repo("octo", "c")
        github.archive_repo("octo", "b")
        wait_until(lambda: runs(settings, "worker:issue-poller:octo/c") > 0, what="octo/c polled")
        wait_until(lambda: not any(n.endswith("octo/b") for n in children(settings)),
                   what="octo/b's units gone")  # fmt: skip
        after = children(settings)["worker:issue-poller:octo/a"]
        assert (after["actors"], after["restarts"]) == (kept["actors"], 0)
        assert "repositories discovered: added 3" in daemon.log
        stop(daemon, settings)


@BACKENDS
def test_signed_unsigned_and_replayed_deliveries(
    github: FakeGitHub, make_settings, write_settings, backend: str
) -> None:
    github.add_repo("octo", "a")
    settings = write_settings(make_settings(["octo/a"], github={"webhooks": {"secret": SECRET}},
                                            runtime={"backend": backend}))  # fmt: skip
    with DaemonProcess(settings) as daemon:
        wait_until(lambda: runs(settings, "worker:issue-poller:octo/a") > 0, what="polled")
        code, out = cli("ctl", "http-url", settings=settings)
        assert code == 0, out
        url = out.strip().split("/?")[0] + WEBHOOK_PATH
        body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4())}
        unsigned = requests.post(url, data=body, headers=headers, timeout=10)
        signed = requests.post(url, data=body, timeout=10, headers={
            **headers, "X-Hub-Signature-256": signature(SECRET, body)})  # fmt: skip
        assert (unsigned.status_code, signed.status_code) == (401, 200)
        github.hooks.add(url, SECRET, events=["issues"])
        issue = github.add_issue("octo", "a", title="Crash on start")
        wait_until(lambda: github.marker_comments("octo", "a", issue.number, MARKER),
                   what="the analysis posted")  # fmt: skip
        [opened] = github.hooks.deliveries
        replayed = github.hooks.redeliver(opened.id)
        wait_until(lambda: len(replayed.attempts) == 2, what="the redelivery answered")
        assert replayed.attempts == [202, 200]
        assert len(github.marker_comments("octo", "a", issue.number, MARKER)) == 1
        stop(daemon, settings)
