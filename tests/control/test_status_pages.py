"""The control socket's ``status`` with paging arguments: a page of the status document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autosolve.control.commands import CommandTable, runtime_commands
from autosolve.runtime import RuntimeHandle, Unit, start_runtime

NAMES = [f"worker:{i}" for i in range(4)]


def noop(ctx: Any) -> None:
    pass


@pytest.fixture(scope="module")
def table() -> Iterator[CommandTable]:
    handle: RuntimeHandle = start_runtime([], [Unit(name, noop, 3600.0) for name in NAMES])
    yield CommandTable(runtime_commands(handle))
    handle.stop(timeout=10.0)


def test_status_with_paging_arguments_answers_a_page(table: CommandTable) -> None:
    reply = table.answer({"command": "status", "pattern": "worker:*", "offset": 1, "limit": 2})
    page = reply["status"]
    assert reply["ok"] is True
    assert [c["name"] for c in page["children"]] == NAMES[1:3]
    assert (page["offset"], page["limit"], page["more"]) == (1, 2, True)
    assert sum(page["counts"].values()) == len(NAMES)


def test_status_without_paging_arguments_keeps_its_document(table: CommandTable) -> None:
    status = table.answer({"command": "status"})["status"]
    assert set(status) == {"phase", "children"}
    assert [c["name"] for c in status["children"]] == NAMES


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("state", "asleep", "state: must be one of: pending, running, idle"),
        ("limit", -1, "limit: must be an integer of at least 0"),
        ("offset", "2", "offset: not a valid integer"),
    ],
)
def test_a_paging_argument_that_breaks_its_rule_is_refused_naming_it(
    table: CommandTable, argument: str, value: object, error: str
) -> None:
    reply = table.answer({"command": "status", argument: value})
    assert reply["ok"] is False and reply["error"].startswith(f"invalid request: {error}")
