"""The whole daemon, in-process, against fake GitHub and Ollama and a real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

from autosolve.domain.workers import MARKER
from tests.fakes.github import FakeGitHub
from tests.fakes.ollama import FakeOllama
from tests.pipeline.daemon import query, wait_until
from tests.stores import enqueue_job


def stored(db: Path, repository: str | None = None) -> list[tuple]:
    sql = (
        "SELECT r.owner || '/' || r.name, i.number, i.title, i.is_pull_request "
        "FROM issues i JOIN repositories r ON r.id = i.repository_id"
    )
    if repository is None:
        return query(db, sql + " ORDER BY 1, 2")
    return query(db, sql + " WHERE r.owner || '/' || r.name = ? ORDER BY 2", repository)


def marker_comments(github: FakeGitHub, repo: str, number: int) -> list[str]:
    owner, name = repo.split("/")
    return [c.body for c in github.comments(owner, name, number) if MARKER in c.body]


def all_commented(github: FakeGitHub, repo: str, numbers: range) -> bool:
    return all(marker_comments(github, repo, n) for n in numbers)


def test_several_repositories_are_mirrored_across_pages_and_every_issue_explained(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    repos = ["octo/hello", "octo/world", "acme/tools"]
    for repo in repos:
        github.add_repo(*repo.split("/"))
        for n in range(110):  # three pages of 50
            github.add_issue(*repo.split("/"), title=f"{repo} issue {n + 1}")
    run_daemon(make_settings(repos, intervals={"issue_explainer": 0.005}))
    wait_until(lambda: len(stored(db)) == 330, what="330 stored issues")
    for repo in repos:
        assert [row[1] for row in stored(db, repo)] == list(range(1, 111))
        wait_until(lambda repo=repo: all_commented(github, repo, range(1, 111)), timeout=60)
    comment = marker_comments(github, "octo/hello", 7)[0]
    assert comment.startswith(MARKER)
    assert "qwen2.5-coder:7b" in comment and "Analysis of:" in comment


def test_pull_requests_are_stored_flagged(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="a bug")
    github.add_issue("octo", "hello", title="a fix", pull_request=True)
    run_daemon(make_settings(["octo/hello"]))
    wait_until(lambda: len(stored(db)) == 2, what="both items stored")
    assert [(row[2], row[3]) for row in stored(db)] == [("a bug", 0), ("a fix", 1)]


def test_only_issues_with_the_required_label_are_explained_case_insensitively(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="labelled", labels=["AutoSolve"])
    github.add_issue("octo", "hello", title="unlabelled", labels=["bug"])
    github.add_issue("octo", "hello", title="labelled later")
    handle = run_daemon(make_settings(["octo/hello"], github={"issues": {
        "required_label": "autosolve"}}))  # fmt: skip
    wait_until(lambda: marker_comments(github, "octo/hello", 1), what="the labelled comment")
    wait_until(lambda: query(db, "SELECT count(*) FROM jobs")[0][0] == 0, what="empty queue")
    assert marker_comments(github, "octo/hello", 2) == []
    assert marker_comments(github, "octo/hello", 3) == []
    github.edit_issue("octo", "hello", 3, labels=["autosolve"])
    wait_until(lambda: marker_comments(github, "octo/hello", 3), what="comment once labelled")
    assert handle.result is None


def test_an_issue_with_a_marker_comment_gets_no_second_one(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello", title="already done")
    github.add_comment("octo", "hello", 1, f"{MARKER}\nearlier analysis", user="autosolve")
    github.add_issue("octo", "hello", title="new")
    run_daemon(make_settings(["octo/hello"]))
    wait_until(lambda: marker_comments(github, "octo/hello", 2), what="the new issue's comment")
    # Our own comment bumps updated_at: the poller sees the issue again and the
    # explainer must find its marker instead of posting again.
    github.edit_issue("octo", "hello", 2, title="new, edited")
    wait_until(lambda: query(db, "SELECT title FROM issues WHERE number = 2") == [
        ("new, edited",)], what="the edit stored")  # fmt: skip
    wait_until(lambda: query(db, "SELECT count(*) FROM jobs")[0][0] == 0, what="empty queue")
    assert len(marker_comments(github, "octo/hello", 1)) == 1
    assert len(marker_comments(github, "octo/hello", 2)) == 1
    assert github.requests_for("/repos/octo/hello/issues/1/comments", method="POST") == []


def test_an_issue_edited_while_the_poller_pages_is_not_skipped(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(150):
        github.add_issue("octo", "hello", title=f"issue {n + 1}")
    listings = []

    def edit_during_catch_up(request) -> None:
        if request.path == "/repos/octo/hello/issues" and request.method == "GET":
            listings.append(request)
            if len(listings) == 2:  # after the first page was served
                github.edit_issue("octo", "hello", 3, title="issue 3, edited")

    github.before_request = edit_during_catch_up
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "none"}}))
    wait_until(lambda: len(stored(db)) == 150, what="all 150 issues")
    wait_until(lambda: query(db, "SELECT title FROM issues WHERE number = 3") == [
        ("issue 3, edited",)], what="the edit")  # fmt: skip


def test_steady_state_costs_one_conditional_request_per_poll(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(60):
        github.add_issue("octo", "hello", title=f"issue {n + 1}")
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "none"}}))
    wait_until(lambda: len(stored(db)) == 60, what="60 issues")

    def listings() -> list:
        return [r for r in github.requests if r.path == "/repos/octo/hello/issues"]

    wait_until(
        lambda: [r.status for r in listings()][-3:] == [304, 304, 304],
        what="three 304s in a row",
    )
    calls = listings()
    first_304 = next(i for i, r in enumerate(calls) if r.status == 304)
    assert all(r.status == 304 for r in calls[first_304:])
    assert all("If-None-Match" in r.headers for r in calls[first_304:])


def test_primary_rate_limit_means_no_request_before_the_reset(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    reset = int(time.time()) + 2
    github.fail_next(1, "rate_limit", path_prefix="/repos/octo/hello/issues", reset=reset)
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "none"}}))
    wait_until(lambda: len(stored(db)) == 1, what="the issue after the reset")
    limited = next(r for r in github.requests if r.status == 403)
    after = [r for r in github.requests if r.monotonic > limited.monotonic]
    assert after, "no request after the rate limit"
    assert min(r.wall for r in after) >= reset


def test_secondary_rate_limit_retry_after_is_honoured(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    github.fail_next(1, "retry_after", path_prefix="/repos/octo/hello/issues", seconds=1)
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "none"}}))
    wait_until(lambda: len(stored(db)) == 1, what="the issue after retry-after")
    listings = [r for r in github.requests if r.path == "/repos/octo/hello/issues"]
    assert listings[0].status == 429
    assert listings[1].monotonic - listings[0].monotonic >= 1.0


def test_a_burst_of_5xx_and_dropped_connections_is_recovered(
    github: FakeGitHub, ollama: FakeOllama, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(3):
        github.add_issue("octo", "hello", title=f"issue {n + 1}")
    github.fail_next(3, "server_error", path_prefix="/repos/octo/hello/issues")
    github.fail_next(2, "drop", path_prefix="/repos/octo/hello/issues")
    ollama.fail_next(2, "server_error")
    ollama.fail_next(1, "drop")
    handle = run_daemon(make_settings(["octo/hello"]))
    wait_until(lambda: all_commented(github, "octo/hello", range(1, 4)), what="3 comments")
    assert handle.result is None
    poller = next(
        c for c in handle.status()["children"] if c["name"] == "worker:issue-poller:octo/hello"
    )
    assert poller["failures"] >= 1 and poller["restarts"] >= 1


def test_comments_are_posted_once_ollama_comes_back(
    github: FakeGitHub, ollama: FakeOllama, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    ollama.go_down()
    handle = run_daemon(make_settings(["octo/hello"]))
    wait_until(
        lambda: _child(handle, "worker:issue-explainer")["attempts"]["node"] >= 2,
        what="the explainer retrying a refused Ollama",
    )
    assert marker_comments(github, "octo/hello", 1) == []
    ollama.come_up()
    wait_until(lambda: marker_comments(github, "octo/hello", 1), what="the comment")


def test_a_malformed_body_degrades_the_worker_instead_of_crashing(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    github.fail_next(1, "malformed", path_prefix="/repos/octo/hello/issues", body=[{"id": "x"}])
    handle = run_daemon(make_settings(["octo/hello"]))
    wait_until(lambda: len(stored(db)) == 1, what="the issue after the bad page")
    poller = _child(handle, "worker:issue-poller:octo/hello")
    assert poller["failures"] == 1
    assert "MalformedResponseError" in poller["last_error"]
    assert handle.result is None


def test_malformed_and_exhausted_jobs_are_dead_lettered(
    github: FakeGitHub, ollama: FakeOllama, make_settings, run_daemon, db: Path
) -> None:
    from autosolve.infra.store import SQLiteStore

    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    store = SQLiteStore(db)
    store.migrate()
    enqueue_job(store, "not json at all")
    enqueue_job(store, {"repository_id": "one", "number": 1})
    store.close()
    ollama.fail_next(100, "status", status=400, body={"error": "bad request"})
    run_daemon(make_settings(["octo/hello"], queue={"max_attempts": 2}))
    wait_until(lambda: query(db, "SELECT count(*) FROM dead_jobs")[0][0] == 3, what="3 dead")
    reasons = [row[0] for row in query(db, "SELECT reason FROM dead_jobs ORDER BY id")]
    assert "malformed job payload" in reasons[0] and "malformed job payload" in reasons[1]
    assert "exhausted after 2 attempts" in reasons[2]
    assert marker_comments(github, "octo/hello", 1) == []


def _child(handle, name: str) -> dict:
    return next(c for c in handle.status()["children"] if c["name"] == name)


def test_more_issues_sharing_one_timestamp_than_a_page_holds_are_all_stored(
    github: FakeGitHub, make_settings, run_daemon, db: Path
) -> None:
    github.add_repo("octo", "hello")
    for n in range(120):  # a bulk import: all in the same second
        github.add_issue("octo", "hello", title=f"issue {n + 1}", updated_at="2025-05-05T05:05:05Z")
    github.add_issue("octo", "hello", title="later")
    run_daemon(make_settings(["octo/hello"], github={"issues": {"required_label": "none"}}))
    wait_until(lambda: len(stored(db)) == 121, what="all 121 issues")

    def listings() -> list:
        return [r for r in github.requests if r.path == "/repos/octo/hello/issues"]

    wait_until(lambda: [r.status for r in listings()][-2:] == [304, 304], what="steady state")


def test_a_crash_between_posting_and_deleting_the_job_never_posts_twice(
    github: FakeGitHub, make_settings, run_daemon, db: Path, monkeypatch
) -> None:
    from autosolve.infra.store import SQLiteStore

    real_delete = SQLiteStore.delete_job
    crashes = []

    def crash_once(self, job_id: int) -> bool:
        if not crashes:
            crashes.append(job_id)
            raise OSError(28, "No space left on device")  # the comment is already posted
        return real_delete(self, job_id)

    monkeypatch.setattr(SQLiteStore, "delete_job", crash_once)
    github.add_repo("octo", "hello")
    github.add_issue("octo", "hello")
    run_daemon(make_settings(["octo/hello"], queue={"visibility_timeout": 0.2}))
    wait_until(lambda: crashes, what="the simulated crash")
    wait_until(lambda: query(db, "SELECT count(*) FROM jobs")[0][0] == 0, what="the job done")
    assert len(marker_comments(github, "octo/hello", 1)) == 1
