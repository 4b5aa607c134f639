"""The analysis gate: the first-run window and the filters, in the order they apply."""

from __future__ import annotations

import pytest

from autosolve.domain.gate import AnalysisGate
from autosolve.infra.issue import Issue
from autosolve.infra.store import RepositoryRef, StoredIssue

WATCH_START = "2026-03-01T12:00:00Z"


def stored(watch_since: str | None = WATCH_START, **changes: object) -> StoredIssue:
    fields: dict[str, object] = {
        "github_id": 1, "number": 5, "title": "t", "body": "b", "state": "open",
        "is_pull_request": False, "updated_at": "2026-03-02T00:00:00Z",
        "created_at": "2026-03-01T12:00:00Z", "labels": ("bug",), "author_login": "alice",
        "author_type": "User",
    }  # fmt: skip
    fields.update(changes)
    repository = RepositoryRef(1, "octo", "hello", watch_since)
    return StoredIssue(9, repository, Issue(**fields))  # type: ignore[arg-type]


def code(gate: AnalysisGate, issue: StoredIssue) -> str | None:
    skip = gate.check(issue)
    return None if skip is None else skip.code


def test_an_issue_created_at_the_watch_start_or_later_passes() -> None:
    gate = AnalysisGate()
    assert gate.check(stored()) is None
    assert gate.check(stored(created_at="2026-03-01T12:00:00.001Z")) is None


def test_an_issue_created_before_the_repositorys_watch_start_is_skipped() -> None:
    skip = AnalysisGate().check(stored(created_at="2026-03-01T11:59:59.999Z"))
    assert skip is not None and skip.code == "before_watch_start"
    assert skip.reason == (
        "it was created at 2026-03-01T11:59:59.999Z, before the watch start "
        "2026-03-01T12:00:00Z (github.issues.since)"
    )


def test_since_all_has_no_window_and_a_fixed_time_replaces_the_watch_start() -> None:
    old = stored(created_at="2020-01-01T00:00:00Z")
    assert AnalysisGate(since="all").check(old) is None
    fixed = AnalysisGate(since="2019-12-31T23:00:00-02:00")  # 2020-01-01T01:00Z
    assert code(fixed, old) == "before_watch_start"
    assert code(fixed, stored(created_at="2020-01-01T01:00:00Z", watch_since=None)) is None


def test_unknown_creation_time_or_watch_start_is_outside_the_window() -> None:
    assert code(AnalysisGate(), stored(created_at=None)) == "before_watch_start"
    assert code(AnalysisGate(), stored(watch_since=None)) == "before_watch_start"
    assert code(AnalysisGate(since="all"), stored(created_at=None)) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"state": "closed"}, "state"),
        ({"is_pull_request": True}, "pull_request"),
        ({"author_type": "Bot", "author_login": "renovate"}, "bot"),
        ({"author_login": "dependabot[bot]", "author_type": "User"}, "bot"),
        ({"labels": ("question",)}, "label"),
    ],
)
def test_each_filter_skips_with_its_own_reason(changes: dict, expected: str) -> None:
    gate = AnalysisGate(required_label="Bug")
    assert code(gate, stored(**changes)) == expected


def test_every_filter_can_be_opened() -> None:
    gate = AnalysisGate(
        since="all", states=("open", "closed"), include_pull_requests=True, skip_bots=False
    )
    issue = stored(state="closed", is_pull_request=True, author_login="x[bot]", author_type="Bot",
                   labels=(), created_at="2001-01-01T00:00:00Z")  # fmt: skip
    assert gate.check(issue) is None


def test_the_filters_apply_in_the_specified_order() -> None:
    everything_wrong = stored(created_at="2000-01-01T00:00:00Z", state="closed",
                              is_pull_request=True, author_type="Bot", labels=())  # fmt: skip
    steps = [
        ({}, "before_watch_start"),
        ({"since": "all"}, "state"),
        ({"states": ("closed",)}, "pull_request"),
        ({"include_pull_requests": True}, "bot"),
        ({"skip_bots": False}, "label"),
        ({"required_label": ""}, None),
    ]
    opened: dict = {"required_label": "bug"}
    seen = []
    for change, _expected in steps:
        opened |= change
        seen.append(code(AnalysisGate(**opened), everything_wrong))
    assert seen == [expected for _change, expected in steps]
