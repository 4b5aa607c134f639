"""The status view and its pages: counts kept as children change, pages that cost what they show."""

from __future__ import annotations

import fnmatch
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autosolve.runtime import ChildState, ControlError, RuntimeHandle, Unit
from autosolve.runtime.status import ChildRecord
from autosolve.runtime.view import Page, PageRequest, StatusView, find_page
from tests.runtime.errors import node_error
from tests.runtime.harness import Harness

OWN_STATES = [state for state in ChildState if state is not ChildState.RUNNING]


@dataclass
class Listed:
    """What a page is taken from: the supervisor's slot has a record too."""

    record: ChildRecord


def children(count: int) -> dict[str, Listed]:
    return {f"worker:{i}": Listed(ChildRecord(f"worker:{i}", "worker", 10.0)) for i in range(count)}


def listed_view(table: dict[str, Listed]) -> StatusView:
    view = StatusView(None)
    view.add(child.record for child in table.values())
    return view


def page_of(request: PageRequest, table: dict[str, Listed], view: StatusView) -> Page:
    return find_page(request, table, list(table.values()), view)


def recount(records: list[ChildRecord]) -> dict[str, int]:
    shown = Counter(record.state.value for record in records)
    return {state.value: shown[state.value] for state in ChildState}


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["state", "tick", "tick ends", "remove", "add again"]),
        st.integers(0, 7),
        st.sampled_from(OWN_STATES),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(events=EVENTS)
def test_the_counts_equal_a_recount_after_any_sequence_of_events(events: list[Any]) -> None:
    table = children(8)
    view = listed_view(table)
    records = [child.record for child in table.values()]
    listed = set(records)
    for event, index, state in events:
        record = records[index]
        if event == "state":
            record.state = state
        elif event == "tick":
            record.running_since = 1000.0 + index
        elif event == "tick ends":
            record.running_since = None
        elif event == "remove":
            view.discard(record)
            listed.discard(record)
        elif record not in listed:
            view.add([record])
            listed.add(record)
        assert view.counts() == recount(list(listed))
        for shown in ChildState:
            if shown is not ChildState.IDLE:
                assert set(view.members(shown)) == {r for r in listed if r.state is shown}


def test_a_record_cannot_be_written_running_it_runs_while_its_tick_runs() -> None:
    record = ChildRecord("worker:w", "worker", 10.0)
    with pytest.raises(ValueError, match="running_since"):
        record.state = ChildState.RUNNING
    record.state = ChildState.IDLE
    record.running_since = 5.0
    assert record.state is ChildState.RUNNING and record.own_state is ChildState.IDLE


def test_a_page_is_a_window_of_the_status_order_with_the_total_and_whether_more_follow() -> None:
    table = children(10)
    view = listed_view(table)
    page = page_of(PageRequest(offset=3, limit=4), table, view)
    assert [r.name for r in page.records] == [f"worker:{i}" for i in range(3, 7)]
    assert (page.total, page.more) == (10, True)
    last = page_of(PageRequest(offset=8, limit=4), table, view)
    assert [r.name for r in last.records] == ["worker:8", "worker:9"] and not last.more
    assert page_of(PageRequest(offset=20), table, view).records == []
    assert page_of(PageRequest(limit=0), table, view).more


def test_a_page_of_one_state_lists_the_longest_in_it_first_but_idle_in_status_order() -> None:
    table = children(6)
    view = listed_view(table)
    records = [child.record for child in table.values()]
    for index in (4, 1, 3):
        records[index].state = ChildState.FAILED
    for record in records:
        if record.state is ChildState.PENDING:
            record.state = ChildState.IDLE
    records[2].running_since = 1.0
    failed = page_of(PageRequest(state=ChildState.FAILED), table, view)
    assert [r.name for r in failed.records] == ["worker:4", "worker:1", "worker:3"]
    idle = page_of(PageRequest(state=ChildState.IDLE), table, view)
    assert [r.name for r in idle.records] == ["worker:0", "worker:5"]
    assert idle.total == 2
    running = page_of(PageRequest(state=ChildState.RUNNING), table, view)
    assert [r.name for r in running.records] == ["worker:2"]


