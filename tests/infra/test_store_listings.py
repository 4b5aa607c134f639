"""The store's listings for the dashboard: one analysis in full, one repository's
mirror and analyses, repository names by id. On both stores (``store_backend``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from autosolve.infra.store import Store, SyncCursor, UnknownRepositoryError
from tests.infra.test_store import issue
from tests.stores import ManualClock, StoreBackend


@pytest.fixture
def store(store_backend: StoreBackend) -> Iterator[Store]:
    store = store_backend.open(now=ManualClock())
    store.migrate()
    yield store
    store.close()


def mirror(store: Store, owner: str, name: str, numbers: range, **changes: object) -> int:
    """``owner/name`` with issues ``numbers``; its local id."""
    repository_id = store.upsert_repository(len(store.repository_names()) + 1, owner, name)
    issues = [issue(n, github_id=repository_id * 1000 + n, **changes) for n in numbers]
    store.save_issue_page(repository_id, issues, SyncCursor())
    return repository_id


def analyse(store: Store, repository_id: int, number: int, body: str = "an analysis") -> int:
    stored = store.get_issue(repository_id, number)
    assert stored is not None
    return store.add_analysis(
        stored.id, model="m", prompt_sha256="p", content_sha256="c", body=body
    ).id


def test_an_analysis_is_found_by_id_with_its_issue_and_body(store: Store) -> None:
    hello = mirror(store, "octo", "hello", range(1, 3))
    analysis_id = analyse(store, hello, 2, body="<!-- autosolve -->\nthe whole text")
    found = store.find_analysis(analysis_id)
    assert found is not None
    assert (found.repository, found.number, found.title, found.body) == (
        "octo/hello",
        2,
        "Issue 2",
        "<!-- autosolve -->\nthe whole text",
    )
    assert store.find_analysis(analysis_id + 1) is None


def test_recent_analyses_of_one_repository_leave_the_others_out(store: Store) -> None:
    hello = mirror(store, "octo", "hello", range(1, 4))
    world = mirror(store, "octo", "world", range(1, 2))
    ids = [analyse(store, hello, n) for n in (1, 2, 3)]
    analyse(store, world, 1)
    recent = store.recent_analyses(2, repository="OCTO/Hello")  # GitHub's names ignore case
    assert [a.id for a in recent] == ids[::-1][:2]
    assert {a.repository for a in store.recent_analyses(10)} == {"octo/hello", "octo/world"}


def test_a_repositorys_issues_come_newest_first_with_counts_per_state(store: Store) -> None:
    hello = mirror(store, "octo", "hello", range(1, 6))
    store.save_issue_page(hello, [issue(2, "2026-01-01T00:05:00Z", state="closed")], SyncCursor())
    analysed = analyse(store, hello, 4)
    listed = store.repository_issues("octo/hello", limit=3)
    assert listed.repository == "octo/hello"
    assert listed.states == {"open": 4, "closed": 1}
    assert [i.number for i in listed.latest] == [5, 4, 3]
    assert [i.analysis_id for i in listed.latest] == [None, analysed, None]
    assert listed.latest[0].labels == ("bug",)


def test_a_repository_not_in_the_store_is_said_so(store: Store) -> None:
    with pytest.raises(UnknownRepositoryError):
        store.repository_issues("octo/nowhere")
    with pytest.raises(UnknownRepositoryError):
        store.recent_analyses(5, repository="octo/nowhere")


@pytest.mark.parametrize("name", ["octo", "octo/", "/hello", "octo/hello/x"])
def test_a_repository_name_must_be_owner_slash_name(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match=f"`repository` must be owner/name, got {name!r}"):
        store.repository_issues(name)


def test_repository_names_map_local_ids_to_owner_and_name(store: Store) -> None:
    hello = mirror(store, "octo", "hello", range(1, 2))
    world = mirror(store, "octo", "world", range(1, 2))
    assert store.repository_names() == {hello: "octo/hello", world: "octo/world"}
