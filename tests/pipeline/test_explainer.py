"""The issue explainer and the analysis behind it, driven tick by tick (no runtime).

Real GitHub and Ollama clients talk to the loopback fakes; the store is a real
SQLite file. See :mod:`tests.pipeline.world`.
"""

from __future__ import annotations

import logging
import threading

import pytest
import requests

from autosolve.domain.comment import GITHUB_COMMENT_LIMIT, MARKER
from autosolve.infra.github import MalformedResponseError
from autosolve.infra.store import SQLiteStore
from autosolve.runtime import Cancelled
from tests.fakes.github import iso_now
from tests.pipeline.daemon import query
from tests.pipeline.world import World, context
from tests.stores import count, dead_jobs, enqueue_job, pending_jobs

COMMENTS = "/repos/octo/hello/issues/{}/comments"


def markers(world: World, number: int) -> list[str]:
    return world.github.marker_comments("octo", "hello", number, MARKER)


def posts(world: World) -> list:
    return world.github.requests_for(method="POST") + world.github.requests_for(method="PATCH")


def run_tick(world: World) -> None:
    world.explainer().run(context("worker:issue-explainer"))


def answer_with_the_body(prompt: str) -> str:
    """A model whose answer changes with the issue's body (the prompt's last line)."""
    return f"About: {prompt.strip().splitlines()[-1]}"


# -- the first-run window ------------------------------------------------------------------


def test_a_first_start_posts_nothing_for_existing_issues_of_any_kind(world: World, caplog):
    github = world.github
    for n in range(300):  # open, closed, pull requests and a bot's, all before the start
        github.add_issue("octo", "hello", title=f"old {n}", state="closed" if n % 3 else "open",
                         pull_request=n % 7 == 0)  # fmt: skip
    github.add_issue("octo", "hello", title="bump", author="dependabot[bot]", author_type="Bot")
    world.validate()
    world.sync()
    caplog.set_level(logging.DEBUG, logger="autosolve.domain.analysis")

    explainer = world.explainer()
    explainer.run(context())

    assert posts(world) == [] and world.ollama.requests == []
    assert explainer.skipped == {"before_watch_start": 301}
    assert world.outcomes == ["skipped"] * 301
    assert pending_jobs(world.store) == 0
    assert "skipped octo/hello#1: it was created at 2024-01-01T00:00:01Z, before the watch " in (
        caplog.text
    )
    assert github.requests_for("/repos/octo/hello/issues/1") == []  # skipped without asking

    github.add_issue("octo", "hello", title="new", created_at=iso_now())
    world.sync()
    run_tick(world)

    assert len(markers(world, 302)) == 1
    assert [r.path for r in posts(world)] == [COMMENTS.format(302)]


def test_since_all_with_every_state_and_pull_requests_analyses_them_all(world: World):
    for n in range(6):
        world.github.add_issue("octo", "hello", state="closed" if n % 2 else "open",
                               pull_request=n % 3 == 0)  # fmt: skip
    world.configure(github={"issues": {"since": "all", "states": ["open", "closed"],
                                       "include_pull_requests": True}})  # fmt: skip
    world.validate()
    world.sync()
    run_tick(world)
    assert all(len(markers(world, n)) == 1 for n in range(1, 7))
    assert world.outcomes == ["posted"] * 6


def test_a_steady_state_analysis_costs_two_requests_labels_come_from_the_mirror(world: World):
    world.configure(github={"issues": {"required_label": "Triage"}})
    world.validate()
    world.github.add_issue("octo", "hello", labels=["triage"], created_at=iso_now())
    world.sync()
    world.github.clear_log()

    run_tick(world)

    assert [(r.method, r.path) for r in world.github.requests] == [
        ("GET", COMMENTS.format(1)),
        ("POST", COMMENTS.format(1)),
    ]


# -- dry run, re-analysis, answers that cannot be posted as they are --------------------------


def test_a_dry_run_stores_the_analysis_and_posts_nothing(world: World, db):
    world.configure(analysis={"dry_run": True}, github={"issues": {"since": "all"}})
    world.github.add_issue("octo", "hello", title="Crash")
    world.validate()
    world.sync()
    run_tick(world)

    assert posts(world) == [] and world.outcomes == ["dry_run"]
    [(body, comment_id, posted_at)] = query(db, "SELECT body, comment_id, posted_at FROM analyses")
    assert body.startswith(MARKER) and "Analysis of: " in body
    assert (comment_id, posted_at) == (None, None)

    world.github.add_comment("octo", "hello", 1, "a comment bumps updated_at, not the text")
    world.sync()
    run_tick(world)
    assert len(world.ollama.requests) == 1 and world.outcomes[-1] == "skipped"