def test_a_pattern_filters_by_name_and_leaves_the_total_unknown_but_a_plain_name_is_looked_up(
) -> None:  # fmt: skip
    table = children(30)
    view = listed_view(table)
    expected = [name for name in table if fnmatch.fnmatchcase(name, "worker:1*")]
    page = page_of(PageRequest(pattern="worker:1*", limit=5), table, view)
    assert [r.name for r in page.records] == expected[:5]
    assert page.total is None and page.more
    named = page_of(PageRequest(pattern="worker:17"), table, view)
    assert [r.name for r in named.records] == ["worker:17"] and named.total == 1
    other_state = page_of(PageRequest(state=ChildState.FAILED, pattern="worker:17"), table, view)
    assert other_state.records == [] and other_state.total == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"state": "sleeping"}, "`state` must be one of pending, running"),
        ({"state": 3}, "`state` must be one of"),
        ({"pattern": ""}, "`pattern` must be a non-empty name or pattern, got ''"),
        ({"offset": -1}, "`offset` must be an integer of at least 0, got -1"),
        ({"limit": True}, "`limit` must be an integer of at least 0, got True"),
        ({"limit": "10"}, "`limit` must be an integer of at least 0, got '10'"),
        ({"page": 2}, "unknown status argument(s): page"),
    ],
)
def test_page_arguments_that_break_their_rule_are_refused_naming_it(
    arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PageRequest.parse(arguments)


# -- through a running runtime ---------------------------------------------------------------


def noop(ctx: Any) -> None:
    pass


def test_the_handle_pages_the_status_and_counts_children_per_state(harness: Harness) -> None:
    names = [f"worker:{i}" for i in range(5)]
    handle = harness.start(workers=[Unit(name, noop, 10.0) for name in names])
    harness.wait_for(lambda: handle.counts()["counts"]["idle"] == len(names), what="all idle")
    page = handle.status(offset=1, limit=2)
    assert [c["name"] for c in page["children"]] == names[1:3]
    assert {key: page[key] for key in ("phase", "total", "offset", "limit", "more")} == {
        "phase": "workers", "total": len(names), "offset": 1, "limit": 2, "more": True,
    }  # fmt: skip
    assert page["counts"] == handle.counts()["counts"]
    assert set(page["children"][0]) == set(handle.status()["children"][0])
    assert handle.counts()["total"] == len(names)
    assert [c["name"] for c in handle.status(state="idle", pattern="*:3")["children"]] == [
        "worker:3"
    ]


def test_a_page_with_a_broken_argument_is_refused_and_none_after_the_run(harness: Harness) -> None:
    handle = harness.start(workers=[Unit("worker:w", noop, 10.0)])
    with pytest.raises(ControlError, match="`state` must be one of"):
        handle.status(state="sleeping")
    handle.stop(timeout=10.0)
    assert handle.counts()["counts"]["stopped"] == 1  # counted from the final document
    assert [c["name"] for c in handle.status()["children"]] == ["worker:w"]
    with pytest.raises(ControlError, match="the runtime is stopped"):
        handle.status(limit=1)


def broken(ctx: Any) -> None:
    raise node_error()


def in_states(handle: RuntimeHandle, states: set[str]) -> list[dict[str, Any]]:
    """The whole document's children in ``states``: what ``status_in`` must list."""
    return [child for child in handle.status()["children"] if child["state"] in states]


def test_status_in_lists_the_children_in_some_states_in_the_status_order_read_at_once(
    harness: Harness,
) -> None:
    names = ["worker:paused", "worker:idle", "worker:broken", "worker:broken-too"]
    works = {"worker:broken": broken, "worker:broken-too": broken}
    handle = harness.start(workers=[Unit(name, works.get(name, noop), 10.0) for name in names])
    harness.wait_event("backoff", "worker:broken-too")
    harness.wait_event("backoff", "worker:broken")
    harness.wait_for(lambda: harness.child("worker:paused")["runs"], what="the first tick")
    handle.pause("worker:paused")
    for states in ({"backoff", "paused"}, {"idle", "backoff"}, {"failed"}):
        shown = handle.status_in(states)
        assert shown == {"phase": "workers", "children": in_states(handle, states)}
    assert [c["name"] for c in handle.status_in(["backoff", "paused"])["children"]] == [
        "worker:paused", "worker:broken", "worker:broken-too",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="sleeping"):
        handle.status_in(["sleeping"])
    handle.stop(timeout=10.0)  # then picked from the final document
    assert handle.status_in({"stopped"}) == {
        "phase": "stopped", "children": in_states(handle, {"stopped"}),
    }  # fmt: skip
