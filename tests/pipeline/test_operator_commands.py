"""The operator's commands on a running daemon: socket protocol, ``ctl``, REPL, ``--dry-run``."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from autosolve.control.client import ControlClient
from autosolve.domain.workers import MARKER
from autosolve.infra.store import SQLiteStore
from tests.fakes.github import FakeGitHub
from tests.pipeline.daemon import DaemonProcess, cli, query, wait_until
from tests.stores import enqueue_job

pytestmark = pytest.mark.timeout(120)


def settled(db: Path, issues: int) -> bool:
    return (
        query(db, "SELECT count(*) FROM issues") == [(issues,)]
        and query(db, "SELECT count(*) FROM jobs") == [(0,)]
        and query(db, "SELECT count(*) FROM outbox_events WHERE relayed_at IS NULL") == [(0,)]
    )


@pytest.fixture
def two_old_issues(github: FakeGitHub, make_settings, write_settings) -> Path:
    """Settings for a repository whose two issues predate the first start (so are skipped)."""
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="old one")
    github.add_issue("octo", "hello", title="old two")
    return write_settings(
        make_settings(["octo/hello"], github={"issues": {"since": "first-start"}})
    )


def test_ctl_explain_posts_on_a_skipped_issue_and_edits_on_an_analysed_one(
    github: FakeGitHub, two_old_issues: Path, db: Path
) -> None:
    with DaemonProcess(two_old_issues) as daemon:
        wait_until(lambda: settled(db, 2), what="both old issues judged")
        assert github.requests_for(method="POST") == []

        code, out = cli("ctl", "explain", "octo/hello#1", settings=two_old_issues)
        [comment] = github.comments("octo", "hello", 1)
        assert (code, out) == (0, f"octo/hello#1: posted comment {comment.github_id}\n")

        code, out = cli("ctl", "explain", "octo/hello#1", settings=two_old_issues)
        [edited] = github.comments("octo", "hello", 1)
        assert (code, out) == (0, f"octo/hello#1: edited comment {comment.github_id}\n")
        assert edited.github_id == comment.github_id and edited.body.startswith(MARKER)

        code, out = cli("ctl", "explain", "octo/hello#7", settings=two_old_issues)
        assert code == 1 and "issue octo/hello#7 is not in the local mirror" in out
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.log


def test_the_socket_protocol_answers_explain_jobs_and_retry_dead(
    github: FakeGitHub, two_old_issues: Path, db: Path, tmp_path: Path
) -> None:
    with DaemonProcess(two_old_issues):
        wait_until(lambda: settled(db, 2), what="both old issues judged")
        client = ControlClient(tmp_path / "autosolve.sock")
        preview = client.request("explain", issue="octo/hello#2", post=False)
        assert preview["ok"] and preview["result"] == "preview"
        assert "Title: old two" in preview["prompt"] and preview["answer"].startswith("Analysis")
        assert github.requests_for(method="POST") == []

        assert client.request("explain", issue="octo/nope#1") == {
            "ok": False,
            "error": "unknown repository octo/nope: it is not in the store "
            "(repositories are stored when they are validated at start-up)",
        }
        assert client.request("explain", issue="not a reference")["ok"] is False
        assert client.request("explain")["error"] == "invalid request: issue: required by 'explain'"
        assert client.request("jobs") == {
            "ok": True, "ready": 0, "in_flight": 0, "dead": 0, "recent_dead": []
        }  # fmt: skip
        assert client.request("retry-dead", id=99) == {
            "ok": False, "error": "no dead job with id 99 (`ctl jobs` lists them)"
        }  # fmt: skip
        assert (
            client.request("jobs", extra=1)["error"]
            == "invalid request: extra: not accepted by 'jobs'"
        )


def test_ctl_jobs_lists_dead_jobs_and_retry_dead_brings_them_back(
    github: FakeGitHub, two_old_issues: Path, db: Path
) -> None:
    with SQLiteStore(db) as store:  # a job that cannot be done: dead-lettered at once
        store.migrate()
        enqueue_job(store, "not json")
    with DaemonProcess(two_old_issues):
        wait_until(lambda: query(db, "SELECT count(*) FROM dead_jobs") == [(1,)], what="dead")
        code, out = cli("ctl", "jobs", settings=two_old_issues)
        assert code == 0 and out.startswith("ready 0  in flight 0  dead 1\n")
        assert "job 1 " in out and "malformed job payload 'not json'" in out

        code, out = cli("ctl", "jobs", "--json", settings=two_old_issues)
        assert code == 0 and '"dead": 1' in out

        code, out = cli("ctl", "retry-dead", "all", settings=two_old_issues)
        assert (code, out) == (0, "back in the queue: 1\n")
        code, out = cli("ctl", "retry-dead", "12", settings=two_old_issues)
        assert code == 1 and "no dead job with id 12" in out


def test_the_repl_has_the_operator_helpers_when_attached(two_old_issues: Path, db: Path) -> None:
    with DaemonProcess(two_old_issues):
        wait_until(lambda: settled(db, 2), what="both old issues judged")
        script = 'print(jobs()["dead"]); print(explain("octo/hello#1")["action"])\n'
        code, out = cli("repl", "--attach", settings=two_old_issues, stdin=script)
        assert code == 0 and out.startswith("0\nposted\n"), out


def test_start_dry_run_stores_analyses_and_posts_nothing(
    github: FakeGitHub, make_settings, write_settings, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for _ in range(3):
        github.add_issue("octo", "hello")
    settings = write_settings(make_settings(["octo/hello"]))
    with DaemonProcess(settings, args=["--dry-run"]) as daemon:
        wait_until(lambda: query(db, "SELECT count(*) FROM analyses") == [(3,)], what="3 analyses")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    assert "dry run: analyses are stored in the database, nothing is posted" in daemon.log
    assert github.requests_for(method="POST") == []
    assert query(db, "SELECT count(*) FROM analyses WHERE posted_at IS NULL") == [(3,)]