def test_an_edit_of_the_body_edits_the_same_comment_and_a_label_change_does_not(world: World):
    world.ollama.answer = answer_with_the_body
    world.configure(github={"issues": {"since": "all", "reanalyze_on_edit": True}})
    world.github.add_issue("octo", "hello", body="first text")
    world.validate()
    world.sync()
    run_tick(world)
    [first] = world.github.comments("octo", "hello", 1)
    assert "About: first text" in first.body

    world.github.edit_issue("octo", "hello", 1, body="second text")
    world.sync()
    run_tick(world)

    [edited] = world.github.comments("octo", "hello", 1)
    assert edited.github_id == first.github_id and "About: second text" in edited.body
    assert [r.method for r in posts(world)] == ["POST", "PATCH"]
    assert count(world.store, "analyses") == 2

    world.github.edit_issue("octo", "hello", 1, labels=["bug"])
    world.sync()
    run_tick(world)
    assert len(world.ollama.requests) == 2 and len(posts(world)) == 2
    assert world.outcomes == ["posted", "posted", "skipped"]


def test_without_reanalyze_on_edit_an_edit_is_skipped_without_asking_github(world: World):
    world.configure(github={"issues": {"since": "all"}})
    world.github.add_issue("octo", "hello", body="first")
    world.validate()
    world.sync()
    run_tick(world)
    world.github.edit_issue("octo", "hello", 1, body="second")
    world.sync()
    world.github.clear_log()
    run_tick(world)
    assert world.github.requests == [] and len(world.ollama.requests) == 1


def test_an_empty_answer_posts_nothing_spends_an_attempt_and_ends_dead(world: World):
    world.ollama.answer = lambda prompt: " \n\t "
    world.configure(github={"issues": {"since": "all"}}, queue={"max_attempts": 2})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()

    run_tick(world)  # fails, and the tick goes on: nothing else to do
    assert pending_jobs(world.store) == 1
    run_tick(world)  # the job waits out its lease before it is tried again
    assert world.outcomes == ["failed"]
    world.clock.advance(60)
    run_tick(world)  # the last attempt: dead-lettered at once

    assert posts(world) == [] and world.outcomes == ["failed", "failed"]
    assert pending_jobs(world.store) == 0
    [dead] = dead_jobs(world.store)
    assert "exhausted after 2 attempts: EmptyAnswerError: the model answered nothing for " in (
        dead.reason
    )


def test_a_200_kb_answer_becomes_one_comment_within_githubs_limit(world: World):
    world.ollama.answer = lambda prompt: "\n".join(f"{n}: " + "z" * 99 for n in range(2000))
    world.configure(github={"issues": {"since": "all"}},
                    analysis={"max_comment_chars": GITHUB_COMMENT_LIMIT})  # fmt: skip
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    run_tick(world)
    [comment] = world.github.comments("octo", "hello", 1)
    assert len(comment.body) <= GITHUB_COMMENT_LIMIT
    assert "the analysis was cut here" in comment.body


def test_a_failure_of_one_job_does_not_hold_up_the_others(world: World):
    world.configure(github={"issues": {"since": "all"}})
    for _ in range(3):
        world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    # GitHub refuses the first comment with a 422: that job's own fault.
    refusal = {
        "message": "Validation Failed",
        "errors": [{"resource": "IssueComment", "field": "body", "code": "custom"}],
    }
    world.github.fail_next(1, "status", path_prefix=COMMENTS.format(1), method="POST",
                           status=422, body=refusal)  # fmt: skip
    run_tick(world)
    assert [len(markers(world, n)) for n in (1, 2, 3)] == [0, 1, 1]
    assert world.store.receive_job(60, 5) is None  # hidden for queue.visibility_timeout
    [(last_error, attempts)] = query(world.db, "SELECT last_error, attempts FROM jobs")
    assert "IssueComment.body: custom" in last_error and attempts == 1
    world.clock.advance(60)
    run_tick(world)
    assert len(markers(world, 1)) == 1


# -- outages and crashes ---------------------------------------------------------------------


def test_a_model_outage_releases_jobs_without_spending_attempts(world: World):
    world.configure(github={"issues": {"since": "all"}}, queue={"max_attempts": 2})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    world.ollama.go_down()
    for _ in range(5):  # far more failed ticks than max_attempts
        with pytest.raises(requests.ConnectionError, match="connection refused"):
            run_tick(world)
    assert dead_jobs(world.store) == []
    world.ollama.come_up()
    run_tick(world)
    assert len(markers(world, 1)) == 1


