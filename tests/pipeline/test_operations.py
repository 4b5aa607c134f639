"""The operator's functions, in-process: explain one issue, the jobs summary, retry dead jobs."""

from __future__ import annotations

import pytest

from autosolve.domain.comment import MARKER
from autosolve.domain.operations import OperationError, parse_issue_reference
from tests.pipeline.world import World, context
from tests.stores import count, dead_jobs, enqueue_job, pending_jobs


def markers(world: World, number: int) -> list[str]:
    return world.github.marker_comments("octo", "hello", number, MARKER)


@pytest.fixture
def synced(world: World) -> World:
    """A repository whose three issues all predate the watch start: every one is skipped."""
    for title in ("first", "second", "third"):
        world.github.add_issue("octo", "hello", title=title)
    world.validate()
    world.sync()
    world.explainer().run(context())
    assert world.outcomes == ["skipped"] * 3
    return world


def test_explain_posts_on_an_issue_the_filters_skipped(synced: World):
    reply = synced.operations().explain("octo/hello#2")

    [comment] = synced.github.comments("octo", "hello", 2)
    assert comment.body.startswith(MARKER)
    assert reply == {"result": "posted", "issue": "octo/hello#2", "action": "posted",
                     "comment_id": comment.github_id, "answer": reply["answer"],
                     "body": comment.body}  # fmt: skip


def test_explain_on_an_analysed_issue_edits_its_comment(synced: World):
    synced.ollama.answer = lambda prompt: f"take {len(synced.ollama.requests)}"
    operations = synced.operations()
    first = operations.explain("octo/hello#1")
    second = operations.explain("OCTO/Hello#1")

    [comment] = synced.github.comments("octo", "hello", 1)
    assert (first["action"], second["action"]) == ("posted", "edited")
    assert second["comment_id"] == first["comment_id"] == comment.github_id
    assert comment.body.endswith("take 2\n")


def test_explain_in_a_dry_run_only_stores(synced: World):
    synced.configure(analysis={"dry_run": True})
    reply = synced.operations().explain("octo/hello#3")
    assert (reply["result"], reply["action"]) == ("dry_run", "dry_run")
    assert synced.github.requests_for(method="POST") == []
    assert count(synced.store, "analyses") == 1


def test_a_try_returns_prompt_and_answer_and_never_touches_github(synced: World):
    synced.github.clear_log()
    reply = synced.operations().explain("octo/hello#1", post=False)
    assert reply["result"] == "preview" and "Title: first" in reply["prompt"]
    assert reply["answer"].startswith("Analysis of: ")
    assert reply["body"].startswith(MARKER)
    assert synced.github.requests == []


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("octo/hello#99", "issue octo/hello#99 is not in the local mirror"),
        ("octo/nope#1", "unknown repository octo/nope"),
        ("octo/hello", "'octo/hello' is not an issue reference; write OWNER/NAME#NUMBER"),
        ("octo/hello#0", "is not an issue reference"),
        ("#12", "is not an issue reference"),
    ],
)
def test_explain_of_something_unknown_is_a_clear_error(synced: World, reference, message):
    with pytest.raises(OperationError, match=message):
        synced.operations().explain(reference)


def test_explain_of_an_empty_answer_is_an_operation_error(synced: World):
    synced.ollama.answer = lambda prompt: ""
    with pytest.raises(OperationError, match="answered nothing for octo/hello#1"):
        synced.operations().explain("octo/hello#1")
    assert synced.github.requests_for(method="POST") == []


def test_issue_references_are_parsed_strictly():
    assert parse_issue_reference(" octo/hello.js#12 ") == ("octo", "hello.js", 12)
    for bad in ("octo/hello#-1", "octo/hello#1x", "octo#1", "o/n#12345678901", 12):
        with pytest.raises(OperationError):
            parse_issue_reference(bad)  # type: ignore[arg-type]


def test_jobs_summarises_the_queue_and_lists_recent_dead_jobs(world: World):
    store = world.store
    for n in range(25):
        enqueue_job(store, {"n": n})
    for job_id in range(1, 23):
        store.dead_letter(job_id, f"reason {job_id}")
    store.receive_job(60, 5)

    summary = world.operations().jobs()

    assert (summary["ready"], summary["in_flight"], summary["dead"]) == (2, 1, 22)
    assert [job["id"] for job in summary["recent_dead"]] == list(range(22, 2, -1))
    assert summary["recent_dead"][0]["reason"] == "reason 22"
    assert summary["recent_dead"][0]["payload"] == '{"n": 21}'


def test_retry_dead_moves_one_or_all_back_and_refuses_what_is_not_a_dead_job(world: World):
    store = world.store
    for n in range(3):
        store.dead_letter(enqueue_job(store, {"n": n}), "gave up")
    operations = world.operations()

    assert operations.retry_dead(2) == {"retried": [2]}
    assert operations.retry_dead("all") == {"retried": [1, 3]}
    assert dead_jobs(store) == [] and pending_jobs(store) == 3
    for which, message in [
        (2, "no dead job with id 2"),
        ("seven", "'seven' is not a dead job"),
        (0, "0 is not a dead job"),
        (True, "True is not a dead job"),
    ]:
        with pytest.raises(OperationError, match=message):
            operations.retry_dead(which)
