"""The dashboard's overview: links to the right GitHub, figures from the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import autosolve
from autosolve.http.overview import Overview, web_url
from autosolve.infra.store import SQLiteStore, SyncCursor
from autosolve.infra.timestamps import format_epoch
from tests.infra.test_store import issue
from tests.stores import enqueue_job

START = 1_767_225_600.0


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_links_point_at_the_web_host_of_the_api(api_url: str, web: str) -> None:
    assert web_url(api_url) == web


# -- the documents, from a real store ------------------------------------------------

API = "https://api.github.com"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(tmp_path / "autosolve.db") as store:
        store.migrate()
        yield store


def hello(store: SQLiteStore) -> int:
    """octo/hello with issue 1, as a sync leaves them."""
    repository_id = store.upsert_repository(1, "octo", "hello")
    store.save_issue_page(repository_id, [issue(1)], SyncCursor())
    return repository_id


def overview(store: SQLiteStore, configured: list[str]) -> Overview:
    return Overview(lambda: store, configured, API, started_at=START, backend="threading")


def test_the_overview_says_which_autosolve_runs_and_since_when(store: SQLiteStore) -> None:
    daemon = overview(store, [])()["daemon"]
    assert daemon == {
        "version": autosolve.__version__,
        "backend": "threading",
        "started_at": format_epoch(START),
    }


def test_a_dead_job_names_the_issue_it_was_about(store: SQLiteStore) -> None:
    repository_id = hello(store)
    job_id = enqueue_job(store, {"repository_id": repository_id, "number": 1})
    store.dead_letter(job_id, "GitHub refused the comment")
    [dead] = overview(store, ["octo/hello"])()["jobs"]["recent_dead"]
    assert (dead["id"], dead["repository"], dead["reason"]) == (
        job_id,
        "octo/hello",
        "GitHub refused the comment",
    )
    assert dead["issue"] == {
        "name": "octo/hello#1",
        "url": "https://github.com/octo/hello/issues/1",
    }


def test_a_dead_job_whose_payload_names_no_issue_shows_its_payload(store: SQLiteStore) -> None:
    job_id = enqueue_job(store, "not json")
    store.dead_letter(job_id, "malformed")
    [dead] = overview(store, [])()["jobs"]["recent_dead"]
    assert (dead["issue"], dead["repository"], dead["payload"]) == (None, None, "not json")


def test_a_repositorys_view_keeps_only_its_own_dead_jobs(store: SQLiteStore) -> None:
    repository_id = hello(store)
    world = store.upsert_repository(2, "octo", "world")
    store.save_issue_page(world, [issue(1, github_id=2001)], SyncCursor())
    for owner in (repository_id, world):
        store.dead_letter(enqueue_job(store, {"repository_id": owner, "number": 1}), "no")
    view = overview(store, ["octo/hello", "octo/world"]).repository("octo/hello")
    assert view is not None
    assert [job["repository"] for job in view["dead_jobs"]] == ["octo/hello"]
    assert [i["number"] for i in view["latest_issues"]] == [1]
    assert view["configured"] is True and view["issues"] == {"open": 1}


def test_a_configured_repository_not_synced_yet_has_an_empty_view(store: SQLiteStore) -> None:
    view = overview(store, ["octo/new"]).repository("octo/new")
    assert view is not None
    assert (view["issues"], view["latest_issues"], view["analyses"]) == ({}, [], [])


def test_a_repository_kept_after_a_reload_removed_it_still_has_its_view(
    store: SQLiteStore,
) -> None:
    hello(store)
    view = overview(store, []).repository("octo/hello")
    assert view is not None and view["configured"] is False and view["issues"] == {"open": 1}


def test_a_repository_neither_configured_nor_stored_has_no_view(store: SQLiteStore) -> None:
    assert overview(store, ["octo/hello"]).repository("octo/nowhere") is None


def test_an_analysis_reads_in_full_and_what_it_did_not_keep_is_empty(store: SQLiteStore) -> None:
    repository_id = hello(store)
    stored = store.get_issue(repository_id, 1)
    assert stored is not None
    added = store.add_analysis(
        stored.id, model="m", prompt_sha256="p", content_sha256="c", body="<b>the text</b>"
    )
    document = overview(store, ["octo/hello"]).analysis(added.id)
    assert document is not None
    assert (document["id"], document["body"], document["title"]) == (added.id, "<b>the text</b>",
                                                                      "Issue 1")  # fmt: skip
    assert (document["summary"], document["related"], document["questions"]) == (None, [], [])
    assert document["labels"] == {"applied": [], "suggested": []}
    assert overview(store, []).analysis(added.id + 1) is None