def test_a_crash_after_posting_adopts_the_comment_instead_of_posting_again(
    world: World, monkeypatch
):
    world.configure(github={"issues": {"since": "all"}})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    real = SQLiteStore.mark_analysis_posted
    crashed = []

    def crash_once(self, *args, **kwargs):
        if not crashed:
            crashed.append(True)
            raise OSError(5, "Input/output error")  # the comment is on GitHub already
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "mark_analysis_posted", crash_once)
    with pytest.raises(OSError):
        run_tick(world)
    world.clock.advance(60)  # as if the daemon had died: the lease runs out
    run_tick(world)

    assert len(world.github.comments("octo", "hello", 1)) == 1
    assert len(world.ollama.requests) == 1
    [(comment_id, posted_at)] = query(world.db, "SELECT comment_id, posted_at FROM analyses")
    assert comment_id == world.github.comments("octo", "hello", 1)[0].github_id
    assert posted_at is not None and pending_jobs(world.store) == 0


def test_a_comment_listing_that_loops_fails_the_job_after_one_request(world: World):
    world.configure(github={"issues": {"since": "all"}})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    world.github.fail_next(100, "self_next", path_prefix=COMMENTS.format(1))
    with pytest.raises(MalformedResponseError, match="already read"):
        run_tick(world)
    assert len(world.github.requests_for(COMMENTS.format(1))) == 1


# -- concurrency -------------------------------------------------------------------------------


def test_a_tick_keeps_concurrency_model_requests_in_flight_and_drains_the_queue(world: World):
    world.configure(github={"issues": {"since": "all"}}, analysis={"concurrency": 3})
    for _ in range(7):
        world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    world.ollama.hold()
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            run_tick(world)
        except BaseException as error:
            errors.append(error)

    ticker = threading.Thread(target=tick)
    ticker.start()
    assert world.ollama.wait_for_requests(3, "/api/generate", timeout=10)
    assert not world.ollama.wait_for_requests(4, "/api/generate", timeout=0.3)
    world.ollama.release()
    ticker.join(timeout=30)

    assert errors == [] and not ticker.is_alive()
    assert all(len(markers(world, n)) == 1 for n in range(1, 8))
    assert pending_jobs(world.store) == 0 and len(world.ollama.requests) == 7


def test_a_failing_observer_never_fails_a_job(world: World, caplog):
    world.configure(github={"issues": {"since": "all"}})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()

    def broken(result: str) -> None:
        raise RuntimeError("metrics are down")

    world.analysis_observer = broken  # type: ignore[method-assign]
    run_tick(world)
    assert len(markers(world, 1)) == 1
    assert "the issue explainer's observer failed" in caplog.text


def test_two_jobs_for_one_issue_never_analyse_it_at_the_same_time(world: World):
    world.configure(github={"issues": {"since": "all"}}, analysis={"concurrency": 2})
    world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    # The issue was edited while its first job ran: a second job for the same work.
    enqueue_job(world.store, {"repository_id": 1, "number": 1})
    world.ollama.hold()
    ticker = threading.Thread(target=run_tick, args=(world,))
    ticker.start()
    assert world.ollama.wait_for_requests(1, "/api/generate", timeout=10)
    assert not world.ollama.wait_for_requests(2, "/api/generate", timeout=0.5)
    world.ollama.release()
    ticker.join(timeout=30)

    assert len(world.github.comments("octo", "hello", 1)) == 1
    assert len(world.ollama.requests) == 1
    assert sorted(world.outcomes) == ["posted", "skipped"]


def test_a_stop_leaves_jobs_not_yet_started_queued_with_their_attempts(world: World):
    world.configure(github={"issues": {"since": "all"}}, analysis={"concurrency": 2})
    for _ in range(4):
        world.github.add_issue("octo", "hello")
    world.validate()
    world.sync()
    ctx = context("worker:issue-explainer")
    world.ollama.hold()
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            world.explainer().run(ctx)
        except BaseException as error:
            errors.append(error)

    ticker = threading.Thread(target=tick)
    ticker.start()
    assert world.ollama.wait_for_requests(2, "/api/generate", timeout=10)
    ctx.cancel()  # the stop begins while two analyses are in flight
    world.ollama.release()
    ticker.join(timeout=30)

    assert not ticker.is_alive()
    assert [type(e) for e in errors] in ([], [Cancelled])  # the in-flight ones see the stop
    assert world.github.requests_for(method="POST") == []
    assert query(world.db, "SELECT count(*) FROM jobs WHERE attempts > 0") == [(0,)]
    assert world.store.jobs_summary().in_flight == 0

    stopped = context("worker:issue-explainer")
    stopped.cancel()
    world.explainer().run(stopped)  # a tick that begins after the stop takes nothing
    assert world.store.jobs_summary().in_flight == 0
    assert query(world.db, "SELECT count(*) FROM jobs WHERE receive_count > 1") == [(0,)]
